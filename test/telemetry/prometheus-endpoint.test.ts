// OTEL_METRICS_EXPORTER=prometheus (src/telemetry/prometheus-endpoint.ts): /metrics on
// OTEL_EXPORTER_PROMETHEUS_HOST:PORT serves every metric the agent exports over OTLP, under the
// series names and labels the Collector's Prometheus exporter would give the same metrics
// (compared with the OTLP copy the same agent sends at the same time), so that the shipped
// dashboard and alert rules read either path.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { startOtlpReceiver } from '../helpers/otlp-receiver';
import { prometheusLabelFor, prometheusNamesFor } from '../helpers/prometheus-names';
import { agentEnv, fixture, probe, spawnAgent, type AgentProcess } from '../helpers/spawn-agent';

interface Series { name: string; labels: Record<string, string> }

/** The series of a Prometheus text exposition (a small parser: the agent's labels hold no `,` or `"` inside values here). */
function parseExposition(text: string): Series[] {
  return text.split('\n').filter((line) => line && !line.startsWith('#')).map((line) => {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    assert.ok(match, `a series line: ${line}`);
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    return { name: match[1], labels };
  });
}

async function metricsPort(agent: AgentProcess): Promise<number> {
  return Number((await agent.waitForLine('stderr', (l) => typeof l.msg === 'string' && l.msg.startsWith('listening: metrics'))).port);
}

test('/metrics serves what OTLP exports, under the collector\'s names, with job, instance and the resource as labels', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const agent = spawnAgent(fixture('app.js'), agentEnv({
    OTEL_METRICS_EXPORTER: 'otlp,prometheus', OTEL_EXPORTER_PROMETHEUS_PORT: '0', OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'scraped', OTEL_RESOURCE_ATTRIBUTES: 'service.namespace=shop', VIGIL_CHECK_INTERVAL_MS: '300',
  }));
  t.after(() => agent.kill());
  const port = await metricsPort(agent);
  await probe(await agent.probePort(), '/health/ready');
  const wanted = ['vigil.probe.requests', 'health.check.duration', 'health.check.status', 'nodejs.eventloop.delay.p99', 'system.memory.usage'];
  await receiver.waitFor((r) => wanted.every((name) => r.metrics.some((m) => m.name === name)), 20_000);
  const collectorNames = () => new Set(receiver.metrics.flatMap((m) => (m.type === 'exponentialHistogram' || m.type === 'summary' ? [] : prometheusNamesFor(m.name, m.unit, m.type, m.isMonotonic ?? false))));
  const before = collectorNames();

  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const series = parseExposition(await res.text());
  const scraped = new Set(series.map((s) => s.name).filter((name) => name !== 'target_info'));
  // Every name exported over OTLP before the scrape is served; every name served is one OTLP
  // exports (by the next export: an instrument may be new since the last one).
  assert.deepEqual([...before].filter((name) => !scraped.has(name)), [], 'exported over OTLP, missing from /metrics');
  const exports = (r: typeof receiver) => r.requests.filter((q) => q.path === '/v1/metrics').length;
  const atScrape = exports(receiver);
  await receiver.waitFor((r) => exports(r) >= atScrape + 2);
  const after = collectorNames();
  assert.deepEqual([...scraped].filter((name) => !after.has(name)), [], 'served by /metrics under a name the collector would not give');

  const status = series.filter((s) => s.name === 'health_check_status');
  assert.ok(status.length >= 3, 'a series per check and state');
  for (const s of status) {
    assert.equal(s.labels.job, 'shop/scraped', 'job = service.namespace/service.name, as the collector sets it');
    assert.match(s.labels.instance, /^[0-9a-f-]{36}$/, 'instance = service.instance.id');
    assert.equal(s.labels.instance, s.labels.service_instance_id);
    assert.equal(s.labels.service_name, 'scraped');
    for (const key of ['health.check.name', 'health.check.state', 'health.check.critical']) assert.ok(prometheusLabelFor(key) in s.labels, key);
    assert.equal(s.labels.process_pid, undefined, 'the process attributes the shipped collector deletes are no labels');
  }
  // A histogram in the three series Prometheus expects, with the unit in the name.
  for (const suffix of ['bucket', 'sum', 'count']) assert.ok(scraped.has(`health_check_duration_seconds_${suffix}`), suffix);
  assert.ok(scraped.has('vigil_probe_requests_total'));
});

test('/metrics answers GET and HEAD only, other paths 404; the port taken: one VIGIL_ERR_METRICS_LISTEN line, probes still served', async (t) => {
  const agent = spawnAgent(fixture('idle-service.js'), agentEnv({ OTEL_METRICS_EXPORTER: 'prometheus', OTEL_EXPORTER_PROMETHEUS_PORT: '0', OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' }));
  t.after(() => agent.kill());
  const port = await metricsPort(agent);
  const base = `http://127.0.0.1:${port}`;
  assert.equal((await fetch(`${base}/metrics`, { method: 'HEAD' })).status, 200);
  const post = await fetch(`${base}/metrics`, { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  assert.equal((await fetch(`${base}/health`)).status, 404);

  const taken = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => taken.once('listening', resolve));
  t.after(() => taken.close());
  const busy = (taken.address() as { port: number }).port;
  const second = spawnAgent(fixture('idle-service.js'), agentEnv({ OTEL_METRICS_EXPORTER: 'prometheus', OTEL_EXPORTER_PROMETHEUS_PORT: String(busy), OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' }));
  t.after(() => second.kill());
  const line = await second.waitForLine('stderr', (l) => l.code === 'VIGIL_ERR_METRICS_LISTEN');
  assert.equal(line.port, busy);
  assert.equal((await probe(await second.probePort(), '/health/live')).status, 200);
});

test('/metrics is redacted like every other export: a password in an application\'s metric attribute never leaves', async (t) => {
  const agent = spawnAgent(fixture('app-metric-secret.js'), agentEnv({ OTEL_METRICS_EXPORTER: 'prometheus', OTEL_EXPORTER_PROMETHEUS_PORT: '0', OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' }));
  t.after(() => agent.kill());
  const text = await (await fetch(`http://127.0.0.1:${await metricsPort(agent)}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('orders_jobs_total{'));
  assert.ok(line, 'the application\'s counter is served');
  assert.doesNotMatch(text, /hunter2-secret/);
  assert.match(line, /db_url="postgres:\/\/app:[^"]*@db:5432\/orders"/);
});
