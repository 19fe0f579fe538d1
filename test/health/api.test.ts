// The programmatic API in-process (registerCheck, getHealth, onStateChange, unregisterCheck), and
// the defaults that the TSDoc of CheckOptions (src/types.ts) promises: those applied to
// checks from code (resolveOptions) and from the environment (loadConfig).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveOptions } from '../../src/health/options';
import { getHealth, onStateChange, registerCheck, start, stop, unregisterCheck, VigilError } from '../../src/api';
import { loadConfig } from '../../src/config';
import type { StateChange } from '../../src/types';
import { eventually } from './harness';

// No telemetry, no log lines, no discovery of app clients: only the checks of the test.
const ENV = { VIGIL_PORT: '0', VIGIL_HOST: '127.0.0.1', OTEL_SDK_DISABLED: 'true', VIGIL_LOG_LEVEL: 'silent', VIGIL_AUTO_CHECKS: 'false' };

const check = (name: string) => getHealth().find((c) => c.name === name);

test('registerCheck, getHealth and onStateChange around a running agent', async (t) => {
  assert.deepEqual(getHealth(), [], 'empty before the agent starts');
  registerCheck('early', () => true, { intervalMs: 100 });
  const agent = await start({ env: ENV });
  t.after(() => stop());
  assert.ok(agent, 'the agent started');
  await eventually(() => check('early')?.status === 'pass', 5_000, 'the check registered before start to run');

  const changes: StateChange[] = [];
  const off = onStateChange((change) => changes.push(change));
  onStateChange(() => { throw new Error('a broken listener'); });
  let healthy = true;
  registerCheck('orders-db', () => healthy || { status: 'fail', output: 'orders-db is down' }, { intervalMs: 100, timeoutMs: 50 });
  await eventually(() => check('orders-db')?.status === 'pass', 5_000, 'a pass');
  const snapshot = check('orders-db')!;
  assert.equal(snapshot.critical, true);
  assert.deepEqual(snapshot.groups, ['ready', 'startup']);
  assert.ok(Date.parse(snapshot.time!) > 0);
  assert.ok(snapshot.runs >= 1);

  healthy = false;
  const failed = await eventually(() => changes.find((c) => c.check === 'orders-db' && c.to === 'fail'), 5_000, 'the change to fail');
  assert.equal(failed.from, 'pass');
  assert.equal(failed.reason, 'orders-db is down');
  assert.match(failed.traceId, /^[0-9a-f]{32}$/);
  assert.equal(changes.filter((c) => c.check === 'orders-db' && c.to === 'fail').length, 1, 'one call per change, not per run');

  off();
  const seen = changes.length;
  healthy = true;
  await eventually(() => check('orders-db')?.status === 'pass', 5_000, 'the pass again');
  assert.equal(changes.length, seen, 'no call after unsubscribing');
});

test('registerCheck refuses a malformed name or a non-function at once; unregisterCheck removes by name', async (t) => {
  await start({ env: ENV });
  t.after(() => stop());
  assert.throws(() => registerCheck('no spaces allowed', () => true), (error: unknown) => error instanceof VigilError && error.code === 'VIGIL_ERR_CHECK_DEFINITION');
  assert.throws(() => registerCheck('fine', 'not a function' as never), VigilError);
  registerCheck('temporary', () => true, { intervalMs: 100 });
  assert.ok(check('temporary'));
  assert.equal(unregisterCheck('temporary'), true);
  assert.equal(check('temporary'), undefined);
  assert.equal(unregisterCheck('temporary'), false);
});

test('a check registered from code gets the documented defaults', () => {
  const { config } = loadConfig({});
  assert.equal(config.intervalMs, 10_000, 'VIGIL_CHECK_INTERVAL_MS defaults to 10000');
  assert.equal(config.timeoutMs, 5_000, 'min(5000, interval / 2)');
  assert.deepEqual(resolveOptions({}, config), {
    critical: true,
    intervalMs: 10_000,
    timeoutMs: 5_000,
    initialDelayMs: 0,
    jitter: 0.1,
    groups: ['ready', 'startup'],
    failureThreshold: 1,
    successThreshold: 1,
    componentType: undefined,
  });
});

