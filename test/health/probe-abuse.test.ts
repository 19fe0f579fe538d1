// The probe server against clients that hold it rather than ask it (issue 10): pipelining over
// keep-alive without reading the answers, slow and stalled readers, too many connections, too
// many requests on one connection; and the cached report body, which must stay truthful.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Agent, get, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { buildReport, bodyOf, liveFields, renderReport } from '../../src/probes/report';
import { CONNECTION_LIMITS } from '../../src/probes/agent-server';
import { agentEnv, fixture, spawnAgent } from '../helpers/spawn-agent';
import { engineFor, eventually, options, probe, runsOf, serveServer } from './harness';

const NO_EXPORT = { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };
/** Generous: a fresh GET must be answered, not be fast (the machine is shared and noisy). */
const ANSWER_TIMEOUT_MS = 5_000;
/** Bound of the RSS growth of the attacked process (see the first test). */
const MAX_RSS_GROWTH = 150 * 2 ** 20;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One GET on a new connection (no pooling), as the kubelet sends it. */
function freshGet(port: number, path: string, host = '127.0.0.1', agent: Agent | false = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = get({ host, port, path, agent, timeout: ANSWER_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to GET ${path} within ${ANSWER_TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

const REQUEST = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n';

/** `count` pipelined GETs of `path` in one buffer. */
function pipelined(count: number, path = '/health'): Buffer {
  return Buffer.from(REQUEST.replace('/health', path).repeat(count));
}

/** A raw connection whose incoming bytes are kept; `closed` resolves when it ends. */
function rawClient(t: TestContext, port: number, { read = true } = {}): { socket: Socket; received: () => string; closed: Promise<void>; connected: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  if (!read) socket.pause();
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, received: () => received, closed, connected };
}

const answersIn = (text: string) => text.split('HTTP/1.1 ').length - 1;
const connectionsOf = (server: Server) => new Promise<number>((resolve, reject) => server.getConnections((error, n) => (error ? reject(error) : resolve(n))));

/** VmRSS of a process, bytes. */
function rssOf(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
}

test('40 connections pipelining thousands of GET /health and never reading: /health/live and the app keep answering, memory stays bounded', async (t) => {
  const app = spawnAgent(fixture('health-app.js'), agentEnv(NO_EXPORT));
  t.after(() => app.kill());
  const port = await app.probePort();
  const appPort = Number((await app.waitForLine('stdout', (l) => l.fixture === 'ready')).port);
  const pid = app.child.pid!;
  // Warm both servers up, so the baseline includes what any first requests allocate.
  for (let i = 0; i < 20; i++) {
    await freshGet(port, '/health');
    await freshGet(appPort, '/');
  }
  const before = rssOf(pid);
  let peak = before;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
    } catch {
      // The process is gone: the assertions below say so.
    }
  }, 20);
  t.after(() => clearInterval(sampler));

  const burst = pipelined(3_000);
  const attackers = Array.from({ length: 40 }, () => {
    const attacker = rawClient(t, port, { read: false });
    attacker.socket.write(burst);
    return attacker;
  });
  const slowest = { live: 0, app: 0 };
  for (let round = 0; round < 20; round++) {
    for (const [label, target, path] of [['live', port, '/health/live'], ['app', appPort, '/']] as const) {
      const started = performance.now();
      const answer = await freshGet(target, path);
      slowest[label] = Math.max(slowest[label], performance.now() - started);
      assert.equal(answer.status, 200, `${label} answered during the attack (round ${round})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  clearInterval(sampler);
  const growth = peak - before;
  t.diagnostic(`under attack: slowest fresh GET /health/live ${slowest.live.toFixed(0)} ms, app ${slowest.app.toFixed(0)} ms; RSS ${(before / 2 ** 20).toFixed(0)} MiB + ${(growth / 2 ** 20).toFixed(1)} MiB at its peak`);
  // Node parses each connection's first read (64 KiB, about a thousand requests) before vigil can
  // drop it: 40 such reads at once cost 40 to 110 MiB for a moment here (a bare node:http server
  // that answers them all: about 50). Before issue 10 it was 100 MiB within 3 s and still growing.
  assert.ok(growth < MAX_RSS_GROWTH, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB under the attack (bound: ${MAX_RSS_GROWTH / 2 ** 20} MiB)`);
  assert.equal(app.child.exitCode, null, 'the process is still running');
  const report = JSON.parse((await freshGet(port, '/health')).body);
  assert.equal(report.checks.steady[0].status, 'pass', 'the report is intact after the attack');
  for (const attacker of attackers) attacker.socket.destroy();
});

test('up to 16 requests ahead of the answers are all answered in order; a client further ahead is disconnected, others unharmed', async (t) => {
  const engine = engineFor(t);
  engine.register({ name: 'db', fn: () => true, options: {} }, options({ intervalMs: 60_000 }));
  engine.start();
  await runsOf(engine, 'db', 1);
  const server = await serveServer(t, engine);
  const port = (server.address() as { port: number }).port;
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => keepAlive.destroy());
  assert.equal((await freshGet(port, '/health/ready', '127.0.0.1', keepAlive)).status, 200);

  // Within the bound: 16 at once, read late, then one more on the same connection.
  const polite = rawClient(t, port, { read: false });
  polite.socket.write(pipelined(CONNECTION_LIMITS.maxUnanswered, '/health/ready'));
  await new Promise((resolve) => setTimeout(resolve, 200));
  polite.socket.resume();
  await eventually(() => answersIn(polite.received()) === CONNECTION_LIMITS.maxUnanswered, 5_000, '16 answers');
  polite.socket.write(pipelined(1, '/health/live'));
  await eventually(() => answersIn(polite.received()) === CONNECTION_LIMITS.maxUnanswered + 1, 5_000, 'a 17th answer on the same connection');
  assert.equal(polite.received().match(/HTTP\/1\.1 200 OK/g)?.length, CONNECTION_LIMITS.maxUnanswered + 1);

  // Far ahead: 5000 requests at once, read or not, end the connection.
  const greedy = rawClient(t, port, { read: false });
  greedy.socket.write(pipelined(5_000));
  await new Promise((resolve) => setTimeout(resolve, 200));
  greedy.socket.resume();
  await greedy.closed;
  assert.ok(answersIn(greedy.received()) <= CONNECTION_LIMITS.maxUnanswered, `${answersIn(greedy.received())} answers before the close`);

  // The other connections and fresh ones were not harmed.
  assert.equal((await freshGet(port, '/health/ready', '127.0.0.1', keepAlive)).status, 200, 'the keep-alive connection');
  assert.equal((await freshGet(port, '/health')).status, 200, 'a fresh connection');
  assert.equal(polite.socket.destroyed, false, 'the polite connection stays open');
});

test('a slow reader gets every byte of a large report; a reader that takes none is disconnected after the stall timeout', async (t) => {
  const engine = engineFor(t);
  // About 12 MiB of report: more than the kernel buffers of a loopback connection hold.
  const checks = 3_000;
  for (let i = 0; i < checks; i++) {
    engine.register({ name: `c${i}`, fn: () => ({ status: 'pass', output: 'x'.repeat(4_000) }), options: {} }, options({ intervalMs: 600_000 }));
  }
  engine.start();
  await eventually(() => engine.snapshot().every((c) => c.runs > 0), 15_000, 'every check run once');
  const stallTimeoutMs = 300;
  const server = await serveServer(t, engine, { limits: { stallTimeoutMs } });
  const port = (server.address() as { port: number }).port;

  // A reader that takes about 64 KiB per 20 ms: slow, but never still for the stall timeout.
  const slow = rawClient(t, port, { read: false });
  await slow.connected;
  slow.socket.write(REQUEST);
  const pace = setInterval(() => {
    slow.socket.resume();
    setImmediate(() => slow.socket.pause());
  }, 20);
  t.after(() => clearInterval(pace));
  const complete = () => {
    const text = slow.received();
    const split = text.indexOf('\r\n\r\n');
    const length = Number(/content-length: (\d+)/i.exec(text)?.[1]);
    return split > 0 && Buffer.byteLength(text.slice(split + 4), 'latin1') >= length;
  };
  await eventually(complete, 60_000, 'the whole report');
  clearInterval(pace);
  const text = slow.received();
  const body = JSON.parse(Buffer.from(text.slice(text.indexOf('\r\n\r\n') + 4), 'latin1').toString('utf8'));
  assert.equal(Object.keys(body.checks).length, checks);
  assert.ok(Buffer.byteLength(JSON.stringify(body)) > 8 * 2 ** 20);
  slow.socket.resume();
  slow.socket.write('HEAD /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  await eventually(() => answersIn(slow.received()) === 2, 5_000, 'a second answer: the slow connection was kept');

  // A reader that takes nothing: its answer stops moving, and the connection is dropped.
  const before = await connectionsOf(server);
  const stalled = rawClient(t, port, { read: false });
  await stalled.connected;
  stalled.socket.write(REQUEST);
  await eventually(async () => (await connectionsOf(server)) === before + 1, 5_000, 'the stalled connection open');
  await eventually(async () => (await connectionsOf(server)) === before, 10_000, 'the stalled connection dropped');
  assert.equal(slow.socket.destroyed, false);
});

test('a connection beyond maxConnections is answered: the oldest gives way, so no client can lock the kubelet out', async (t) => {
  const engine = engineFor(t);
  const maxConnections = 4;
  const server = await serveServer(t, engine, { limits: { maxConnections } });
  const port = (server.address() as { port: number }).port;
  const held = Array.from({ length: maxConnections }, () => rawClient(t, port));
  for (const [i, client] of held.entries()) {
    client.socket.write(pipelined(1, '/health/live'));
    await eventually(() => answersIn(client.received()) === 1, 5_000, `an answer on connection ${i}`);
  }
  // Every slot is held by an idle keep-alive connection: a fresh probe still gets its answer.
  for (let i = 0; i < 3; i++) assert.equal((await freshGet(port, '/health/live')).status, 200, `fresh probe ${i}`);
  await held[0].closed;
  assert.ok(await connectionsOf(server) <= maxConnections, 'the bound holds');
  const open = held.filter((client) => !client.socket.destroyed);
  for (const client of open) client.socket.write(pipelined(1, '/health/ready'));
  for (const [i, client] of open.entries()) await eventually(() => answersIn(client.received()) === 2 || client.socket.destroyed, 5_000, `connection ${i} answered or given way`);
});

test('a keep-alive connection is closed after maxRequestsPerSocket requests', async (t) => {
  const engine = engineFor(t);
  const port = (await serveServer(t, engine, { limits: { maxRequestsPerSocket: 3 } })).address() as { port: number };
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => keepAlive.destroy());
  const connection: string[] = [];
  for (let i = 0; i < 4; i++) connection.push(String((await freshGet(port.port, '/health/live', '127.0.0.1', keepAlive)).headers.connection));
  assert.deepEqual(connection, ['keep-alive', 'keep-alive', 'close', 'keep-alive'], 'the third answer closes, the fourth comes on a new connection');
});

test('a cached body follows the engine: a check that starts failing shows as failing at once; time and uptime are each answer\'s own', async (t) => {
  const engine = engineFor(t);
  let status: 'pass' | 'fail' = 'pass';
  engine.register({ name: 'db', fn: () => ({ status, output: status === 'fail' ? 'connection refused' : undefined }), options: {} }, options({ intervalMs: 100 }));
  engine.start();
  await runsOf(engine, 'db', 1);
  const server = await serveServer(t, engine);
  const port = (server.address() as { port: number }).port;

  const first = await probe(port, '/health');
  await new Promise((resolve) => setTimeout(resolve, 5));
  const second = await probe(port, '/health');
  assert.equal(first.status, 200);
  assert.ok(Date.parse(second.body.time) > Date.parse(first.body.time), `time moves on: ${first.body.time} then ${second.body.time}`);
  assert.ok(second.body.uptime >= first.body.uptime);

  status = 'fail';
  const runs = engine.snapshot()[0].runs;
  await runsOf(engine, 'db', runs + 2);
  for (const [path, code] of [['/health', 503], ['/health/ready', 503], ['/health/live', 200]] as const) {
    const answer = await probe(port, path);
    assert.equal(answer.status, code, path);
    if (path !== '/health/live') {
      assert.equal(answer.body.status, 'fail', path);
      assert.equal(answer.body.checks.db[0].output, 'connection refused', path);
    }
  }
  status = 'pass';
  const failedRuns = engine.snapshot()[0].runs;
  await runsOf(engine, 'db', failedRuns + 2);
  const healed = await probe(port, '/health');
  assert.equal(healed.status, 200);
  assert.equal(healed.body.checks.db[0].status, 'pass');
  assert.equal(healed.body.checks.db[0].output, undefined);
});

test('a result that turns stale with time alone shows as stale: the cache also expires by time', async (t) => {
  let now = 1_000_000;
  const engine = engineFor(t, {}, undefined, () => now);
  engine.register({ name: 'db', fn: () => true, options: {} }, options({ intervalMs: 60_000 }));
  engine.start();
  await runsOf(engine, 'db', 1);
  const port = (await serveServer(t, engine)).address() as { port: number };
  assert.equal((await probe(port.port, '/health')).body.checks.db[0].status, 'pass');
  const version = engine.version;
  now += 10 * 60_000;
  const stale = await eventually(async () => {
    const { body } = await probe(port.port, '/health');
    return /^stale:/.test(body.checks.db[0].output ?? '') ? body : undefined;
  }, 5_000, 'the stale result');
  assert.equal(stale.checks.db[0].status, 'fail');
  assert.equal(engine.version, version, 'no run was recorded: time alone made it stale');
});

test('the rendered report is the built report, with the time and uptime of the answer', () => {
  const checks = [{ name: 'db', status: 'fail' as const, critical: true, groups: ['ready' as const], runs: 1, output: 'refused "quoted" ünïcode', durationMs: 1.5 }];
  const service = { serviceId: 'svc', version: '2.3.4', description: 'demo' };
  for (const details of [true, false]) {
    const report = buildReport('fail', checks, service, details, 'shutting down');
    const rendered = renderReport(report, 7, 0);
    const body = bodyOf(rendered, Date.parse('2026-12-01T10:00:00.000Z'), 12.3456).toString('utf8');
    assert.deepEqual(JSON.parse(body), { ...report, time: '2026-12-01T10:00:00.000Z', uptime: 12.346 });
    assert.deepEqual(Object.keys(JSON.parse(body)), Object.keys(report), 'the same keys in the same order');
    assert.equal(rendered.head.length + liveFields(0, 1).length + rendered.tail.length, Buffer.byteLength(bodyOf(rendered, 0, 1)), 'the content-length the server sends');
  }
});
