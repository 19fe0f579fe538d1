// collector-config/grafana/dashboards/vigil.json: well-formed, and every metric it queries is one
// the agent exports, under the name the collector's prometheus exporter gives it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { metricNamesInDashboard, metricNamesInExpr, panelsOf, type Dashboard } from '../helpers/dashboard-metrics';
import { AGENT_METRICS, prometheusNamesFor, prometheusNamesOf } from '../helpers/prometheus-names';

const ROOT = resolve(__dirname, '..', '..');
const PATH = join(ROOT, 'collector-config/grafana/dashboards/vigil.json');

interface DatasourceRef {
  type?: string;
  uid?: string;
}
interface FullPanel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: DatasourceRef;
  targets?: { refId?: string; expr?: string; datasource?: DatasourceRef }[];
  panels?: FullPanel[];
}

test('the dashboard parses and every panel has a data source and a query', () => {
  const dashboard = JSON.parse(readFileSync(PATH, 'utf8')) as Dashboard & { uid?: string; title?: string; panels: FullPanel[] };
  assert.ok(dashboard.uid, 'a fixed uid (alert annotations link to /d/<uid>)');
  const panels = panelsOf(dashboard) as FullPanel[];
  assert.ok(panels.length >= 8, `${panels.length} panels`);
  const ids = new Set<number>();
  for (const p of panels) {
    if (p.type === 'row') continue;
    const name = `panel "${p.title}"`;
    assert.ok(p.datasource?.uid && p.datasource.type, `${name} has a data source`);
    assert.ok(['prometheus', 'loki'].includes(p.datasource.type!), `${name}: data source provisioned by datasources.yml`);
    assert.ok((p.targets ?? []).length >= 1, `${name} has at least one target`);
    for (const t of p.targets!) assert.ok(typeof t.expr === 'string' && t.expr.trim() !== '', `${name} target ${t.refId}: a query`);
    assert.ok(p.id !== undefined && !ids.has(p.id), `${name}: unique id`);
    ids.add(p.id);
  }
});

test('the dashboard has a service template variable used by every Prometheus query', () => {
  const dashboard = JSON.parse(readFileSync(PATH, 'utf8')) as {
    templating: { list: { name: string; type: string }[] };
    panels: FullPanel[];
  };
  const variable = dashboard.templating.list.find((v) => v.name === 'service_name' || v.name === 'job');
  assert.ok(variable, 'a service_name (or job) variable');
  for (const p of panelsOf(dashboard as Dashboard) as FullPanel[]) {
    for (const t of p.targets ?? []) {
      assert.ok(t.expr?.includes(`$${variable.name}`), `panel "${p.title}" ${t.refId} filters on $${variable.name}`);
    }
  }
});

test('the dashboard covers checks, overall status, durations, probes, event loop, heap, CPU and memory', () => {
  const used = new Set(metricNamesInDashboard(PATH));
  const names = (otelName: string) => {
    const m = AGENT_METRICS.find((x) => x.otelName === otelName);
    assert.ok(m, `${otelName} is in AGENT_METRICS`);
    return prometheusNamesFor(m.otelName, m.unit, m.type, m.monotonic);
  };
  for (const otelName of [
    'health.check.status', 'health.status', 'health.check.duration', 'vigil.probe.requests', 'vigil.probe.duration',
    'nodejs.eventloop.delay.p99', 'nodejs.eventloop.utilization', 'v8js.memory.heap.used',
    'system.cpu.utilization', 'process.cpu.utilization', 'process.memory.usage', 'system.memory.usage',
  ]) {
    assert.ok(names(otelName).some((n) => used.has(n)), `the dashboard shows ${otelName} (${names(otelName).join(' / ')})`);
  }
});

