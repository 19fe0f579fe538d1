// Status rules: what a check function's answer becomes, worst-of for groups, criticality, flap
// control (thresholds of consecutive runs before a state changes), and what the engine tells its
// hooks (the agent's log lines and listeners): one call per change, a throttled reminder while a
// check stays failed, nothing per healthy run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StateChange } from '../../src/types';
import { applyCriticality, nextStatus, toResult, worst, type FlapState } from '../../src/health/status';
import type { CheckFn, CheckResult, Status } from '../../src/types';
import { engineFor, eventually, options, probe, runsOf, scripted, serve } from './harness';

test('the overall status is the worst of the group; no checks is a pass', () => {
  assert.equal(worst([]), 'pass');
  assert.equal(worst(['pass', 'warn', 'pass']), 'warn');
  assert.equal(worst(['warn', 'fail', 'pass']), 'fail');
});

test('a non-critical check can only warn', () => {
  const failed: CheckResult = { status: 'fail', output: 'down', observedValue: 3 };
  assert.deepEqual(applyCriticality(failed, false), { ...failed, status: 'warn' });
  assert.equal(applyCriticality(failed, true), failed);
  assert.equal(applyCriticality({ status: 'warn' }, false).status, 'warn');
});

test('whatever a check function answers or throws becomes a result, never a crash', async (t) => {
  assert.deepEqual(toResult(undefined), { status: 'pass' });
  assert.deepEqual(toResult(true), { status: 'pass' });
  assert.deepEqual(toResult(false), { status: 'fail', output: 'check returned false' });
  assert.match(toResult({ status: 'ok' } as unknown as CheckResult).output ?? '', /invalid result/);

  const engine = engineFor(t);
  const fns: Record<string, CheckFn> = {
    throws: () => { throw new Error('sync boom'); },
    rejects: async () => { throw new Error('async boom'); },
    'throws-string': () => { throw 'not an error'; },
    'returns-null': () => null as unknown as CheckResult,
  };
  for (const [name, fn] of Object.entries(fns)) engine.register({ name, fn, options: {} }, options());
  engine.start();
  for (const name of Object.keys(fns)) await runsOf(engine, name, 2);
  const outputs = Object.fromEntries(engine.snapshot().map((c) => [c.name, `${c.status}: ${c.output}`]));
  assert.equal(outputs.throws, 'fail: sync boom');
  assert.equal(outputs.rejects, 'fail: async boom');
  assert.equal(outputs['throws-string'], 'fail: not an error');
  assert.match(outputs['returns-null'], /^fail: check returned an invalid result/);
});

