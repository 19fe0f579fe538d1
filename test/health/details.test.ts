// Detail levels of the probe bodies (VIGIL_DETAILS): always, never (status only), token (details
// only with `Authorization: Bearer <VIGIL_TOKEN>`). The status code never depends on the level.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { DetailLevel } from '../../src/config/env';
import { engineFor, options, probe, runsOf, serve } from './harness';

const TOKEN = 'probe-token-0123456789';

/** A probe server whose one check fails with a reason, at the given detail level. */
async function failingService(t: TestContext, details: DetailLevel, token = TOKEN): Promise<number> {
  const engine = engineFor(t);
  engine.register({ name: 'db', fn: () => ({ status: 'fail', output: 'connection refused', observedValue: 12, observedUnit: 'ms' }), options: {} }, options());
  engine.start();
  await runsOf(engine, 'db', 1);
  return serve(t, engine, { details, token });
}

const bearer = (value: string) => ({ headers: { authorization: value } });

test('always (the default): every check with its reason and figures', async (t) => {
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
