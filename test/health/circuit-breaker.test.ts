// The circuit breaker of dependency checks: open after N consecutive failures, no calls during
// the cool-down ("circuit open"), one half-open trial that closes or re-opens it.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createCheck } from '../../src/checks';
import { loadConfig } from '../../src/config';
import { withCircuitBreaker } from '../../src/health/circuit-breaker';
import type { CheckResult } from '../../src/types';
import { engineFor, eventually, options } from './harness';

/** A dependency whose health the test sets, a clock the test moves, and the wrapped check. */
function breaker(failures = 3, cooldownMs = 10_000) {
  const state = { clock: 0, healthy: false, calls: 0 };
  const inner = () => {
    state.calls++;
    if (!state.healthy) throw new Error('ECONNREFUSED 10.0.0.1:5432');
    return { status: 'pass' as const, observedValue: 4, observedUnit: 'ms' };
  };
  const fn = withCircuitBreaker(inner, { failures, cooldownMs, now: () => state.clock });
  const run = async (): Promise<CheckResult> => {
    try {
      return (await fn(new AbortController().signal)) as CheckResult;
    } catch (error) {
      return { status: 'fail', output: (error as Error).message };
    }
  };
  return { state, run };
}

test('opens after N consecutive failures and stops calling the dependency during the cool-down', async () => {
  const { state, run } = breaker(3, 10_000);
  for (let i = 0; i < 3; i++) assert.equal((await run()).output, 'ECONNREFUSED 10.0.0.1:5432');
  assert.equal(state.calls, 3);
  state.clock = 9_999;
  const open = await run();
  assert.equal(open.status, 'fail');
  assert.equal(open.output, 'circuit open after 3 consecutive failures (last: ECONNREFUSED 10.0.0.1:5432); next trial in 1 s');
  assert.equal(state.calls, 3, 'no call while open');
});

test('a successful half-open trial closes the circuit; the count starts again', async () => {
  const { state, run } = breaker(2, 1_000);
  await run();
  await run();
  state.clock = 1_000;
  state.healthy = true;
  assert.deepEqual(await run(), { status: 'pass', observedValue: 4, observedUnit: 'ms' });
  state.healthy = false;
  await run();
  assert.equal(state.calls, 4);
  assert.equal((await run()).output, 'ECONNREFUSED 10.0.0.1:5432', 'one failure after closing does not open it');
  assert.equal(state.calls, 5);
  assert.match((await run()).output ?? '', /^circuit open after 2 consecutive failures/);
});

test('a failed half-open trial re-opens the circuit at once for another cool-down', async () => {
  const { state, run } = breaker(2, 1_000);
  await run();
  await run();
  state.clock = 1_500;
  assert.equal((await run()).output, 'ECONNREFUSED 10.0.0.1:5432', 'the trial calls the dependency');
  assert.equal(state.calls, 3);
  state.clock = 2_499;
  assert.match((await run()).output ?? '', /^circuit open after 3 consecutive failures/);
  assert.equal(state.calls, 3);
  state.clock = 2_500;
  await run();
  assert.equal(state.calls, 4, 'the next trial comes one cool-down after the failed one');
});

test('a failed result passes through with its figures, and counts towards opening', async () => {
  let calls = 0;
  const down: CheckResult = { status: 'fail', output: 'HTTP 503', observedValue: 7, observedUnit: 'ms', componentType: 'component', details: { statusCode: 503 } };
  const fn = withCircuitBreaker(() => (calls++, down), { failures: 2, now: () => 0 });
  const signal = new AbortController().signal;
  assert.deepEqual(await fn(signal), down);
  assert.deepEqual(await fn(signal), down);
  assert.match((await fn(signal) as CheckResult).output ?? '', /^circuit open after 2 consecutive failures \(last: HTTP 503\)/);
  assert.equal(calls, 2);
});

test('an HTTP check behind the breaker stops hitting a failing service and reports "circuit open"', async (t) => {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
  const { config } = loadConfig({ VIGIL_HTTP_CHECKS: `api=${url}` });
  const check = createCheck(config.checks.find((c) => c.name === 'api')!);
  const engine = engineFor(t);
  engine.register(check, options({ intervalMs: 5 }));
  engine.start();
  const open = await eventually(() => {
    const [api] = engine.snapshot();
    return api.output?.startsWith('circuit open') && api;
  }, 5_000, 'the circuit to open');
  assert.equal(open.status, 'fail');
  assert.equal(hits, 5, 'opened after the default 5 failures');
  const runs = open.runs;
  await eventually(() => engine.snapshot()[0].runs >= runs + 5, 5_000, 'more runs');
  assert.equal(hits, 5, 'no request during the cool-down');
});