test('flap control: worse only after failureThreshold runs in a row, better only after successThreshold', () => {
  const thresholds = { failureThreshold: 3, successThreshold: 2 };
  const replay = (runs: Status[]) => {
    let state: FlapState = { status: undefined, worseStreak: 0, betterStreak: 0 };
    return runs.map((run) => (state = nextStatus(state, run, thresholds)).status);
  };
  // The first run sets the state; two failures and a pass reset the streak; the third in a row turns it.
  assert.deepEqual(
    replay(['pass', 'fail', 'fail', 'pass', 'fail', 'fail', 'fail', 'pass', 'fail', 'pass', 'pass']),
    ['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'fail', 'fail', 'fail', 'fail', 'pass'],
  );
  // warn and fail both count as worse than pass; the state taken is the run that crossed the threshold.
  assert.deepEqual(replay(['pass', 'warn', 'fail', 'fail']), ['pass', 'pass', 'pass', 'fail']);
  // From fail, warn and pass both count as better.
  assert.deepEqual(replay(['fail', 'warn', 'pass']), ['fail', 'fail', 'pass']);
  assert.deepEqual(replay(['fail']), ['fail'], 'the first run sets the state directly');
});

test('flap thresholds hold in the engine: one state change each way, reported with its reason', async (t) => {
  const changes: StateChange[] = [];
  const engine = engineFor(t, { onChange: (change) => changes.push(change) });
  const check = scripted('pass', 'fail', 'fail', 'pass', 'fail', 'fail', 'fail', 'pass', 'pass');
  engine.register({ name: 'db', fn: check, options: {} }, options({ failureThreshold: 3, successThreshold: 2 }));
  engine.start();
  await runsOf(engine, 'db', 12);
  assert.deepEqual(changes.map((c) => [c.from, c.to]), [[undefined, 'pass'], ['pass', 'fail'], ['fail', 'pass']]);
  assert.equal(changes[1].reason, 'run 7 said fail');
  assert.match(changes[1].traceId, /^[0-9a-f]{32}$/);
});

test('a failing non-critical check gives warn, and readiness stays 200', async (t) => {
  const engine = engineFor(t);
  engine.register({ name: 'search', fn: () => ({ status: 'fail', output: 'search is down' }), options: {} }, options({ critical: false }));
  engine.register({ name: 'db', fn: () => true, options: {} }, options());
  engine.start();
  const port = await serve(t, engine);
  const ready = await eventually(async () => {
    const res = await probe(port, '/health/ready');
    return res.body.checks?.search?.[0].time && res;
  }, 5_000, 'a run of the non-critical check');
  assert.equal(ready.status, 200);
  assert.equal(ready.body.status, 'warn');
  assert.equal(ready.body.checks.search[0].status, 'warn');
  assert.equal(ready.body.checks.search[0].output, 'search is down');
  assert.equal((await probe(port, '/health')).status, 200);
});

test('a check that stays failed is recalled once per reminder period, not once per run', async (t) => {
  let clock = 0;
  const reminders: { check: string; sinceMs: number; reason: string | undefined }[] = [];
  const changes: StateChange[] = [];
  const engine = engineFor(t, {
    onChange: (change) => changes.push(change),
    onStillFailing: (check, sinceMs, reason) => reminders.push({ check, sinceMs, reason }),
  }, 1_000, () => clock);
  engine.register({ name: 'db', fn: () => ({ status: 'fail', output: 'connection refused' }), options: {} }, options());
  engine.start();
  await runsOf(engine, 'db', 5);
  assert.equal(changes.length, 1, 'the change to fail, once');
  assert.deepEqual(reminders, [], 'no reminder within the period');

  clock = 1_000;
  await eventually(() => reminders.length === 1, 5_000, 'a reminder');
  const runs = engine.snapshot()[0].runs;
  await runsOf(engine, 'db', runs + 5);
  assert.equal(reminders.length, 1, 'one per period');
  clock = 2_500;
  await eventually(() => reminders.length === 2, 5_000, 'the next reminder');
  assert.deepEqual(reminders, [
    { check: 'db', sinceMs: 1_000, reason: 'connection refused' },
    { check: 'db', sinceMs: 2_500, reason: 'connection refused' },
  ]);
  assert.equal(changes.length, 1);
});

test('healthy runs are silent; every change, and only a change, is reported', async (t) => {
  const changes: StateChange[] = [];
  const reminders: string[] = [];
  // A reminder period of 0 would recall any failed run that is not itself a change.
  const engine = engineFor(t, { onChange: (change) => changes.push(change), onStillFailing: (check) => reminders.push(check) }, 0);
  engine.register({ name: 'steady', fn: scripted('pass'), options: {} }, options());
  engine.register({ name: 'flapping', fn: scripted('pass', 'pass', 'warn', 'warn', 'fail', 'pass'), options: {} }, options());
  engine.start();
  await runsOf(engine, 'steady', 10);
  await runsOf(engine, 'flapping', 10);
  const of = (name: string) => changes.filter((c) => c.check === name).map((c) => `${c.from} -> ${c.to}`);
  assert.deepEqual(of('steady'), ['undefined -> pass']);
  assert.deepEqual(of('flapping'), ['undefined -> pass', 'pass -> warn', 'warn -> fail', 'fail -> pass']);
  assert.deepEqual(reminders, [], 'a check that is not failing is never recalled');
});
