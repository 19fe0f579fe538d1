import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import amqplib from 'amqplib';
import { createAmqpCheck } from '../../src/checks/amqp';
import { freePort, listenTracked, startSilentServer } from '../helpers/silent-tcp-server';
import { failureOf, runOnce } from '../helpers/run-check';

const URL = 'amqp://guest:guest@127.0.0.1:5672';
const PASSWORD = 'S3cretPassw0rd';


/** A TCP relay to the broker whose connections the test can cut, as a network failure would. */
async function cuttableRelay(port: number): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  };
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port });
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = (): void => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    cut,
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}

/** A server that accepts connections and never sends a byte (so never a TLS handshake), counting those still open. */
async function silentCountingServer(): Promise<{ port: number; open(): Promise<number>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    // What the client sends is read and dropped: unread, it would keep the client's close from
    // ever reaching 'end' and 'close' here.
    socket.resume();
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    // Once the client side is destroyed, its close reaches this side within a few ticks.
    open: async () => {
      for (let i = 0; i < 50 && sockets.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A self-signed certificate for 127.0.0.1 (its own CA), made with openssl (.ci/run has it). */
function selfSignedCertificate(): { key: string; cert: string; certFile: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-amqps-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  return {
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    certFile: join(dir, 'cert.pem'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A TLS-terminating relay to the broker: amqps in front of a plain AMQP port. */
async function tlsTerminator(port: number, key: string, cert: string): Promise<{ port: number; close(): Promise<void> }> {
  return listenTracked((track) => {
    const server = tls.createServer({ key, cert }, (client) => {
      const upstream = net.connect({ host: '127.0.0.1', port });
      track(client);
      track(upstream);
      client.pipe(upstream).pipe(client);
    });
    server.on('tlsClientError', () => undefined);
    return server;
  });
}

/** One run of the check in a fresh node trusting `caFile` (NODE_EXTRA_CA_CERTS), then its close; what it printed and how it ended. */
async function runInChild(url: string, caFile: string): Promise<{ result: Record<string, unknown>; code: number | null }> {
  const script = `
    const { createAmqpCheck } = require('./src/checks/amqp.ts');
    const check = createAmqpCheck({ url: process.env.CHECK_URL });
    const hold = setInterval(() => undefined, 1000);
    check.fn(AbortSignal.timeout(10000))
      .then((result) => result, (error) => ({ error: error.message }))
      .then(async (result) => {
        await check.close();
        clearInterval(hold);
        process.stdout.write(JSON.stringify(result));
      });
  `;
  const env: NodeJS.ProcessEnv = { ...process.env, CHECK_URL: url, NODE_EXTRA_CA_CERTS: caFile };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: join(__dirname, '..', '..'), env, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { result: JSON.parse(stdout || '{}') as Record<string, unknown>, code };
}

describe('amqp check', () => {
  let admin: amqplib.ChannelModel;
  let channel: amqplib.ConfirmChannel;
  let seq = 0;
  const queues: string[] = [];
  const newQueueName = (): string => {
    const queue = `vigil-test-${process.pid}-${Date.now()}-${++seq}`;
    queues.push(queue);
    return queue;
  };

  before(async () => {
    admin = await amqplib.connect(URL);
    channel = await admin.createConfirmChannel();
  });
  after(async () => {
    for (const queue of queues) await channel.deleteQueue(queue);
    await admin.close();
  });

  test('without a queue, passes with the round-trip latency and the broker version', async () => {
    const check = createAmqpCheck({ url: URL });
    try {
      const result = await runOnce(check);
      assert.equal(check.name, 'rabbitmq');
      assert.equal(result.status, 'pass');
      assert.equal(result.observedUnit, 'ms');
      assert.equal(typeof result.observedValue, 'number');
      assert.match(String(result.details?.serverVersion), /^\d+\./);
      assert.equal((await runOnce(check)).status, 'pass');
    } finally {
      await check.close?.();
    }
  });

  test('reports queue depth; warns with no consumer or too deep; passes with a consumer', async () => {
    const queue = newQueueName();
    await channel.assertQueue(queue, { durable: false });
    const check = createAmqpCheck({ url: URL, queue, maxDepth: 3 });
    const relaxed = createAmqpCheck({ url: URL, queue, requireConsumer: false });
    const roomy = createAmqpCheck({ url: URL, queue });
    try {
      const empty = await runOnce(check);
      assert.equal(empty.status, 'warn');
      assert.equal(empty.observedValue, 0);
      assert.equal(empty.output, `queue "${queue}": no consumer`);
      assert.equal((await runOnce(relaxed)).status, 'pass');

      for (let i = 0; i < 5; i++) channel.sendToQueue(queue, Buffer.from(`message ${i}`));
      await channel.waitForConfirms();
      const deep = await runOnce(check);
      assert.equal(deep.status, 'warn');
      assert.equal(deep.observedValue, 5);
      assert.equal(deep.observedUnit, 'messages');
      assert.equal(deep.details?.consumers, 0);
      assert.equal(deep.output, `queue "${queue}": 5 messages waiting (more than 3), no consumer`);

      // A consumer that takes one message and never acks it: four stay ready in the queue.
      await channel.prefetch(1);
      await channel.consume(queue, () => undefined);
      const consumed = await runOnce(check);
      assert.equal(consumed.details?.consumers, 1);
      assert.equal(consumed.observedValue, 4);
      assert.equal(consumed.status, 'warn');
      assert.equal(consumed.output, `queue "${queue}": 4 messages waiting (more than 3)`);
      const healthy = await runOnce(roomy);
      assert.equal(healthy.status, 'pass');
      assert.equal(healthy.output, undefined);
    } finally {
      await check.close?.();
      await relaxed.close?.();
      await roomy.close?.();
    }
  });

  test('a missing queue fails; once it exists the next run passes on a reopened channel', async () => {
    const queue = newQueueName();
    const check = createAmqpCheck({ url: URL, queue, requireConsumer: false });
    try {
      assert.match(await failureOf(check), /404 \(NOT-FOUND\).*no queue/);
      await channel.assertQueue(queue, { durable: false });
      const result = await runOnce(check);
      assert.equal(result.status, 'pass');
      assert.equal(result.observedValue, 0);
    } finally {
      await check.close?.();
    }
  });

  test('reconnects after its connection is cut', async () => {
    const relay = await cuttableRelay(5672);
    const check = createAmqpCheck({ url: `amqp://guest:guest@127.0.0.1:${relay.port}` });
    try {
      assert.equal((await runOnce(check)).status, 'pass');
      relay.cut();
      // The run right after may still see the dead connection; the one after must pass.
      await runOnce(check).catch(() => undefined);
      assert.equal((await runOnce(check)).status, 'pass');
    } finally {
      await check.close?.();
      await relay.close();
    }
  });

  test('bad credentials fail clearly and never show the password', async () => {
    const check = createAmqpCheck({ url: `amqp://guest:${PASSWORD}@127.0.0.1:5672` });
    try {
      const message = await failureOf(check);
      assert.match(message, /ACCESS-REFUSED/);
      assert.ok(!message.includes(PASSWORD));
    } finally {
      await check.close?.();
    }
  });

  for (const scheme of ['amqp', 'amqps'] as const) test(`fails with ECONNREFUSED where nothing listens (${scheme})`, async () => {
    const port = await freePort();
    const check = createAmqpCheck({ url: `${scheme}://guest:${PASSWORD}@127.0.0.1:${port}` });
    try {
      assert.match(await failureOf(check), new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
    } finally {
      await check.close?.();
    }
  });

  test('a broker that never answers fails the run at the signal', async () => {
    const silent = await startSilentServer();
    const check = createAmqpCheck({ url: `amqp://guest:guest@127.0.0.1:${silent.port}`, timeoutMs: 10_000 });
    try {
      assert.match(await failureOf(check, AbortSignal.timeout(300)), /timed out waiting for RabbitMQ at 127\.0\.0\.1:\d+/);
      assert.match(await failureOf(check, AbortSignal.timeout(300)), /timed out/);
    } finally {
      await check.close?.();
      await silent.close();
    }
  });

  for (const scheme of ['amqp', 'amqps'] as const) test(`${scheme} to a server that never answers${scheme === 'amqps' ? ' (a TLS handshake that never ends)' : ''}: each run fails at the signal and leaves no socket behind`, async () => {
    const silent = await silentCountingServer();
    // The driver's own timeout far away: only the abort of each run can end its connection attempt.
    const check = createAmqpCheck({ url: `${scheme}://guest:guest@127.0.0.1:${silent.port}`, timeoutMs: 600_000 });
    try {
      for (let i = 0; i < 20; i++) {
        assert.match(await failureOf(check, AbortSignal.timeout(50)), /timed out waiting for RabbitMQ at 127\.0\.0\.1:\d+/);
      }
      assert.equal(await silent.open(), 0, 'every abandoned handshake had its socket destroyed');
    } finally {
      await check.close?.();
      await silent.close();
    }
  });

  test("amqps: the TLS handshake is bounded by the check's own timeout too", async () => {
    const silent = await silentCountingServer();
    const check = createAmqpCheck({ url: `amqps://guest:guest@127.0.0.1:${silent.port}`, timeoutMs: 200 });
    try {
      assert.match(await failureOf(check, AbortSignal.timeout(10_000)), /ETIMEDOUT/);
      assert.equal(await silent.open(), 0);
    } finally {
      await check.close?.();
      await silent.close();
    }
  });

  test('amqps to the broker through TLS: an untrusted certificate fails clearly; trusted (NODE_EXTRA_CA_CERTS), the check passes', async () => {
    const certificate = selfSignedCertificate();
    const terminator = await tlsTerminator(5672, certificate.key, certificate.cert);
    const url = `amqps://guest:${PASSWORD}@127.0.0.1:${terminator.port}`;
    const check = createAmqpCheck({ url });
    try {
      const message = await failureOf(check);
      assert.match(message, /self.signed certificate/);
      assert.ok(!message.includes(PASSWORD));

      const { result, code } = await runInChild(`amqps://guest:guest@127.0.0.1:${terminator.port}`, certificate.certFile);
      assert.equal(result.status, 'pass', JSON.stringify(result));
      assert.match(String((result.details as Record<string, unknown> | undefined)?.serverVersion), /^\d+\./);
      assert.equal(code, 0, 'and the program ends by itself after close');
    } finally {
      await check.close?.();
      await terminator.close();
      certificate.cleanup();
    }
  });
});
