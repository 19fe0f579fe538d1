// The Grafana dashboard queries exactly what a real agent exports: an end-to-end run sends its
// metrics to the OTLP receiver, their names become the collector's Prometheus series names, and
// every metric the dashboard and the alert rules use must be among them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { metricNamesInDashboard, metricNamesInExpr } from '../helpers/dashboard-metrics';
import { startOtlpReceiver } from '../helpers/otlp-receiver';
import { prometheusNamesFor } from '../helpers/prometheus-names';
import { agentEnv, fixture, probe, ROOT, spawnAgent } from '../helpers/spawn-agent';

test('every metric of the dashboard is one an end-to-end run really exported', async () => {
  const receiver = await startOtlpReceiver();
  const app = spawnAgent(fixture('app.js'), agentEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, VIGIL_CHECK_INTERVAL_MS: '300' }));
  try {
    const port = await app.probePort();
    await probe(port, '/health/ready');
    // Probe, health, runtime and host metrics all present at least once.
    await receiver.waitFor((r) => ['vigil.probe.requests', 'health.check.duration', 'nodejs.eventloop.delay.p99', 'system.memory.usage', 'process.cpu.utilization']
      .every((name) => r.metrics.some((m) => m.name === name)), 15_000);
    const exported = new Set(receiver.metrics.flatMap((m) => prometheusNamesFor(m.name, m.unit, m.type === 'exponentialHistogram' || m.type === 'summary' ? 'histogram' : m.type, m.isMonotonic ?? false)));
    const used = metricNamesInDashboard(join(ROOT, 'collector-config/grafana/dashboards/vigil.json'));
    assert.ok(used.length >= 8, `the dashboard uses ${used.length} metrics`);
    const missing = used.filter((name) => !exported.has(name));
    assert.deepEqual(missing, [], `dashboard metrics no run exported; exported: ${[...exported].sort().join(', ')}`);
    // The alert rules too; `up` is Prometheus' own series for its scrape targets.
    const rules = YAML.parse(readFileSync(join(ROOT, 'collector-config/alert-rules.yml'), 'utf8')) as { groups: { rules: { expr: string }[] }[] };
    const inRules = rules.groups.flatMap((g) => g.rules.flatMap((r) => metricNamesInExpr(String(r.expr)))).filter((name) => name !== 'up');
    assert.ok(inRules.length >= 5);
    assert.deepEqual(inRules.filter((name) => !exported.has(name)), [], 'alert rules on metrics no run exported');
  } finally {
    app.kill();
    await app.exited;
    await receiver.close();
  }
});
