// The probe server over real HTTP: routes, methods, headers, hardening, the health+json report,
// and the request metrics hook.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { HISTORY_ROUTE, ROTATION_ROUTES, ROUTES, UI_ROUTE } from '../../src/probes/server';
import { engineFor, eventually, options, probe, runsOf, scripted, serve } from './harness';

test('GET and HEAD answer every route as application/health+json, never cached', async (t) => {
  const engine = engineFor(t);
  engine.register({ name: 'db', fn: () => true, options: {} }, options());
  engine.start();
  await runsOf(engine, 'db', 1);
  const port = await serve(t, engine);
  for (const route of ['/health', '/health/live', '/health/ready', '/health/startup']) {
    const get = await probe(port, route);
    assert.equal(get.status, 200, route);
    assert.equal(get.headers.get('content-type'), 'application/health+json');
    assert.equal(get.headers.get('cache-control'), 'no-store');
    assert.equal(get.body.status, 'pass');
    const head = await probe(port, route, { method: 'HEAD' });
    assert.equal(head.status, 200, `HEAD ${route}`);
    assert.equal(head.headers.get('cache-control'), 'no-store');
    assert.equal(head.body, undefined, 'HEAD has no body');
  }
});

test('other paths are 404 and other methods 405 with Allow, both never cached', async (t) => {
  const engine = engineFor(t);
  const port = await serve(t, engine);
  for (const path of ['/', '/healthz', '/health/liveness', '/health/live/extra']) {
    const res = await probe(port, path);
    assert.equal(res.status, 404, path);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(res.body.routes, [...ROUTES.keys(), HISTORY_ROUTE, UI_ROUTE, ...ROTATION_ROUTES]);
  }
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    const res = await probe(port, '/health/ready', { method });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    assert.equal(res.headers.get('cache-control'), 'no-store');
  }
  assert.equal((await probe(port, '/nope', { method: 'POST' })).status, 404);
});

test('query strings and a trailing slash do not change the route', async (t) => {
  const engine = engineFor(t);
  engine.register({ name: 'db', fn: () => false, options: {} }, options());
  engine.start();
  await runsOf(engine, 'db', 1);
  const port = await serve(t, engine);
  assert.equal((await probe(port, '/health/ready?full=1&x=%2F')).status, 503);
  assert.equal((await probe(port, '/health/ready/')).status, 503);
  assert.equal((await probe(port, '/health/live?probe=kubelet')).status, 200);
  assert.equal((await probe(port, '/nope?/health/ready')).status, 404);
});

test('request headers over 8 KiB are refused with 431', async (t) => {
  const port = await serve(t, engineFor(t));
  const res = await probe(port, '/health', { headers: { 'x-padding': 'a'.repeat(9 * 1024) } });
  assert.equal(res.status, 431);
  assert.equal((await probe(port, '/health', { headers: { 'x-padding': 'a'.repeat(4 * 1024) } })).status, 200);
});

test('a client that never finishes its headers is answered 408 and disconnected', async (t) => {
  const port = await serve(t, engineFor(t));
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  let reply = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => { reply += chunk; });
  const closed = new Promise((resolve) => socket.on('close', resolve));
  socket.write('GET /health HTTP/1.1\r\nHost: probe\r\nX-Slow: ');
  await closed;
  assert.match(reply, /^HTTP\/1\.1 408 /);
});

test('probes answer from the latest results and never run a check', async (t) => {
  const engine = engineFor(t);
  const check = scripted('pass');
  engine.register({ name: 'db', fn: check, options: {} }, options({ intervalMs: 60_000 }));
  engine.start();
  await runsOf(engine, 'db', 1);
  const port = await serve(t, engine);
  for (const route of ['/health', '/health/live', '/health/ready', '/health/startup']) await probe(port, route);
  assert.equal(check.calls, 1);
});

test('every answered request is reported with its route and status code', async (t) => {
  const engine = engineFor(t);
  engine.register({ name: 'db', fn: () => false, options: {} }, options());
  engine.start();
  await runsOf(engine, 'db', 1);
  const seen: string[] = [];
  const port = await serve(t, engine, { onRequest: (route, status, seconds) => {
    assert.ok(seconds >= 0 && Number.isFinite(seconds));
    seen.push(`${route} ${status}`);
  } });
  await probe(port, '/health/ready?x=1');
  await probe(port, '/health/live', { method: 'HEAD' });
  await probe(port, '/health', { method: 'POST' });
  await probe(port, '/secret/admin/path');
  // Unknown paths share one label: a scanner cannot blow up the metric's cardinality.
  assert.deepEqual(seen, ['/health/ready 503', '/health/live 200', '/health 405', 'other 404']);
});

