// Coverage matrix: an Express 5 service with a mounted router, MySQL (mysql2), Redis
// (node-redis 5), winston JSON logs and an outbound call through global fetch.
'use strict';
const express = require('express');
const mysql = require('mysql2/promise');
const { createClient } = require('redis');
const winston = require('winston');

const log = winston.createLogger({
  level: 'info',
  defaultMeta: { service: 'express5-app' },
  format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
  transports: [new winston.transports.Console()],
});
const db = mysql.createPool({ uri: process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/test', connectionLimit: 2 });
const redis = createClient({ url: process.env.REDIS_URL || 'redis://127.0.0.1:6379' });
redis.on('error', (error) => log.error('redis error', { reason: String(error) }));
const downstream = process.env.DOWNSTREAM_URL;

const users = express.Router();
users.get('/:id', async (req, res) => {
  const id = Number(req.params.id);
  if (!Number.isSafeInteger(id)) return res.status(400).json({ error: 'id must be an integer' });
  const lastSeenKey = `matrix:express5:user:${id}:last-seen`;
  const lastSeen = await redis.get(lastSeenKey);
  const [rows] = await db.query('SELECT id, name FROM matrix_express5_users WHERE id = ?', [id]);
  if (rows.length === 0) return res.status(404).json({ error: 'no such user' });
  const response = await fetch(`${downstream}/profiles/${id}`, { signal: AbortSignal.timeout(5000) });
  const profile = await response.json();
  await redis.set(lastSeenKey, new Date().toISOString(), { EX: 3600 });
  log.info('user loaded', { userId: id, lastSeen });
  res.json({ ...rows[0], lastSeen, profile });
});

const app = express();
app.use('/users', users);
app.get('/healthz', (_req, res) => res.send('ok'));

async function main() {
  await redis.connect();
  await db.query('CREATE TABLE IF NOT EXISTS matrix_express5_users (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL)');
  await db.query("INSERT IGNORE INTO matrix_express5_users (id, name) VALUES (1, 'user-1'), (7, 'user-7'), (42, 'user-42')");
  const server = app.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ fixture: 'ready', port: server.address().port })}\n`);
  });
  process.on('SIGTERM', () => {
    server.close();
    Promise.allSettled([db.end(), redis.quit()]).then(() => process.exit(0));
  });
}

main().catch((error) => {
  log.error('start-up failed', { reason: String(error) });
  process.exit(1);
});
