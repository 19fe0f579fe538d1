// Out of service (src/health/engine.ts takeOutOfService, src/probes/server.ts, src/cli.ts): a
// holder of VIGIL_TOKEN takes the instance out of rotation for a time; readiness is 503 with the
// reason, liveness stays 200, /health says why, and it ends by itself or on in-service. Anyone
// else is refused and nothing changes. In the agent: one line and one span each way.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parseDuration } from '../../src/probes/server';
import { startOtlpReceiver } from '../helpers/otlp-receiver';
import { agentEnv, fixture, ROOT, spawnAgent } from '../helpers/spawn-agent';
import { engineFor, eventually, options, probe, runsOf, serve } from './harness';

const TOKEN = 'rotation-token';
const bearer = { authorization: `Bearer ${TOKEN}` };
const post = (port: number, path: string, headers: Record<string, string> = bearer) => probe(port, path, { method: 'POST', headers });

async function servedEngine(t: Parameters<typeof engineFor>[0], token = TOKEN) {
  const engine = engineFor(t);
  engine.register({ name: 'db', fn: () => ({ status: 'pass' }), options: {} }, options());
  engine.start();
  const port = await serve(t, engine, { token, details: 'always' });
  await runsOf(engine, 'db', 1);
  return { engine, port };
}

test('durations: 90s, 10m, 2h, ms; anything else is refused', () => {
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('10m'), 600_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('1500'), 1_500);
  assert.equal(parseDuration('0.5s'), 500);
  for (const bad of ['', 'm', '10 minutes', '-5m', '1d', 'Infinity']) assert.equal(parseDuration(bad), undefined, bad);
});

test('without the token nothing changes: 401, 403 when no token is set, 405 for GET, 400 for a bad time', async (t) => {
  const { port } = await servedEngine(t);
  assert.equal((await post(port, '/health/out-of-service?for=10m', {})).status, 401);
  assert.equal((await post(port, '/health/out-of-service?for=10m', { authorization: 'Bearer wrong' })).status, 401);
  assert.equal((await probe(port, '/health/out-of-service?for=10m')).status, 405);
  assert.equal((await post(port, '/health/out-of-service?for=forever')).status, 400);
  assert.equal((await post(port, '/health/out-of-service?for=25h')).status, 400);
  assert.equal((await probe(port, '/health/ready')).status, 200, 'still in rotation');
  const { port: noToken } = await servedEngine(t, '');
  assert.equal((await post(noToken, '/health/out-of-service?for=10m', { authorization: 'Bearer ' })).status, 403);
  assert.equal((await probe(noToken, '/health/ready')).status, 200);
});

test('out of service: readiness 503 with the reason, liveness 200, /health says why; it ends by itself, or on in-service', async (t) => {
  const { port } = await servedEngine(t);
  const taken = await post(port, '/health/out-of-service?for=1500ms&reason=heap%20dump%20for%20INC-42');
  assert.equal(taken.status, 200);
  assert.equal(taken.body.outOfService.reason, 'heap dump for INC-42');
  const ready = await probe(port, '/health/ready');
  assert.equal(ready.status, 503);
  assert.match(ready.body.output, /^out of service until .*: heap dump for INC-42$/);
  assert.equal((await probe(port, '/health/live')).status, 200);
  assert.match((await probe(port, '/health')).body.output, /heap dump for INC-42/);
  await eventually(async () => (await probe(port, '/health/ready')).status === 200, 5_000, 'back in rotation when the time runs out');
  assert.equal((await probe(port, '/health/ready')).body.output, undefined);

  await post(port, '/health/out-of-service?for=10m');
  assert.equal((await probe(port, '/health/ready')).body.output.endsWith('taken out of service by an operator'), true, 'a default reason');
  const back = await post(port, '/health/in-service');
  assert.deepEqual(back.body, { inService: true, wasOut: true });
  assert.equal((await probe(port, '/health/ready')).status, 200);
});

test('the CLI in the agent: out-of-service and in-service with VIGIL_TOKEN, one line and one span each way; without the token it is refused', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const agent = spawnAgent(fixture('idle-service.js'), agentEnv({ VIGIL_TOKEN: TOKEN, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRICS_EXPORTER: 'none' }));
  t.after(() => agent.kill());
  const port = await agent.probePort();
  const cli = (env: Record<string, string>, ...args: string[]) => promisify(execFile)(process.execPath, [join(ROOT, 'dist/cli.js'), ...args, '--port', String(port)], { env: { PATH: process.env.PATH, ...env } })
    .then(({ stdout }) => ({ code: 0, stdout }), (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout + error.stderr }));

  await eventually(async () => (await probe(port, '/health/ready')).status === 200, 15_000, 'ready');
  const refused = await cli({}, 'out-of-service', '--for', '10m');
  assert.equal(refused.code, 2, refused.stdout);
  assert.match(refused.stdout, /VIGIL_TOKEN must be set/);
  assert.equal((await probe(port, '/health/ready')).status, 200);

  const out = await cli({ VIGIL_TOKEN: TOKEN }, 'out-of-service', '--for', '10m', '--reason', 'forensics');
  assert.equal(out.code, 0, out.stdout);
  assert.equal((await probe(port, '/health/ready')).status, 503);
  assert.equal((await probe(port, '/health/live')).status, 200);
  const line = await agent.waitForLine('stderr', (l) => l.inService === false);
  assert.equal(line.reason, 'forensics');
  const back = await cli({ VIGIL_TOKEN: TOKEN }, 'in-service');
  assert.equal(back.code, 0, back.stdout);
  assert.equal((await probe(port, '/health/ready')).status, 200);
  await agent.waitForLine('stderr', (l) => l.inService === true && l.by === 'operator');
  const spans = await receiver.waitFor((r) => r.spans.some((s) => s.name === 'vigil.in_service') && r.spans);
  const taken = spans.find((s) => s.name === 'vigil.out_of_service');
  assert.equal(taken?.attributes['vigil.rotation.reason'], 'forensics');
});
