// The agent's own work stays out of the application's traces: a pool of the application's,
// discovered at its first use inside a request, becomes a check whose runs and log lines are
// the agent's, never children of that request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startOtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver';
import { agentEnv, fixture, spawnAgent } from '../helpers/spawn-agent';

test('a check adopted inside a request is neither parented to it nor logged in its trace', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const app = spawnAgent(fixture('app-clients.js'), agentEnv({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    VIGIL_CHECK_INTERVAL_MS: '200',
    VIGIL_CHECK_TIMEOUT_MS: '2000',
    // Every run's trace, not only the informative ones: this is about where runs are parented.
    VIGIL_CHECK_TRACES_SAMPLER: 'always_on',
  }));
  t.after(() => app.kill());
  const appPort = Number((await app.waitForLine('stdout', (l) => l.fixture === 'ready')).port);
  // The fixture's /use is the first use of its pg Pool and of its ioredis client.
  assert.equal(await fetch(`http://127.0.0.1:${appPort}/use`).then((r) => r.text()), 'ok');

  const request = await receiver.waitFor((r) => r.spans.find((s) => s.kind === 2 && s.attributes['url.path'] === '/use'));
  const query = await receiver.waitFor((r) => r.spans.find((s) => s.parentSpanId === request.spanId && s.kind === 3));
  assert.equal(query.traceId, request.traceId, "the application's own query is in its request's trace");

  // The first runs and those scheduled after them (their timers were once created in the request).
  const runs = await receiver.waitFor((r) => {
    const found = r.spans.filter((s) => /^health\.check app-(postgres|redis)$/.test(s.name));
    return found.filter((s) => s.name === 'health.check app-postgres').length >= 3 && found.some((s) => s.name === 'health.check app-redis') && found;
  }, 15_000);
  // Each run's own client call (the pg query, the Redis PING) is found by what it is in the run's
  // trace (not the request's, asserted first), then must be the run's child.
  const probes: Record<string, { what: string; match: (s: ReceivedSpan) => boolean }> = {
    'health.check app-postgres': { what: 'pg query SELECT 1', match: (s) => s.attributes['db.system.name'] === 'postgresql' && s.attributes['db.query.text'] === 'SELECT 1' },
    'health.check app-redis': { what: 'ioredis PING', match: (s) => s.attributes['db.system.name'] === 'redis' && s.attributes['db.operation.name'] === 'ping' },
  };
  const probeOf = (run: ReceivedSpan) => receiver.spans.find((s) => s.traceId === run.traceId && s.kind === 3 && probes[run.name].match(s));
  await receiver.waitFor((r) => runs.every(probeOf) && r, 5_000).catch(() => undefined); // Bounded: what is missing fails below, by name.
  for (const run of runs) {
    assert.equal(run.parentSpanId, '', `${run.name} is a root span`);
    assert.notEqual(run.traceId, request.traceId, `${run.name} is not in the request's trace`);
    const probe = probeOf(run);
    const trace = receiver.spans.filter((s) => s.traceId === run.traceId).map((s) => `${s.name} (kind ${s.kind})`);
    assert.ok(probe, `no CLIENT span for the ${probes[run.name].what} of ${run.name} in the run's trace (which is not the request's); it holds [${trace.join(', ')}]`);
    assert.equal(probe.parentSpanId, run.spanId, `the ${probes[run.name].what} of ${run.name} is the run's child`);
  }
  const inRequest = receiver.spans.filter((s) => s.traceId === request.traceId);
  assert.deepEqual(inRequest.filter((s) => s.scope.name === 'vigil-agent' || s.name.startsWith('health.check')).map((s) => s.name), [], 'no span of the agent in the request');
  // The application never pings: a PING in its trace is the agent's (a command queued while the
  // client connected is sent again, by ioredis, in the context of the connection's opener).
  assert.deepEqual(inRequest.filter((s) => s.attributes['db.operation.name'] === 'ping').map((s) => s.name), [], "the agent's PING is not in the request");

  for (const kind of ['postgres pool', 'redis client']) {
    const record = await receiver.waitFor((r) => r.logs.find((l) => typeof l.body === 'string' && l.body.startsWith(`checking the application's own ${kind}`)));
    assert.notEqual(record.traceId, request.traceId, `the "${kind}" line is not in the request's trace`);
    assert.equal(record.traceId, '', `the "${kind}" line has no trace of its own either`);
  }
  assert.deepEqual(receiver.logs.filter((l) => l.traceId === request.traceId && l.scope.name === 'vigil-agent').map((l) => l.body), [], 'no log record of the agent in the request');
});

test('a check registered inside a request runs, and tells of its changes, outside that request', async (t) => {
  const app = spawnAgent(fixture('late-check.js'), agentEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' }));
  t.after(() => app.kill());
  const appPort = Number((await app.waitForLine('stdout', (l) => l.fixture === 'ready')).port);
  await fetch(`http://127.0.0.1:${appPort}/register`).then((r) => r.text());
  const request = await app.waitForLine('stdout', (l) => l.fixture === 'request');
  assert.match(String(request.traceId), /^[0-9a-f]{32}$/, 'the request is traced');
  // The second change comes from a run scheduled by the first: both timers descend from the request.
  for (const to of ['pass', 'fail']) {
    const change = await app.waitForLine('stdout', (l) => l.fixture === 'state-change' && l.check === 'late' && l.to === to);
    assert.equal(change.activeTraceId, null, `the listener of the change to ${to} runs in no trace, not in the request's`);
  }
});
