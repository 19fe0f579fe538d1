// Coverage matrix: a hapi 21 service with MySQL (mysql2), a GraphQL query executed inside the
// request, a gRPC call to an accounts service (served by @grpc/grpc-js in the same process),
// winston JSON logs and an outbound call through global fetch.
'use strict';
const path = require('node:path');
const Hapi = require('@hapi/hapi');
const mysql = require('mysql2/promise');
const { graphql, buildSchema } = require('graphql');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const winston = require('winston');

const log = winston.createLogger({
  level: 'info',
  defaultMeta: { service: 'hapi-app' },
  format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
  transports: [new winston.transports.Console()],
});
const db = mysql.createPool({ uri: process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/test', connectionLimit: 2 });
const downstream = process.env.DOWNSTREAM_URL;

// ---- GraphQL: badges of a user ----
const schema = buildSchema(`
  type Badge { name: String!, level: Int! }
  type Query { badges(userId: Int!): [Badge!]! }
`);
const rootValue = {
  badges: ({ userId }) => [
    { name: 'early-adopter', level: 1 },
    { name: userId % 2 ? 'odd-one' : 'even-keel', level: 2 },
  ],
};
const BADGES_QUERY = 'query UserBadges($userId: Int!) { badges(userId: $userId) { name level } }';

// ---- gRPC: the accounts service, and a client of it ----
const definition = protoLoader.loadSync(path.join(__dirname, 'accounts.proto'), { longs: Number, defaults: true });
const { Accounts } = grpc.loadPackageDefinition(definition).matrix.accounts;
const grpcServer = new grpc.Server();
grpcServer.addService(Accounts.service, {
  GetBalance: (call, callback) => {
    const { userId } = call.request;
    if (userId <= 0) return callback({ code: grpc.status.INVALID_ARGUMENT, message: 'userId must be positive' });
    callback(null, { userId, cents: userId * 1250, currency: 'EUR' });
  },
});
let accounts;
const getBalance = (userId) =>
  new Promise((resolve, reject) => {
    accounts.GetBalance({ userId }, { deadline: Date.now() + 5000 }, (error, balance) => (error ? reject(error) : resolve(balance)));
  });

async function main() {
  await db.query('CREATE TABLE IF NOT EXISTS matrix_hapi_users (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL)');
  await db.query("INSERT IGNORE INTO matrix_hapi_users (id, name) VALUES (1, 'user-1'), (7, 'user-7'), (42, 'user-42')");
  const grpcPort = await new Promise((resolve, reject) => {
    grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port)));
  });
  accounts = new Accounts(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());

  const server = Hapi.server({ port: 0, host: '127.0.0.1' });
  server.route({
    method: 'GET',
    path: '/users/{id}',
    handler: async (request, h) => {
      const id = Number(request.params.id);
      if (!Number.isSafeInteger(id)) return h.response({ error: 'id must be an integer' }).code(400);
      const [rows] = await db.query('SELECT id, name FROM matrix_hapi_users WHERE id = ?', [id]);
      if (rows.length === 0) return h.response({ error: 'no such user' }).code(404);
      const result = await graphql({ schema, source: BADGES_QUERY, rootValue, variableValues: { userId: id } });
      if (result.errors) throw result.errors[0];
      const balance = await getBalance(id);
      const response = await fetch(`${downstream}/profiles/${id}`, { signal: AbortSignal.timeout(5000) });
      const profile = await response.json();
      log.info('user loaded', { userId: id, badges: result.data.badges.length });
      return { ...rows[0], badges: result.data.badges, balance, profile };
    },
  });
  server.route({ method: 'GET', path: '/healthz', handler: () => 'ok' });
  await server.start();
  process.stdout.write(`${JSON.stringify({ fixture: 'ready', port: server.info.port })}\n`);
  process.on('SIGTERM', () => {
    accounts.close();
    grpcServer.forceShutdown();
    Promise.allSettled([server.stop({ timeout: 1000 }), db.end()]).then(() => process.exit(0));
  });
}

main().catch((error) => {
  log.error('start-up failed', { reason: String(error) });
  process.exit(1);
});