test('/health is the IETF health+json report: per-check time of the run its result comes from', async (t) => {
  const engine = engineFor(t);
  const startedAt: number[] = [];
  engine.register({
    name: 'db',
    fn: async () => {
      startedAt.push(Date.now());
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { status: 'warn', observedValue: startedAt.length, observedUnit: 'runs', componentType: 'datastore', output: 'slow replies' };
    },
    options: {},
  }, options({ intervalMs: 30 }));
  engine.start();
  await runsOf(engine, 'db', 2);
  const port = await serve(t, engine);
  const { status, body } = await probe(port, '/health');
  assert.equal(status, 200);
  assert.equal(body.status, 'warn');
  assert.equal(body.serviceId, 'health-test');
  assert.equal(body.version, '1');
  assert.equal(body.releaseId, '1.2.3');
  assert.ok(Date.parse(body.time) > 0);
  assert.equal(typeof body.uptime, 'number');
  const [db] = body.checks.db;
  assert.equal(db.status, 'warn');
  assert.equal(db.observedUnit, 'runs');
  assert.equal(db.componentType, 'datastore');
  assert.equal(db.output, 'slow replies');
  const run = db.observedValue as number;
  const time = Date.parse(db.time);
  assert.ok(time >= startedAt[run - 1], 'not before the run that produced the result began');
  if (startedAt[run] !== undefined) assert.ok(time <= startedAt[run], 'not after the next run began');
});

test('a dependency failure fails readiness and the report, never liveness', async (t) => {
  const engine = engineFor(t);
  engine.register({ name: 'db', fn: () => ({ status: 'fail', output: 'connection refused' }), options: {} }, options());
  engine.register({ name: 'loop', fn: () => true, options: {} }, options({ groups: ['live', 'ready'] }));
  engine.start();
  await runsOf(engine, 'db', 1);
  await runsOf(engine, 'loop', 1);
  const port = await serve(t, engine);
  const live = await probe(port, '/health/live');
  assert.equal(live.status, 200);
  assert.deepEqual(Object.keys(live.body.checks), ['loop'], 'liveness reports only its own group');
  assert.equal((await probe(port, '/health/ready')).status, 503);
  assert.equal((await probe(port, '/health')).status, 503);
});

test('a liveness check fails liveness only once it has run and failed, never while pending', async (t) => {
  const engine = engineFor(t);
  let healthy = true;
  engine.register({ name: 'loop', fn: () => healthy, options: {} }, options({ groups: ['live'] }));
  engine.register({ name: 'later', fn: () => false, options: {} }, options({ groups: ['live'], initialDelayMs: 60_000 }));
  engine.start();
  const port = await serve(t, engine);
  await runsOf(engine, 'loop', 1);
  const live = await probe(port, '/health/live');
  assert.equal(live.status, 200);
  assert.match(live.body.checks.later[0].output, /^pending/);
  healthy = false;
  await eventually(async () => (await probe(port, '/health/live')).status === 503, 5_000, 'liveness 503');
});

test('/health/startup is 503 until every startup check has passed once, then stays 200', async (t) => {
  const engine = engineFor(t);
  let db = false;
  let cache = false;
  engine.register({ name: 'db', fn: () => db, options: {} }, options());
  engine.register({ name: 'cache', fn: () => cache, options: {} }, options());
  engine.register({ name: 'disk', fn: () => false, options: {} }, options({ groups: ['ready'] }));
  engine.start();
  const port = await serve(t, engine);
  await runsOf(engine, 'db', 1);
  assert.equal((await probe(port, '/health/startup')).status, 503);
  db = true;
  await runsOf(engine, 'db', engine.snapshot()[0].runs + 2);
  assert.equal((await probe(port, '/health/startup')).status, 503, 'one startup check has not passed yet');
  db = false;
  cache = true;
  await eventually(async () => (await probe(port, '/health/startup')).status === 200, 5_000, 'startup 200');
  cache = false;
  await eventually(async () => (await probe(port, '/health/ready')).status === 503, 5_000, 'ready 503');
  assert.equal((await probe(port, '/health/startup')).status, 200, 'startup stays done');
});

test('a check result with a BigInt, a circular object or a non-string output cannot break a probe', async (t) => {
  const engine = engineFor(t);
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  engine.register({ name: 'odd', fn: () => ({ status: 'warn', observedValue: 12n as unknown as number, output: 42 as unknown as string, details: { backlog: 12n as unknown as number, circular: circular as unknown as string, ok: true } }), options: {} }, options());
  engine.start();
  await runsOf(engine, 'odd', 1);
  const port = await serve(t, engine);
  const health = await probe(port, '/health');
  assert.equal(health.status, 200);
  assert.deepEqual(health.body.checks.odd[0].details, { backlog: '12', ok: true });
  assert.equal(health.body.checks.odd[0].observedValue, '12');
  assert.equal(health.body.checks.odd[0].output, '42');
});

test('/health/startup asked before any startup check exists passes, but a check registered later still gates it', async (t) => {
  const engine = engineFor(t);
  engine.register({ name: 'loop', fn: () => true, options: {} }, options({ groups: ['live'] }));
  engine.start();
  const port = await serve(t, engine);
  assert.equal((await probe(port, '/health/startup')).status, 200, 'nothing to wait for');
  let ready = false;
  engine.register({ name: 'migrations', fn: () => ready, options: {} }, options());
  await runsOf(engine, 'migrations', 1);
  assert.equal((await probe(port, '/health/startup')).status, 503, 'the late startup check has not passed');
  ready = true;
  await eventually(async () => (await probe(port, '/health/startup')).status === 200, 5_000, 'startup 200');
});
