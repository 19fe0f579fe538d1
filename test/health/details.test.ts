// Detail levels of the probe bodies (VIGIL_DETAILS): local (the default: loopback callers and
// token holders), always, never (status only), token (details only with
// `Authorization: Bearer <VIGIL_TOKEN>`). The status code never depends on the level.
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { networkInterfaces } from 'node:os';
import { test, type TestContext } from 'node:test';
import type { DetailLevel } from '../../src/config/settings';
import { isLoopback, showDetails } from '../../src/probes/server';
import { agentEnv, fixture, spawnAgent } from '../helpers/spawn-agent';
import { engineFor, eventually, options, probe, runsOf, serve } from './harness';

const TOKEN = 'probe-token-0123456789';

/** A probe server whose one check fails with a reason, at the given detail level. */
async function failingService(t: TestContext, details: DetailLevel, token = TOKEN, host = '127.0.0.1'): Promise<number> {
  const engine = engineFor(t);
  engine.register({ name: 'db', fn: () => ({ status: 'fail', output: 'connection refused', observedValue: 12, observedUnit: 'ms' }), options: {} }, options());
  engine.start();
  await runsOf(engine, 'db', 1);
  return serve(t, engine, { details, token, host });
}

const bearer = (value: string) => ({ headers: { authorization: value } });

/** An IPv4 address of this machine that is not loopback, if it has one. */
function outsideAddress(): string | undefined {
  return Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.'))?.address;
}