test('every metric name the dashboard uses is one the agent exports', () => {
  const exported = prometheusNamesOf(AGENT_METRICS);
  const used = metricNamesInDashboard(PATH);
  assert.ok(used.length > 0);
  const unknown = used.filter((n) => !exported.has(n));
  assert.deepEqual(unknown, [], `not exported by the agent: ${unknown.join(', ')}\nexported: ${[...exported].sort().join(', ')}`);
});

test('prometheusNamesFor follows the collector prometheus exporter naming', () => {
  assert.deepEqual(prometheusNamesFor('health.check.status', '', 'gauge'), ['health_check_status']);
  assert.deepEqual(prometheusNamesFor('health.check.duration', 's', 'histogram'), [
    'health_check_duration_seconds_bucket', 'health_check_duration_seconds_sum', 'health_check_duration_seconds_count',
  ]);
  assert.deepEqual(prometheusNamesFor('vigil.probe.requests', '{request}', 'sum', true), ['vigil_probe_requests_total']);
  assert.deepEqual(prometheusNamesFor('nodejs.eventloop.delay.p99', 's', 'gauge'), ['nodejs_eventloop_delay_p99_seconds']);
  assert.deepEqual(prometheusNamesFor('nodejs.eventloop.utilization', '1', 'gauge'), ['nodejs_eventloop_utilization_ratio']);
  assert.deepEqual(prometheusNamesFor('v8js.memory.heap.used', 'By', 'gauge'), ['v8js_memory_heap_used_bytes']);
  // an up-down counter is a gauge for Prometheus: no _total
  assert.deepEqual(prometheusNamesFor('v8js.memory.heap.space.size', 'By', 'sum', false), ['v8js_memory_heap_space_size_bytes']);
  // _ratio only for gauges of unit 1; the unit is not repeated; _total moves to the end
  assert.deepEqual(prometheusNamesFor('http.requests', '1', 'sum', true), ['http_requests_total']);
  assert.deepEqual(prometheusNamesFor('db.latency.seconds', 's', 'gauge'), ['db_latency_seconds']);
  assert.deepEqual(prometheusNamesFor('requests.total.count', '', 'sum', true), ['requests_count_total']);
  assert.deepEqual(prometheusNamesFor('network.io', 'By/s', 'gauge'), ['network_io_bytes_per_second']);
  assert.deepEqual(prometheusNamesFor('system.cpu.utilization', '', 'gauge'), ['system_cpu_utilization']);
  assert.deepEqual(prometheusNamesFor('system.cpu.time', 's', 'sum', true), ['system_cpu_time_seconds_total']);
  assert.deepEqual(prometheusNamesFor('temp', 'Cel', 'gauge'), ['temp_celsius']);
});

test('the PromQL tokenizer finds metric names and nothing else', () => {
  const names = (expr: string) => metricNamesInExpr(expr).sort();
  assert.deepEqual(
    names('histogram_quantile(0.95, sum by (le, health_check_status) (rate(health_check_duration_seconds_bucket{service_name=~"$service_name"}[$__rate_interval])))'),
    ['health_check_duration_seconds_bucket'],
  );
  assert.deepEqual(
    names('max by (job) (max without (health_check_state) (health_status{health_check_state="warn"}) + 2 * max without (health_check_state) (health_status{health_check_state="fail"}))'),
    ['health_status'],
  );
  assert.deepEqual(names('sum(a) by (le) / on(instance) group_left(job) b offset 5m > bool 0.2 and c unless d'), ['a', 'b', 'c', 'd']);
  assert.deepEqual(names('1 - avg(x{state="idle"}) * 1e3 + inf'), ['x']);
  assert.deepEqual(names('{__name__="target_info", job="a"}'), ['target_info']);
  assert.deepEqual(names('label_replace(up, "dst", "$1", "src", "(.*)") # a comment naming not_a_metric'), ['up']);
  assert.deepEqual(names('rate(x[5m:1m]) + ${var} + $var + sum without(a, b) (y)'), ['x', 'y']);
  assert.deepEqual(names('topk(5, count_values("v", z))'), ['z']);
});
