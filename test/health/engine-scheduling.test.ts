// Scheduling of checks: timeouts that abandon a hung call without leaking it, no overlapping
// runs, initial delay and jitter, staleness, and an engine that survives its own hooks.
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { setImmediate as flush } from 'node:timers/promises';
import { engineFor, eventually, options, runsOf, scripted } from './harness';

test('a check that never settles is abandoned at its timeout, reported fail, and not called again while it hangs', async (t) => {
  const engine = engineFor(t);
  const signals: AbortSignal[] = [];
  let release: (() => void) | undefined;
  engine.register({
    name: 'stuck',
    // The first call ignores its signal and hangs until released; later calls pass.
    fn: (signal) => {
      signals.push(signal);
      return signals.length === 1 ? new Promise<void>((resolve) => { release = resolve; }) : undefined;
    },
    options: {},
  }, options({ timeoutMs: 30 }));
  engine.start();

  await runsOf(engine, 'stuck', 4);
  const [stuck] = engine.snapshot();
  assert.equal(stuck.status, 'fail');
  assert.match(stuck.output ?? '', /^timed out after 30 ms/);
  assert.equal(signals.length, 1, 'no second call while the first is pending');
  assert.equal(signals[0].aborted, true, 'the call was told to stop');
  assert.equal((signals[0].reason as Error).message, 'timed out after 30 ms');

  release!();
  await eventually(() => engine.snapshot()[0].status === 'pass', 5_000, 'a pass once the hung call settled');
  assert.ok(signals.length >= 2);
});

test('runs of one check never overlap, even when a run takes longer than its interval', async (t) => {
  const engine = engineFor(t);
  // One finishes within its timeout, one ignores its timeout and finishes late (abandoned, tracked).
  const slow = overlapCounter(40);
  const late = overlapCounter(60);
  engine.register({ name: 'slow', fn: slow, options: {} }, options({ intervalMs: 5, timeoutMs: 1_000 }));
  engine.register({ name: 'late', fn: late, options: {} }, options({ intervalMs: 5, timeoutMs: 10 }));
  engine.start();
  // Three calls of `late` means two abandoned ones have settled and been followed by a new call.
  await eventually(() => slow.calls >= 4 && late.calls >= 3, 5_000, 'several calls of each');
  assert.equal(slow.most, 1, 'at most one call of a check at a time');
  assert.equal(late.most, 1, 'an abandoned call still counts until it settles');
});

test('stopping and starting the engine during a run does not start a second chain of runs', async (t) => {
  const engine = engineFor(t);
  const check = overlapCounter(30);
  let started!: () => void;
  const firstCall = new Promise<void>((resolve) => { started = resolve; });
  engine.register({ name: 'slow', fn: () => (started(), check()), options: {} }, options({ intervalMs: 5 }));
  engine.start();
  await firstCall;
  await engine.stop();
  engine.start();
  await runsOf(engine, 'slow', 6);
  assert.equal(check.most, 1);
});

test('the first run waits for the initial delay, and each next one for the interval plus its jitter', async (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  t.mock.method(Math, 'random', () => 0.5);
  const engine = engineFor(t);
  const check = scripted('pass');
  engine.register({ name: 'paced', fn: check, options: {} }, options({ initialDelayMs: 500, intervalMs: 1_000, jitter: 0.2, timeoutMs: 100 }));
  engine.start();
  const advance = async (ms: number) => {
    mock.timers.tick(ms);
    // Let the run settle and the next timer be set.
    for (let i = 0; i < 3; i++) await flush();
  };

  await advance(499);
  assert.equal(check.calls, 0, 'not before the initial delay');
  await advance(1);
  assert.equal(check.calls, 1);
  // 1000 ms interval + 0.2 * 1000 * 0.5 jitter.
  await advance(1_099);
  assert.equal(check.calls, 1, 'not before interval + jitter');
  await advance(1);
  assert.equal(check.calls, 2);
});

