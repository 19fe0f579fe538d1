// A real Prometheus (Debian's `prometheus`, 2.42) scrapes a real agent's /metrics
// (OTEL_METRICS_EXPORTER=prometheus) with the shipped alert rules loaded as they are: every
// PromQL query of the shipped Grafana dashboard returns data there; when the agent's Redis (one of
// the test's own) stops, "critical check failing" and "not ready" fire after their `for: 1m`, and
// they resolve when it is back.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promqlExpressionsOf, type Dashboard } from '../helpers/dashboard-metrics';
import { startPrometheus, type PrometheusServer } from '../helpers/prometheus-server';
import { spawnRedis } from '../helpers/spawn-redis';
import { agentEnv, fixture, probe, ROOT, spawnAgent } from '../helpers/spawn-agent';

const SERVICE = 'prometheus-e2e';
const ALERTS = ['VigilCriticalCheckFailing', 'VigilServiceNotReady'];

/** Polls until `pick` holds; Prometheus evaluates every second here. */
async function until<T>(what: string, prometheus: PrometheusServer, pick: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await pick();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${prometheus.log()}`);
    await sleep(1_000);
  }
}

/** The dashboard's variables as Grafana would fill them for this service. */
function asGrafanaWould(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$service_name', SERVICE).replaceAll('$__all', '.*');
}

test('a real Prometheus: every dashboard query returns data, and the shipped alerts fire and resolve with the dependency', { timeout: 240_000 }, async (t) => {
  const redis = await spawnRedis();
  t.after(() => redis.stop());
  const agent = spawnAgent(fixture('app.js'), agentEnv({
    OTEL_SERVICE_NAME: SERVICE, OTEL_METRICS_EXPORTER: 'prometheus', OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none',
    OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_EXPORTER_PROMETHEUS_PORT: '0',
    VIGIL_REDIS_URL: `redis://127.0.0.1:${redis.port}`, VIGIL_CHECK_INTERVAL_MS: '500',
  }));
  t.after(() => agent.kill());
  const metricsPort = Number((await agent.waitForLine('stderr', (l) => typeof l.msg === 'string' && l.msg.startsWith('listening: metrics'))).port);
  const probePort = await agent.probePort();
  const prometheus = await startPrometheus({ job: 'vigil-direct', targets: [`127.0.0.1:${metricsPort}`], ruleFiles: [join(ROOT, 'collector-config/alert-rules.yml')] });
  t.after(() => prometheus.stop());
  // Probe traffic for the probe panels, all along.
  const traffic = setInterval(() => { void probe(probePort, '/health/ready').catch(() => undefined); }, 250);
  t.after(() => clearInterval(traffic));

  await until('the agent scraped, healthy', prometheus, async () => (await prometheus.query(`health_status{job="${SERVICE}", health_check_state="pass"} == 1`)).length > 0, 30_000);
  // A rate needs two samples in its window, a histogram's two scrapes of its buckets.
  await sleep(5_000);
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'collector-config/grafana/dashboards/vigil.json'), 'utf8')) as Dashboard;
  const queries = promqlExpressionsOf(dashboard);
  assert.ok(queries.length >= 10, `${queries.length} queries`);
  const empty: string[] = [];
  for (const { where, expr } of queries) {
    const result = await prometheus.query(asGrafanaWould(expr));
    if (result.length === 0) empty.push(`${where}: ${expr}`);
  }
  assert.deepEqual(empty, [], 'dashboard queries that returned no data');

  await redis.stop();
  const firing = await until('the alerts firing', prometheus, async () => {
    const alerts = await prometheus.alerts();
    const names = ALERTS.filter((name) => alerts.some((a) => a.labels.alertname === name && a.state === 'firing' && a.labels.job === SERVICE));
    return names.length === ALERTS.length && alerts;
  }, 120_000);
  const critical = firing.find((a) => a.labels.alertname === 'VigilCriticalCheckFailing')!;
  assert.equal(critical.labels.health_check_name, 'redis');
  assert.equal(critical.labels.service_name, SERVICE);
  assert.equal((await probe(probePort, '/health/ready')).status, 503);

  const back = await spawnRedis({ port: redis.port });
  t.after(() => back.stop());
  await until('the alerts resolved', prometheus, async () => {
    const alerts = await prometheus.alerts();
    return !alerts.some((a) => ALERTS.includes(a.labels.alertname) && a.labels.job === SERVICE);
  }, 60_000);
  assert.equal((await probe(probePort, '/health/ready')).status, 200);
});