test('the timeout defaults to half of VIGIL_CHECK_INTERVAL_MS below 10 s, and VIGIL_CHECK_TIMEOUT_MS wins', () => {
  assert.equal(loadConfig({ VIGIL_CHECK_INTERVAL_MS: '2000' }).config.timeoutMs, 1_000);
  assert.equal(loadConfig({ VIGIL_CHECK_INTERVAL_MS: '60000' }).config.timeoutMs, 5_000);
  assert.equal(loadConfig({ VIGIL_CHECK_INTERVAL_MS: '2000', VIGIL_CHECK_TIMEOUT_MS: '300' }).config.timeoutMs, 300);
});

test('dependency checks default to ready and startup, never live; built-in checks have their own', () => {
  const { config } = loadConfig({
    VIGIL_POSTGRES_URL: 'postgres://app@db/app',
    VIGIL_REDIS_URL: 'redis://cache:6379',
    VIGIL_AMQP_URL: 'amqp://mq',
    VIGIL_HTTP_CHECKS: 'payments=http://payments/health',
    VIGIL_TCP_CHECKS: 'smtp=mail:25',
  });
  const options = Object.fromEntries(config.checks.map((c) => [c.name, c.options]));
  for (const name of ['postgres', 'redis', 'rabbitmq', 'payments', 'smtp']) {
    assert.deepEqual(options[name].groups, ['ready', 'startup'], name);
    assert.equal(options[name].critical, true, name);
    assert.equal(options[name].jitter, 0.1, name);
  }
  assert.deepEqual(options['event-loop'].groups, ['live', 'ready'], 'liveness reflects the process itself');
  assert.equal(options['event-loop'].failureThreshold, 3);
  for (const name of ['cpu', 'memory', 'disk', 'heap']) {
    assert.deepEqual(options[name].groups, ['ready'], name);
    assert.equal(options[name].critical, false, name);
    assert.equal(options[name].initialDelayMs, 1_000, name);
  }
  assert.deepEqual([options.cpu.failureThreshold, options.cpu.successThreshold], [3, 2]);
});

test('a listener added before the agent starts hears the changes after it does', async (t) => {
  const changes: StateChange[] = [];
  const off = onStateChange((change) => changes.push(change));
  t.after(() => off());
  registerCheck('before-start', () => ({ status: 'fail', output: 'down from the start' }), { intervalMs: 100 });
  await start({ env: ENV });
  t.after(() => stop());
  const first = await eventually(() => changes.find((c) => c.check === 'before-start'), 5_000, 'the first result');
  assert.equal(first.to, 'fail');
  assert.equal(first.from, undefined);
});

test("a check's own interval sets its default timeout", () => {
  const global = { intervalMs: 10_000, explicitTimeoutMs: 0 };
  assert.equal(resolveOptions({ intervalMs: 200 }, global).timeoutMs, 100);
  assert.equal(resolveOptions({}, global).timeoutMs, 5_000);
  assert.equal(resolveOptions({ intervalMs: 200 }, { ...global, explicitTimeoutMs: 300 }).timeoutMs, 300, 'VIGIL_CHECK_TIMEOUT_MS wins');
  const { config } = loadConfig({ VIGIL_CONFIG: '', VIGIL_POSTGRES_URL: 'postgres://db/app' });
  assert.equal(config.checks.find((c) => c.name === 'postgres')!.options.timeoutMs, 5_000);
});

test('registerCheck refuses options no check can have, at once', () => {
  const bad: [string, object][] = [
    ['intervalMs', { intervalMs: Number.NaN }],
    ['intervalMs', { intervalMs: 3_000_000_000 }],
    ['jitter', { jitter: 2 }],
    ['failureThreshold', { failureThreshold: 0 }],
    ['groups', { groups: 'ready' }],
    ['groups', { groups: ['ready', 'sometimes'] }],
    ['critical', { critical: 'yes' }],
  ];
  for (const [key, options] of bad) {
    assert.throws(() => registerCheck('ok-name', () => true, options as never), (error: Error) => error instanceof VigilError && error.message.includes(`options.${key}`), key);
  }
});
