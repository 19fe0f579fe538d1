import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import amqplib from 'amqplib';
import { createAmqpCheck } from '../../src/checks/amqp';
import { freePort, startSilentServer } from '../helpers/silent-tcp-server';
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

  test('fails with ECONNREFUSED where nothing listens', async () => {
    const port = await freePort();
    const check = createAmqpCheck({ url: `amqp://guest:${PASSWORD}@127.0.0.1:${port}` });
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
});
