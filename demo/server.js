// The demo service: plain Node, no OpenTelemetry in sight. Run it under the agent
// (`npm run demo`, or `node --require ./dist/register.js demo/server.js`).
const http = require('node:http');
const pino = require('pino');

const log = pino({ name: 'vigil-demo' });
const port = Number(process.env.PORT || 3000);
// The driver is optional: the demo runs without PostgreSQL, and says so.
let pool;
try {
  const { Pool } = require('pg');
  pool = new Pool({ connectionString: process.env.DEMO_DATABASE_URL || process.env.VIGIL_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test', max: 4 });
  pool.on('error', (error) => log.warn({ err: error.message }, 'database connection lost'));
} catch {
  log.warn('pg is not installed: /orders answers without a database');
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.url === '/orders') {
      const rows = pool ? (await pool.query('SELECT now() AS at, 42 AS orders')).rows : [{ orders: 0 }];
      log.info({ orders: rows[0].orders }, 'orders listed');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(rows[0]));
    } else if (req.url === '/') {
      res.end('vigil demo: try /orders, and the probes on port 9000\n');
    } else {
      res.statusCode = 404;
      res.end('not found\n');
    }
  } catch (error) {
    log.error({ err: error.message }, 'request failed');
    res.statusCode = 500;
    res.end('error\n');
  }
});

server.listen(port, () => log.info({ port }, `demo listening on http://127.0.0.1:${port}`));
