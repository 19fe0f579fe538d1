// Coverage matrix: a Fastify 5 service with PostgreSQL (pg), Redis (ioredis), bunyan logs and an
// outbound call through node:http's http.get.
'use strict';
const http = require('node:http');
const Fastify = require('fastify');
const { Pool } = require('pg');
const Redis = require('ioredis');
const bunyan = require('bunyan');

const log = bunyan.createLogger({ name: 'fastify-app' });
const pool = new Pool({ connectionString: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test', max: 2 });
const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
const downstream = process.env.DOWNSTREAM_URL;

/** GET a JSON document with the plain http client. */
function getJson(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${url}: HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(body));
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
    req.on('error', reject);
  });
}

// Fastify's own (pino) logger is off: this service logs through bunyan.
const app = Fastify({ logger: false });

app.get('/users/:id', async (request, reply) => {
  const id = Number(request.params.id);
  if (!Number.isSafeInteger(id)) return reply.code(400).send({ error: 'id must be an integer' });
  const lastSeenKey = `matrix:fastify:user:${id}:last-seen`;
  const lastSeen = await redis.get(lastSeenKey);
  const { rows } = await pool.query('SELECT id, name FROM matrix_fastify_users WHERE id = $1', [id]);
  if (rows.length === 0) return reply.code(404).send({ error: 'no such user' });
  const profile = await getJson(`${downstream}/profiles/${id}`);
  await redis.set(lastSeenKey, new Date().toISOString(), 'EX', 3600);
  log.info({ userId: id, lastSeen }, 'user loaded');
  return { ...rows[0], lastSeen, profile };
});

app.get('/healthz', async () => 'ok');

async function main() {
  await pool.query('CREATE TABLE IF NOT EXISTS matrix_fastify_users (id integer PRIMARY KEY, name text NOT NULL)');
  await pool.query("INSERT INTO matrix_fastify_users (id, name) SELECT g, 'user-' || g FROM generate_series(1, 100) g ON CONFLICT (id) DO NOTHING");
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${JSON.stringify({ fixture: 'ready', port: app.server.address().port })}\n`);
  process.on('SIGTERM', () => {
    Promise.allSettled([app.close(), pool.end(), redis.quit()]).then(() => process.exit(0));
  });
}

main().catch((error) => {
  log.error({ err: error }, 'start-up failed');
  process.exit(1);
});