test('a result older than 3 x (interval + timeout) turns the check to fail, with the reason', async (t) => {
  let skew = 0;
  const engine = engineFor(t, {}, undefined, () => performance.now() + skew);
  // A long interval: after the first run, nothing refreshes the results but the test's clock.
  engine.register({ name: 'db', fn: scripted('pass'), options: {} }, options({ intervalMs: 60_000, timeoutMs: 1_000 }));
  engine.register({ name: 'cache', fn: scripted('pass'), options: {} }, options({ intervalMs: 60_000, timeoutMs: 1_000, critical: false }));
  engine.start();
  await runsOf(engine, 'db', 1);
  await runsOf(engine, 'cache', 1);
  assert.equal(engine.status('ready').status, 'pass');

  skew = 3 * (60_000 + 1_000) - 1_000;
  assert.equal(engine.status('ready').status, 'pass', 'not stale within the bound');
  skew = 3 * (60_000 + 1_000) + 1;
  const [db, cache] = engine.snapshot();
  assert.equal(db.status, 'fail');
  assert.match(db.output ?? '', /^stale: no result for \d+ ms \(expected one every 60000 ms\)$/);
  assert.equal(cache.status, 'warn', 'a stale non-critical check can only warn');
  assert.match(cache.output ?? '', /^stale/);
  assert.equal(engine.status('ready').status, 'fail');
});

test('a hook that throws neither stops the schedule nor escapes the engine', async (t) => {
  const engine = engineFor(t, {
    onRun: () => { throw new Error('metrics broke'); },
    onChange: () => { throw new Error('logger broke'); },
  });
  engine.register({ name: 'flaky', fn: scripted('pass', 'fail', 'pass', 'fail'), options: {} }, options());
  engine.start();
  await runsOf(engine, 'flaky', 5);
});

/** A check that takes `ms` (ignoring its signal) and records the most calls it saw at once. */
function overlapCounter(ms: number) {
  let active = 0;
  const fn = Object.assign(async () => {
    fn.calls++;
    fn.most = Math.max(fn.most, ++active);
    await new Promise((resolve) => setTimeout(resolve, ms));
    active--;
  }, { calls: 0, most: 0 });
  return fn;
}

test('a check that rejects with a value whose text cannot be had still completes as fail, and runs again', async (t) => {
  const engine = engineFor(t);
  const hostile = new Proxy({}, {
    get() { throw new Error('no property of mine can be read'); },
    getPrototypeOf() { throw new Error('nor my prototype'); },
  });
  engine.register({ name: 'hostile', fn: () => Promise.reject(hostile), options: {} }, options());
  engine.start();
  await runsOf(engine, 'hostile', 2);
  const [snapshot] = engine.snapshot();
  assert.equal(snapshot.status, 'fail');
  assert.equal(snapshot.output, 'an error that cannot be shown as text');
});

test('a huge output is kept cut, with its length, and redacted in what is kept', async (t) => {
  const engine = engineFor(t);
  const output = `postgres://app:Sup3rSecret@db:5432/app ${'x'.repeat(50 * 1024 * 1024)}`;
  engine.register({ name: 'chatty', fn: () => ({ status: 'warn', output }), options: {} }, options());
  engine.register({ name: 'thrower', fn: () => { throw new Error(output); }, options: {} }, options());
  engine.start();
  await runsOf(engine, 'chatty', 1);
  await runsOf(engine, 'thrower', 1);
  for (const snapshot of engine.snapshot()) {
    assert.ok(snapshot.output!.length < 4_200, `${snapshot.name}: ${snapshot.output!.length} characters kept`);
    assert.doesNotMatch(snapshot.output!, /Sup3rSecret/);
  }
  assert.match(engine.snapshot().find((s) => s.name === 'chatty')!.output!, new RegExp(`cut from ${output.length} characters`));
});

test('the longest interval a timer holds, with its jitter, waits: no overflow warning, no second run', async (t) => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.name);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const engine = engineFor(t);
  let calls = 0;
  engine.register({ name: 'rare', fn: () => { calls++; }, options: {} }, options({ intervalMs: 2 ** 31 - 1, jitter: 1, timeoutMs: 100 }));
  engine.start();
  await eventually(() => calls === 1, 5_000, 'the first run');
  await new Promise((resolve) => setTimeout(resolve, 300));
  await flush();
  assert.equal(calls, 1, 'the next run waits for its interval');
  assert.deepEqual(warnings.filter((name) => name === 'TimeoutOverflowWarning'), []);
});
