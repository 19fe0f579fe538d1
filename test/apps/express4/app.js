// Coverage matrix: an Express 4 service with PostgreSQL (pg), Redis (ioredis), pino and an
// outbound call through axios. It knows nothing of OpenTelemetry.
'use strict';
const express = require('express');
const { Pool } = require('pg');
const Redis = require('ioredis');
const pino = require('pino');
const axios = require('axios');

const log = pino({ name: 'express4-app' });
const pool = new Pool({ connectionString: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test', max: 2 });
const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
const downstream = axios.create({ baseURL: process.env.DOWNSTREAM_URL, timeout: 5000 });

const app = express();

app.get('/users/:id', async (req, res, next) => {
  try {
    const id = Number(req.params.id);
    if (!Number.isSafeInteger(id)) return res.status(400).json({ error: 'id must be an integer' });
    const lastSeenKey = `matrix:express4:user:${id}:last-seen`;
    const lastSeen = await redis.get(lastSeenKey);
    const { rows } = await pool.query('SELECT id, name FROM matrix_express4_users WHERE id = $1', [id]);
    if (rows.length === 0) return res.status(404).json({ error: 'no such user' });
    const { data: profile } = await downstream.get(`/profiles/${id}`);
    await redis.set(lastSeenKey, new Date().toISOString(), 'EX', 3600);
    log.info({ userId: id, lastSeen }, 'user loaded');
    res.json({ ...rows[0], lastSeen, profile });
  } catch (error) {
    next(error);
  }
});

app.get('/healthz', (_req, res) => res.send('ok'));

async function main() {
  await pool.query('CREATE TABLE IF NOT EXISTS matrix_express4_users (id integer PRIMARY KEY, name text NOT NULL)');
  await pool.query("INSERT INTO matrix_express4_users (id, name) SELECT g, 'user-' || g FROM generate_series(1, 100) g ON CONFLICT (id) DO NOTHING");
  const server = app.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ fixture: 'ready', port: server.address().port })}\n`);
  });
  process.on('SIGTERM', () => {
    server.close();
    Promise.allSettled([pool.end(), redis.quit()]).then(() => process.exit(0));
  });
}

main().catch((error) => {
  log.error({ err: error }, 'start-up failed');
  process.exit(1);
});
