// Coverage matrix: an ES module service (run with `node --import vigil-agent/register`): Express 5
// with `GET /users/:id` (PostgreSQL through pg, Redis through ioredis, pino) and
// `GET /orders/:orderId` (MySQL through mysql2, Redis through node-redis 5, winston, and an
// event published with amqplib and consumed in the same process); both call a downstream
// service through global fetch. Every dependency comes in through `import`.
import express from 'express';
import pg from 'pg';
import Redis from 'ioredis';
import pino from 'pino';
import mysql from 'mysql2/promise';
import { createClient } from 'redis';
import winston from 'winston';
import amqp from 'amqplib';

const log = pino({ name: 'esm-app' });
const orderLog = winston.createLogger({
  level: 'info',
  defaultMeta: { service: 'esm-app-orders' },
  format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
  transports: [new winston.transports.Console()],
});
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test', max: 2 });
const presence = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
const orders = mysql.createPool({ uri: process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/test', connectionLimit: 2 });
const counters = createClient({ url: process.env.REDIS_URL || 'redis://127.0.0.1:6379' });
counters.on('error', (error) => orderLog.error('redis error', { reason: String(error) }));
const downstream = process.env.DOWNSTREAM_URL;
// One queue per process, so that concurrent runs never consume each other's events.
const QUEUE = `matrix.esm.order-viewed.${process.pid}`;

const fetchJson = async (url) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
};

const app = express();

app.get('/users/:id', async (req, res) => {
  const id = Number(req.params.id);
  if (!Number.isSafeInteger(id)) return res.status(400).json({ error: 'id must be an integer' });
  const lastSeenKey = `matrix:esm:user:${id}:last-seen`;
  const lastSeen = await presence.get(lastSeenKey);
  const { rows } = await pool.query('SELECT id, name FROM matrix_esm_users WHERE id = $1', [id]);
  if (rows.length === 0) return res.status(404).json({ error: 'no such user' });
  const profile = await fetchJson(`${downstream}/profiles/${id}`);
  await presence.set(lastSeenKey, new Date().toISOString(), 'EX', 3600);
  log.info({ userId: id, lastSeen }, 'user loaded');
  res.json({ ...rows[0], lastSeen, profile });
});

const connection = await amqp.connect(process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672');
const channel = await connection.createChannel();

app.get('/orders/:orderId', async (req, res) => {
  const orderId = Number(req.params.orderId);
  if (!Number.isSafeInteger(orderId)) return res.status(400).json({ error: 'orderId must be an integer' });
  const [rows] = await orders.query('SELECT id, total_cents FROM matrix_esm_orders WHERE id = ?', [orderId]);
  if (rows.length === 0) return res.status(404).json({ error: 'no such order' });
  const views = await counters.incr(`matrix:esm:order:${orderId}:views`);
  const shipping = await fetchJson(`${downstream}/shipping/${orderId}`);
  channel.sendToQueue(QUEUE, Buffer.from(JSON.stringify({ orderId, views })), { contentType: 'application/json', persistent: false });
  orderLog.info('order loaded', { orderId, views });
  res.json({ ...rows[0], views, shipping });
});

app.get('/healthz', (_req, res) => res.send('ok'));

await counters.connect();
await pool.query('CREATE TABLE IF NOT EXISTS matrix_esm_users (id integer PRIMARY KEY, name text NOT NULL)');
await pool.query("INSERT INTO matrix_esm_users (id, name) SELECT g, 'user-' || g FROM generate_series(1, 100) g ON CONFLICT (id) DO NOTHING");
await orders.query('CREATE TABLE IF NOT EXISTS matrix_esm_orders (id INT PRIMARY KEY, total_cents INT NOT NULL)');
await orders.query('INSERT IGNORE INTO matrix_esm_orders (id, total_cents) VALUES (1, 999), (5, 4500), (9, 12000)');
await channel.assertQueue(QUEUE, { exclusive: true, autoDelete: true });
await channel.consume(QUEUE, (message) => {
  if (!message) return;
  const event = JSON.parse(message.content.toString('utf8'));
  orderLog.info('order-viewed event consumed', { orderId: event.orderId, views: event.views });
  channel.ack(message);
});

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ fixture: 'ready', port: server.address().port })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  Promise.allSettled([pool.end(), presence.quit(), orders.end(), counters.quit(), connection.close()]).then(() => process.exit(0));
});
