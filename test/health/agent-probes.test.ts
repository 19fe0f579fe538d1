// What only a real process shows: the preload's probe server answering while a check hangs, the
// log lines of state changes, detail levels from the environment, and probe telemetry (metrics,
// never spans) at a real OTLP receiver.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { startOtlpReceiver, type ReceivedMetric } from '../helpers/otlp-receiver';
import { agentEnv, eventually, fixture, probe, spawnAgent, type AgentProcess } from '../helpers/spawn-agent';

const NO_EXPORT = { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };
/** Kubernetes' default probe timeout: the one time bound a probe answer is held to. */
const PROBE_TIMEOUT_MS = 1_000;

/** Starts test/fixtures/health-app.js under the agent; killed when the test ends. */
async function startApp(t: TestContext, env: Record<string, string>): Promise<{ app: AgentProcess; port: number; appPort: number }> {
  const app = spawnAgent(fixture('health-app.js'), agentEnv(env));
  t.after(() => app.kill());
  const port = await app.probePort();
  const appPort = Number((await app.waitForLine('stdout', (l) => l.fixture === 'ready')).port);
  return { app, port, appPort };
}

test('a check that never resolves: /health/ready keeps answering within the probe timeout, and the check fails at its timeout', async (t) => {
  const { app, port } = await startApp(t, { STUCK_CHECK: '1', ...NO_EXPORT });
  const change = await app.waitForLine('stderr', (l) => l.check === 'stuck' && l.to === 'fail');
  assert.match(String(change.reason), /^timed out after 50 ms$/);

  const latencies: number[] = [];
  for (let i = 0; i < 200; i++) {
    const started = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.arrayBuffer();
    latencies.push(performance.now() - started);
    assert.equal(res.status, 503, 'the critical check fails readiness');
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(2);
  t.diagnostic(`GET /health/ready while a check hangs, 200 sequential requests: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`);

  const stuck = (await probe(port, '/health')).body.checks.stuck[0];
  assert.equal(stuck.status, 'fail');
  assert.match(stuck.output, /^timed out after 50 ms/);
  assert.ok(stuck.traceId, 'the report names the run that timed out');
  // Many runs later: one line for the change, none per run, and none for the healthy check.
  assert.equal(app.stderr.filter((l) => l.check === 'stuck').length, 1);
  assert.equal(app.stderr.filter((l) => l.check === 'steady').length, 0);
});

// These two share no state: run side by side (the latency figures above are taken alone).
describe('probe server of a real process', { concurrency: true }, () => {
  test('VIGIL_DETAILS from the environment: never shows the status alone, token shows details for the bearer token only', async (t) => {
    const [never, token] = await Promise.all([
      startApp(t, { VIGIL_DETAILS: 'never', VIGIL_TOKEN: 'secret-token', ...NO_EXPORT }),
      startApp(t, { VIGIL_DETAILS: 'token', VIGIL_TOKEN: 'secret-token', ...NO_EXPORT }),
    ]);
    const details = async (port: number, authorization?: string) => {
      const { body } = await probe(port, '/health', authorization ? { headers: { authorization } } : {});
      assert.ok(['pass', 'warn'].includes(body.status));
      return body.checks?.steady?.[0].status;
    };
    for (const { port } of [never, token]) await eventually(async () => (await probe(port, '/health/ready')).status === 200, 10_000, 'ready');
    assert.equal(await details(never.port), undefined);
    assert.equal(await details(never.port, 'Bearer secret-token'), undefined, 'never means never');
    assert.equal(await details(token.port), undefined);
    assert.equal(await details(token.port, 'Bearer wrong-token!'), undefined);
    assert.equal(await details(token.port, 'Bearer secret-token'), 'pass');
  });

  test('probe requests create no spans, application requests do; probes are counted and timed by route and status code', async (t) => {
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());
    const { port, appPort } = await startApp(t, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    await eventually(async () => (await probe(port, '/health/ready')).status === 200, 10_000, 'ready');
    await probe(port, '/health/ready?from=kubelet');
    await probe(port, '/health/live', { method: 'HEAD' });
    await probe(port, '/health', { method: 'POST' });
    await probe(port, '/wp-admin');
    await (await fetch(`http://127.0.0.1:${appPort}/orders`)).text();

    // Probes were answered before the application request: their spans would be in by now.
    await receiver.waitFor((r) => r.spans.some((s) => s.kind === 2 && (s.attributes['url.path'] ?? s.attributes['http.target']) === '/orders'));
    const servers = receiver.spans.filter((s) => s.kind === 2);
    assert.deepEqual(servers.map((s) => s.attributes['url.path'] ?? s.attributes['http.target']), ['/orders'], 'only the application request is a server span');

    const pointsOf = (metric: ReceivedMetric) => new Set(metric.dataPoints.map((p) => `${p.attributes['http.route']} ${p.attributes['http.response.status_code']}`));
    const expected = ['/health/ready 200', '/health/live 200', '/health 405', 'other 404'];
    for (const name of ['vigil.probe.requests', 'vigil.probe.duration']) {
      await receiver.waitFor((r) => r.metrics.some((m) => m.name === name && expected.every((e) => pointsOf(m).has(e))));
    }
    const duration = receiver.metrics.find((m) => m.name === 'vigil.probe.duration')!;
    assert.equal(duration.type, 'histogram');
    assert.equal(duration.unit, 's');
  });
});