/** GET from `address` to `address`: the server sees a caller that is not loopback. */
function getFrom(address: string, port: number, path: string, authorization?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: address, localAddress: address, port, path, agent: false, timeout: 5_000, headers: authorization ? { authorization } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${address}:${port}`)));
    req.on('error', reject);
  });
}

test('isLoopback: 127.0.0.0/8, ::1 and IPv4-mapped 127.x only', () => {
  for (const address of ['127.0.0.1', '127.1.2.3', '127.255.255.254', '::1', '::ffff:127.0.0.1', '::FFFF:127.9.9.9']) assert.equal(isLoopback(address), true, address);
  for (const address of [undefined, '', '10.0.0.1', '192.0.2.2', '128.0.0.1', '0.0.0.0', '::', 'fd00::2', 'fe80::1', '::ffff:10.0.0.1', '::ffff:7f00:1x', '127.0.0.1.example', '1127.0.0.1', 'localhost']) {
    assert.equal(isLoopback(address), false, String(address));
  }
});

test('showDetails: who sees details at each level', () => {
  const inside = '127.0.0.1';
  const outside = '10.1.2.3';
  const good = `Bearer ${TOKEN}`;
  const cases: [DetailLevel, string, string | undefined, string | undefined, boolean][] = [
    ['local', TOKEN, inside, undefined, true],
    ['local', TOKEN, '::ffff:127.0.0.1', undefined, true],
    ['local', TOKEN, outside, undefined, false],
    ['local', TOKEN, outside, good, true],
    ['local', TOKEN, outside, 'Bearer nope', false],
    ['local', '', outside, 'Bearer ', false],
    ['local', '', inside, undefined, true],
    ['token', TOKEN, inside, undefined, false],
    ['token', TOKEN, outside, good, true],
    ['token', '', inside, 'Bearer ', false],
    ['always', '', outside, undefined, true],
    ['never', TOKEN, inside, good, false],
  ];
  for (const [level, token, address, authorization, expected] of cases) {
    assert.equal(showDetails(level, token, address, authorization), expected, `${level} token=${token ? 'set' : 'unset'} from ${address} with ${authorization ?? 'no header'}`);
  }
});

test('local: a loopback caller naming another host (DNS rebinding in a browser) gets the status alone, unless it holds the token', () => {
  for (const host of ['127.0.0.1:9000', 'localhost:9000', 'LOCALHOST', '[::1]:9000', '10.0.0.7:9000', undefined]) {
    assert.equal(showDetails('local', TOKEN, '127.0.0.1', undefined, host), true, String(host));
  }
  for (const host of ['evil.example:9000', 'orders:9000', 'localhost.evil.example']) {
    assert.equal(showDetails('local', TOKEN, '127.0.0.1', undefined, host), false, host);
    assert.equal(showDetails('local', TOKEN, '127.0.0.1', `Bearer ${TOKEN}`, host), true, `${host} with the token`);
  }
});

test('local: a loopback caller sees details', async (t) => {
  const port = await failingService(t, 'local');
  const { status, body } = await probe(port, '/health');
  assert.equal(status, 503);
  assert.equal(body.checks.db[0].output, 'connection refused');
});

test('local: a caller from another address sees the status alone, unless it holds the token', async (t) => {
  const address = outsideAddress();
  if (!address) {
    // The decision itself is covered by the showDetails test above.
    t.diagnostic('this machine has no IPv4 address besides loopback: only loopback callers were tested end to end');
    return;
  }
  const port = await failingService(t, 'local', TOKEN, '0.0.0.0');
  const stranger = await getFrom(address, port, '/health');
  assert.equal(stranger.status, 503, 'the status code is the same for everyone');
  assert.equal(stranger.body.status, 'fail');
  assert.equal(stranger.body.checks, undefined);
  assert.ok(!JSON.stringify(stranger.body).includes('connection refused'));
  assert.equal((await getFrom(address, port, '/health/ready', 'Bearer wrong')).body.checks, undefined);
  assert.equal((await getFrom(address, port, '/health', `Bearer ${TOKEN}`)).body.checks.db[0].output, 'connection refused');
  assert.equal((await probe(port, '/health')).body.checks.db[0].output, 'connection refused', 'loopback, on the same server');
});

test('the agent with no VIGIL_DETAILS: details for loopback, the status alone for another address', async (t) => {
  const app = spawnAgent(fixture('health-app.js'), agentEnv({ VIGIL_HOST: '0.0.0.0', OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' }));
  t.after(() => app.kill());
  const port = await app.probePort();
  await eventually(async () => (await probe(port, '/health/ready')).status === 200, 10_000, 'ready');
  assert.equal((await probe(port, '/health')).body.checks.steady[0].status, 'pass', 'loopback sees the checks');
  const address = outsideAddress();
  if (!address) {
    t.diagnostic('this machine has no IPv4 address besides loopback: the stranger case is covered by the tests above');
    return;
  }
  const stranger = await getFrom(address, port, '/health');
  assert.equal(stranger.status, 200);
  assert.deepEqual(Object.keys(stranger.body).sort(), ['status', 'time', 'uptime'], 'a caller from another address sees no checks, version or description');
  assert.ok(['pass', 'warn'].includes(stranger.body.status));
  assert.ok((await probe(port, '/health')).body.version, 'loopback sees the version');
});

test('always: every check with its reason and figures', async (t) => {
  const port = await failingService(t, 'always');
  const { status, body } = await probe(port, '/health');
  assert.equal(status, 503);
  assert.equal(body.checks.db[0].output, 'connection refused');
  assert.equal(body.checks.db[0].observedValue, 12);
});

test('never: the status alone, whatever the caller sends', async (t) => {
  const port = await failingService(t, 'never');
  for (const init of [{}, bearer(`Bearer ${TOKEN}`)]) {
    const { status, body } = await probe(port, '/health/ready', init);
    assert.equal(status, 503);
    assert.equal(body.status, 'fail');
    assert.equal(body.checks, undefined);
    assert.ok(!JSON.stringify(body).includes('connection refused'));
  }
});

test('token: details only for the right bearer token', async (t) => {
  const port = await failingService(t, 'token');
  const shown = async (init: RequestInit) => {
    const { status, body } = await probe(port, '/health', init);
    assert.equal(status, 503, 'the status code is the same for everyone');
    return body.checks !== undefined;
  };
  assert.equal(await shown({}), false, 'no header');
  assert.equal(await shown(bearer('Bearer wrong-token')), false, 'wrong token');
  assert.equal(await shown(bearer(`Bearer ${TOKEN}x`)), false, 'longer token');
  assert.equal(await shown(bearer(`Basic ${TOKEN}`)), false, 'another scheme');
  assert.equal(await shown(bearer(TOKEN)), false, 'no scheme');
  assert.equal(await shown(bearer(`Bearer ${TOKEN}`)), true);
  assert.equal(await shown(bearer(`bearer   ${TOKEN} `)), true, 'the scheme is case-insensitive');
});

test('token without a configured token: never shown', async (t) => {
  const port = await failingService(t, 'token', '');
  assert.equal((await probe(port, '/health', bearer('Bearer '))).body.checks, undefined);
  assert.equal((await probe(port, '/health', bearer('Bearer'))).body.checks, undefined);
});
