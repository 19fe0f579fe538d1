// Coverage matrix: a Koa 3 service with @koa/router, Redis (node-redis 4), RabbitMQ (amqplib:
// the request publishes an event that a consumer in the same process handles), pino logs and
// an outbound call through global fetch.
'use strict';
const Koa = require('koa');
const { Router } = require('@koa/router');
const { createClient } = require('redis');
const amqp = require('amqplib');
const pino = require('pino');

const log = pino({ name: 'koa-app' });
const redis = createClient({ url: process.env.REDIS_URL || 'redis://127.0.0.1:6379' });
redis.on('error', (error) => log.error({ reason: String(error) }, 'redis error'));
const downstream = process.env.DOWNSTREAM_URL;
// One queue per process, so that concurrent runs never consume each other's events.
const QUEUE = `matrix.koa.user-viewed.${process.pid}`;
let channel;

const router = new Router();
router.get('/users/:id', async (ctx) => {
  const id = Number(ctx.params.id);
  if (!Number.isSafeInteger(id)) {
    ctx.status = 400;
    ctx.body = { error: 'id must be an integer' };
    return;
  }
  const views = await redis.incr(`matrix:koa:user:${id}:views`);
  const response = await fetch(`${downstream}/profiles/${id}`, { signal: AbortSignal.timeout(5000) });
  const profile = await response.json();
  channel.sendToQueue(QUEUE, Buffer.from(JSON.stringify({ userId: id, views })), { contentType: 'application/json', persistent: false });
  log.info({ userId: id, views }, 'user loaded');
  ctx.body = { id, name: `user-${id}`, views, profile };
});
router.get('/healthz', (ctx) => {
  ctx.body = 'ok';
});

const app = new Koa();
app.use(router.routes()).use(router.allowedMethods());

async function main() {
  await redis.connect();
  const connection = await amqp.connect(process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672');
  channel = await connection.createChannel();
  await channel.assertQueue(QUEUE, { exclusive: true, autoDelete: true });
  await channel.consume(QUEUE, (message) => {
    if (!message) return;
    const event = JSON.parse(message.content.toString('utf8'));
    log.info({ userId: event.userId, views: event.views }, 'user-viewed event consumed');
    channel.ack(message);
  });
  const server = app.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ fixture: 'ready', port: server.address().port })}\n`);
  });
  process.on('SIGTERM', () => {
    server.close();
    Promise.allSettled([connection.close(), redis.quit()]).then(() => process.exit(0));
  });
}

main().catch((error) => {
  log.error({ err: error }, 'start-up failed');
  process.exit(1);
});
