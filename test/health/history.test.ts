// /health/history (src/health/history.ts, the engine's history()): each check's latest results in a
// bounded ring, newest first, with the time its current state began and its pass ratio, under the
// same disclosure rules as /health.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { History } from '../../src/health/history';
import type { Status } from '../../src/types';
import { agentEnv, fixture, spawnAgent } from '../helpers/spawn-agent';
import { engineFor, eventually, options, probe, runsOf, scripted, serve } from './harness';

const result = (n: number, status: Status = 'pass') => ({ time: new Date(n * 1000).toISOString(), status, durationMs: n });

test('the ring keeps the latest results, newest first, and the pass ratio of what it holds', () => {
  const history = new History(3);
  assert.deepEqual(history.newestFirst(), []);
  assert.equal(history.passRatio(), undefined);
  history.add(result(1));
  history.add(result(2, 'fail'));
  assert.deepEqual(history.newestFirst().map((r) => r.durationMs), [2, 1]);
  assert.equal(history.passRatio(), 0.5);
  for (const n of [3, 4, 5]) history.add(result(n, n === 5 ? 'warn' : 'pass'));
  assert.deepEqual(history.newestFirst().map((r) => r.durationMs), [5, 4, 3], 'the oldest are dropped');
  assert.equal(history.passRatio(), 2 / 3, 'warn is not pass');
  for (let n = 6; n < 1000; n++) history.add(result(n));
  assert.equal(history.newestFirst().length, 3, 'bounded however many runs');
});

test('/health/history: per check, newest first, the state and since when, bounded by the history size', async (t) => {
  const engine = engineFor(t, {}, undefined, undefined, 4);
  const flaky = scripted('pass', 'pass', 'fail');
  engine.register({ name: 'flaky', fn: flaky, options: {} }, options());
  engine.register({ name: 'steady', fn: scripted('pass'), options: {} }, options({ critical: false, groups: [] }));
  engine.start();
  const port = await serve(t, engine);
  await runsOf(engine, 'flaky', 8);
  const { status, body } = await probe(port, '/health/history');
  assert.equal(status, 200);
  assert.equal(body.status, 'fail');
  const { flaky: f, steady: s } = body.checks;
  assert.equal(f.status, 'fail');
  assert.equal(f.results.length, 4, 'VIGIL_HISTORY_SIZE results at most');
  assert.deepEqual(f.results.map((r: { status: string }) => r.status), ['fail', 'fail', 'fail', 'fail']);
  assert.equal(f.passRatio, 0);
  assert.match(f.results[0].output, /said fail/);
  const times = f.results.map((r: { time: string }) => Date.parse(r.time));
  assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
  // The state began at the first failed run: before every result held, and forMs ago.
  assert.ok(Date.parse(f.since) <= times[times.length - 1], `${f.since} is not before ${f.results.at(-1).time}`);
  assert.ok(f.forMs >= Date.now() - Date.parse(f.since) - 1000 && f.forMs >= 0);
  assert.equal(s.status, 'pass');
  assert.equal(s.passRatio, 1);
  assert.ok(Date.parse(s.since) <= Date.parse(s.results.at(-1).time), 'steady since its first run');
});

test('/health/history shows the status alone to a caller without details, everything to the token', async (t) => {
  const engine = engineFor(t);
  engine.register({ name: 'db', fn: () => ({ status: 'fail', output: 'connection refused' }), options: {} }, options());
  engine.start();
  const port = await serve(t, engine, { details: 'token', token: 'history-token' });
  await runsOf(engine, 'db', 1);
  const plain = await probe(port, '/health/history');
  assert.deepEqual(Object.keys(plain.body).sort(), ['status', 'time']);
  assert.equal(plain.body.status, 'fail');
  const allowed = await probe(port, '/health/history', { headers: { authorization: 'Bearer history-token' } });
  assert.equal(allowed.body.checks.db.results[0].output, 'connection refused');
  assert.equal((await probe(port, '/health/history', { method: 'POST' })).status, 405);
});

test('in the agent: VIGIL_HISTORY_SIZE bounds every check\'s results, each with the trace id of its exported run', async (t) => {
  const agent = spawnAgent(fixture('idle-service.js'), agentEnv({ VIGIL_HISTORY_SIZE: '3', VIGIL_CHECK_INTERVAL_MS: '200', VIGIL_CHECK_TRACES_SAMPLER: 'always_on', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' }));
  t.after(() => agent.kill());
  const port = await agent.probePort();
  const body = await eventually(async () => {
    const { body: b } = await probe(port, '/health/history');
    return Object.values(b.checks ?? {}).some((c) => (c as { results: unknown[] }).results.length === 3) && b;
  }, 15_000, 'three results of a check');
  for (const [name, check] of Object.entries(body.checks as Record<string, { results: { traceId?: string }[] }>)) {
    assert.ok(check.results.length <= 3, name);
    for (const r of check.results) assert.match(String(r.traceId), /^[0-9a-f]{32}$/, name);
  }
});
