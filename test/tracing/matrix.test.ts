// The coverage matrix: small realistic services (test/apps/<name>), one per framework, run under
// the built preload exactly as a user would run them. From the decoded OTLP, each request must be
// one trace: a SERVER span named after the framework's route template, every client library used
// inside the handler below it, trace context carried to the downstream service, and the trace id
// in the application's own log lines and in their OTLP log records. Every app process starts at once; the tests of a describe
// block inspect what its app exported once that has settled, so a missing span fails at once.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedLog, type ReceivedSpan } from '../helpers/otlp-receiver';
import { agentEnv, ROOT, spawnAgent, type AgentProcess, type Line } from '../helpers/spawn-agent';

// OTLP SpanKind.
const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

type Logger = 'pino' | 'winston' | 'bunyan';

interface RouteSpec {
  /** The framework's route template, as it must appear in http.route and the span name. */
  template: string;
  /** Requested paths: two values of the parameter, so a raw path can never pass for the template. */
  paths: [string, string];
  /** Path the handler calls on the downstream service, after DOWNSTREAM_URL, for a parameter value. */
  downstream: (id: number) => string;
  http: 'fetch (undici)' | 'http.get' | 'axios (http)';
  db?: { library: 'pg' | 'mysql2'; system: 'postgresql' | 'mysql'; table: string };
  redis?: { library: 'ioredis' | 'node-redis'; commands: string[] };
  log: { library: Logger; message: string; key: string };
  /** The handler publishes to RabbitMQ; the in-process consumer logs this message (with `views` from the response). */
  amqp?: { consumed: string };
}

interface AppSpec {
  name: string;
  framework: string;
  preload: '--require' | '--import';
  routes: RouteSpec[];
}

const profiles = (id: number) => `/profiles/${id}`;

const APPS: AppSpec[] = [
  {
    name: 'express4',
    framework: 'Express 4',
    preload: '--require',
    routes: [{
      template: '/users/:id', paths: ['/users/7', '/users/42'], downstream: profiles, http: 'axios (http)',
      db: { library: 'pg', system: 'postgresql', table: 'matrix_express4_users' },
      redis: { library: 'ioredis', commands: ['get', 'set'] },
      log: { library: 'pino', message: 'user loaded', key: 'userId' },
    }],
  },
  {
    name: 'express5',
    framework: 'Express 5, mounted router',
    preload: '--require',
    routes: [{
      template: '/users/:id', paths: ['/users/7', '/users/42'], downstream: profiles, http: 'fetch (undici)',
      db: { library: 'mysql2', system: 'mysql', table: 'matrix_express5_users' },
      redis: { library: 'node-redis', commands: ['get', 'set'] },
      log: { library: 'winston', message: 'user loaded', key: 'userId' },
    }],
  },
  {
    name: 'fastify',
    framework: 'Fastify 5',
    preload: '--require',
    routes: [{
      template: '/users/:id', paths: ['/users/7', '/users/42'], downstream: profiles, http: 'http.get',
      db: { library: 'pg', system: 'postgresql', table: 'matrix_fastify_users' },
      redis: { library: 'ioredis', commands: ['get', 'set'] },
      log: { library: 'bunyan', message: 'user loaded', key: 'userId' },
    }],
  },
  {
    name: 'koa',
    framework: 'Koa 3 + @koa/router',
    preload: '--require',
    routes: [{
      template: '/users/:id', paths: ['/users/7', '/users/42'], downstream: profiles, http: 'fetch (undici)',
      redis: { library: 'node-redis', commands: ['incr'] },
      log: { library: 'pino', message: 'user loaded', key: 'userId' },
      amqp: { consumed: 'user-viewed event consumed' },
    }],
  },
  {
    name: 'hapi',
    framework: 'hapi 21',
    preload: '--require',
    routes: [{
      template: '/users/{id}', paths: ['/users/7', '/users/42'], downstream: profiles, http: 'fetch (undici)',
      db: { library: 'mysql2', system: 'mysql', table: 'matrix_hapi_users' },
      log: { library: 'winston', message: 'user loaded', key: 'userId' },
    }],
  },
  {
    name: 'nest',
    framework: 'NestJS 11 on platform-express',
    preload: '--require',
    routes: [{
      template: '/users/:id', paths: ['/users/7', '/users/42'], downstream: profiles, http: 'fetch (undici)',
      db: { library: 'pg', system: 'postgresql', table: 'matrix_nest_users' },
      log: { library: 'pino', message: 'user loaded', key: 'userId' },
    }],
  },
  {
    name: 'esm',
    framework: 'ES module, Express 5, under --import',
    preload: '--import',
    routes: [
      {
        template: '/users/:id', paths: ['/users/7', '/users/42'], downstream: profiles, http: 'fetch (undici)',
        db: { library: 'pg', system: 'postgresql', table: 'matrix_esm_users' },
        redis: { library: 'ioredis', commands: ['get', 'set'] },
        log: { library: 'pino', message: 'user loaded', key: 'userId' },
      },
      {
        template: '/orders/:orderId', paths: ['/orders/5', '/orders/9'], downstream: (id) => `/shipping/${id}`, http: 'fetch (undici)',
        db: { library: 'mysql2', system: 'mysql', table: 'matrix_esm_orders' },
        redis: { library: 'node-redis', commands: ['incr'] },
        log: { library: 'winston', message: 'order loaded', key: 'orderId' },
        amqp: { consumed: 'order-viewed event consumed' },
      },
    ],
  },
];

// ---- the shared world: one OTLP receiver, one downstream service, every app started at once ----

interface DownstreamRequest {
  path: string;
  traceparent: string | undefined;
}

interface Exchange {
  route: RouteSpec;
  path: string;
  id: number;
  status: number;
  body: any;
}

interface Run {
  spec: AppSpec;
  service: string;
  app: AgentProcess;
  exchanges: Exchange[];
}

let receiver: OtlpReceiver;
let downstream: Server;
let downstreamUrl: string;
const downstreamRequests: DownstreamRequest[] = [];
const processes: AgentProcess[] = [];
let world: Promise<Map<string, Promise<Run>>> | undefined;

/** Starts the receiver, the downstream service and every app, once, on the first describe's demand. */
function startWorld(): Promise<Map<string, Promise<Run>>> {
  world ??= (async () => {
    receiver = await startOtlpReceiver();
    downstream = createServer((req, res) => {
      const traceparent = req.headers.traceparent;
      downstreamRequests.push({ path: req.url ?? '', traceparent: typeof traceparent === 'string' ? traceparent : undefined });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url, tier: 'gold' }));
    }).listen(0, '127.0.0.1');
    await once(downstream, 'listening');
    downstreamUrl = `http://127.0.0.1:${(downstream.address() as AddressInfo).port}`;
    const runs = new Map<string, Promise<Run>>();
    for (const spec of APPS) {
      const run = exercise(spec);
      run.catch(() => {}); // Reported by the describe block that awaits it.
      runs.set(spec.name, run);
    }
    return runs;
  })();
  return world;
}

after(async () => {
  for (const app of processes) app.kill();
  await Promise.all(processes.map((app) => app.exited));
  await receiver?.close();
  downstream?.close();
});

/** Runs one app under the preload, makes its requests and waits until what it exports has settled. */
async function exercise(spec: AppSpec): Promise<Run> {
  const service = `matrix-${spec.name}`;
  const app = spawnAgent(join(ROOT, 'test', 'apps', spec.name, 'app.js'), agentEnv({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_SERVICE_NAME: service,
    DOWNSTREAM_URL: `${downstreamUrl}/${spec.name}`,
    // The agent's own checks of the app's pg pool and Redis client are not under test here.
    VIGIL_AUTO_CHECKS: 'false',
  }), [], spec.preload);
  processes.push(app);
  const port = Number((await app.waitForLine('stdout', (l) => l.fixture === 'ready', 30_000)).port);
  const exchanges: Exchange[] = [];
  for (const route of spec.routes) {
    for (const path of route.paths) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: kept as text for the assertion message.
      }
      exchanges.push({ route, path, id: Number(path.split('/').at(-1)), status: res.status, body });
    }
  }
  // Consumers run after the response: wait (bounded) for their log lines, which the app writes with or without the agent.
  await Promise.all(exchanges.filter((e) => e.route.amqp).map((e) =>
    app.waitForLine('stdout', (l) => messageOf(l) === e.route.amqp!.consumed && l[e.route.log.key] === e.id && l.views === e.body?.views, 10_000).catch(() => undefined)));
  await settle(service, exchanges);
  return { spec, service, app, exchanges };
}

/**
 * Waits until each request's SERVER span has arrived and the app's spans have stopped coming for a
 * second, then until the duration metric counts every request; bounded, so that what is missing
 * fails in the assertions, by name, rather than in a wait.
 */
async function settle(service: string, exchanges: Exchange[]): Promise<void> {
  const deadline = Date.now() + 12_000;
  let count = -1;
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    const spans = spansOf(service);
    if (spans.length !== count) {
      count = spans.length;
      stableSince = Date.now();
    }
    if (exchanges.every((e) => serverSpanOf(service, e.path)) && Date.now() - stableSince >= 1_000) break;
    await sleep(100);
  }
  const metricDeadline = Date.now() + 5_000;
  while (Date.now() < metricDeadline) {
    const points = latestMetric(service, 'http.server.request.duration')?.dataPoints ?? [];
    if (points.reduce((sum, p) => sum + (p.count ?? 0), 0) >= exchanges.length) break;
    await sleep(100);
  }
}

// ---- reading what arrived ----

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const spansOf = (service: string) => receiver.spans.filter((s) => s.resource['service.name'] === service);
const spanPath = (s: ReceivedSpan) => String(s.attributes['url.path'] ?? s.attributes['http.target'] ?? '').split('?')[0];
const serverSpanOf = (service: string, path: string) => spansOf(service).find((s) => s.kind === SERVER && spanPath(s) === path);
const dbSystem = (s: ReceivedSpan) => s.attributes['db.system.name'] ?? s.attributes['db.system'];
const dbText = (s: ReceivedSpan) => String(s.attributes['db.query.text'] ?? s.attributes['db.statement'] ?? '');
const urlOf = (s: ReceivedSpan) => String(s.attributes['url.full'] ?? s.attributes['http.url'] ?? '');
const messageOf = (line: Line) => line.msg ?? line.message;
const describeSpan = (s: ReceivedSpan) => `${JSON.stringify(s.name)} (kind ${s.kind}, ${s.scope.name || 'no scope'})`;

function latestMetric(service: string, name: string) {
  return receiver.metrics.filter((m) => m.name === name && m.resource['service.name'] === service).at(-1);
}

function redisCommand(s: ReceivedSpan): string {
  const operation = s.attributes['db.operation.name'] ?? s.attributes['db.operation'];
  return String(operation ?? dbText(s).split(' ')[0] ?? '').toLowerCase();
}

/** True when `span` is `ancestor` or reaches it through its chain of parents. */
function isUnder(span: ReceivedSpan, ancestor: ReceivedSpan, trace: ReceivedSpan[]): boolean {
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  const seen = new Set<string>();
  for (let current: ReceivedSpan | undefined = span; current && !seen.has(current.spanId); current = byId.get(current.parentSpanId)) {
    if (current.spanId === ancestor.spanId) return true;
    seen.add(current.spanId);
  }
  return false;
}

/** The request's SERVER span; fails naming the server spans that did arrive. */
function requireServer(run: Run, exchange: Exchange): ReceivedSpan {
  const server = serverSpanOf(run.service, exchange.path);
  assert.ok(server, `no SERVER span with url.path ${exchange.path} from ${run.service}; its SERVER spans: [${spansOf(run.service).filter((s) => s.kind === SERVER).map(describeSpan).join(', ')}]`);
  return server;
}

/** The request's trace; the server span must have arrived. */
function traceOf(run: Run, exchange: Exchange): { server: ReceivedSpan; trace: ReceivedSpan[] } {
  const server = requireServer(run, exchange);
  return { server, trace: receiver.spans.filter((s) => s.traceId === server.traceId) };
}

/** The span of the request's trace that matches, below its server span; fails naming what the trace holds. */
function requireUnder(run: Run, exchange: Exchange, what: string, match: (s: ReceivedSpan) => boolean): ReceivedSpan {
  const { server, trace } = traceOf(run, exchange);
  const candidates = trace.filter(match);
  const contents = `the trace of ${exchange.path} holds [${trace.map(describeSpan).join(', ')}]`;
  assert.ok(candidates.length > 0, `no ${what} in the trace of ${exchange.path}; ${contents}`);
  const under = candidates.find((s) => s !== server && isUnder(s, server, trace));
  assert.ok(under, `the ${what} is in the trace of ${exchange.path} but not below its SERVER span ${describeSpan(server)}; ${contents}`);
  return under;
}

function outboundSpan(run: Run, exchange: Exchange): ReceivedSpan {
  const url = `${downstreamUrl}/${run.spec.name}${exchange.route.downstream(exchange.id)}`;
  return requireUnder(run, exchange, `CLIENT span of the outbound ${exchange.route.http} call to ${url}`, (s) => s.kind === CLIENT && urlOf(s) === url);
}

function producerSpan(run: Run, exchange: Exchange): ReceivedSpan {
  return requireUnder(run, exchange, 'amqplib PRODUCER span', (s) => s.kind === PRODUCER && s.attributes['messaging.system'] === 'rabbitmq');
}

/** The app's stdout line written inside the request (or its consumer): the one that names the request's parameter. */
function appLine(run: Run, exchange: Exchange, message: string, extra: (l: Line) => boolean = () => true): Line {
  const key = exchange.route.log.key;
  const line = run.app.stdout.find((l) => messageOf(l) === message && l[key] === exchange.id && extra(l));
  assert.ok(line, `the app wrote no "${message}" line with ${key}=${exchange.id} on stdout`);
  return line;
}

/** The line carries the trace id of the request and the id of a span of it, at or below the server span. */
function assertCorrelated(line: Line, run: Run, exchange: Exchange, library: string): void {
  const { server, trace } = traceOf(run, exchange);
  assert.equal(line.trace_id, server.traceId, `${library} line ${JSON.stringify(line)}: trace_id is the request's trace id`);
  assert.match(String(line.span_id), /^[0-9a-f]{16}$/, `${library} line: span_id`);
  const span = trace.find((s) => s.spanId === line.span_id);
  assert.ok(span, `${library} line: span_id ${String(line.span_id)} names no exported span of the request's trace`);
  assert.ok(isUnder(span, server, trace), `${library} line: span ${describeSpan(span)} is not at or below the SERVER span`);
}

/** Fields of each logger's stdout line that its OTLP record carries elsewhere (body, severity, trace and span id) or drops. */
const STDOUT_ONLY: Record<Logger, string[]> = {
  pino: ['msg', 'level', 'time', 'pid', 'hostname'],
  winston: ['message', 'level'],
  bunyan: ['msg', 'level', 'time', 'pid', 'hostname', 'v'],
};
const CORRELATION = ['trace_id', 'span_id', 'trace_flags'];
/** The instrumentation scope each logger's records arrive under. */
const LOG_SCOPE: Record<Logger, string> = {
  pino: '@opentelemetry/instrumentation-pino',
  winston: '@opentelemetry/winston-transport',
  bunyan: '@opentelemetry/instrumentation-bunyan',
};

/**
 * The OTLP log record of an app's stdout line arrived: the message as its string body, severity
 * info, the line's own fields as attributes, the app's resource, and the request's trace id with
 * the id of the line's span, at or below the request's server span.
 */
function assertExported(line: Line, run: Run, exchange: Exchange, library: Logger): ReceivedLog {
  const key = exchange.route.log.key;
  const message = String(messageOf(line));
  const what = `${run.service}: the ${library} record of "${message}" (${key}=${exchange.id})`;
  const records = receiver.logs.filter((l) => l.resource['service.name'] === run.service && l.scope.name !== 'vigil-agent');
  const record = records.find((l) => l.attributes[key] === exchange.id && JSON.stringify(l.body ?? '').includes(message));
  assert.ok(record, `${what} never arrived over OTLP; the app's records: ${JSON.stringify(records.map((l) => ({ scope: l.scope.name, body: l.body, attributes: l.attributes })))}`);
  const shown = `${what}: ${JSON.stringify({ ...record, resource: undefined })}`;
  assert.equal(record.scope.name, LOG_SCOPE[library], `${shown}: scope`);
  assert.equal(record.body, message, `${shown}: the body is the message itself`);
  assert.equal(record.severityText, 'info', `${shown}: severityText`);
  assert.equal(record.severityNumber, 9, `${shown}: severityNumber (INFO)`);
  // A null field (a Redis key not set yet) arrives as the key with an empty OTLP value.
  const fields = Object.fromEntries(Object.entries(line).filter(([name]) => !STDOUT_ONLY[library].includes(name) && !CORRELATION.includes(name))
    .map(([name, value]) => [name, value ?? undefined]));
  assert.deepEqual(record.attributes, fields, `${shown}: the attributes are the line's own fields`);
  const { server, trace } = traceOf(run, exchange);
  assert.deepEqual(record.resource, server.resource, `${what}: the resource is that of the app's spans`);
  assert.equal(record.traceId, server.traceId, `${shown}: traceId is the request's trace id`);
  const span = trace.find((s) => s.spanId === record.spanId);
  assert.ok(span, `${shown}: spanId ${JSON.stringify(record.spanId)} names no exported span of the request's trace`);
  assert.ok(isUnder(span, server, trace), `${shown}: span ${describeSpan(span)} is not at or below the SERVER span`);
  assert.equal(record.spanId, line.span_id, `${shown}: spanId is the span_id of the stdout line ${JSON.stringify(line)}`);
  return record;
}

// ---- the matrix ----

for (const spec of APPS) {
  describe(`coverage matrix: ${spec.name} (${spec.framework})`, () => {
    let run: Run;
    before(async () => {
      run = await (await startWorld()).get(spec.name)!;
    });
    const eachRequest = (route: RouteSpec, fn: (exchange: Exchange) => void) => () => {
      const exchanges = run.exchanges.filter((e) => e.route === route);
      assert.equal(exchanges.length, route.paths.length);
      for (const exchange of exchanges) fn(exchange);
    };

    test('every request is answered 200 under the agent, after its call to the downstream service', () => {
      for (const exchange of run.exchanges) {
        assert.equal(exchange.status, 200, `GET ${exchange.path}: ${JSON.stringify(exchange.body)}; app output:\n${run.app.text()}`);
        assert.equal(exchange.body.id, exchange.id);
        const served = exchange.body.profile ?? exchange.body.shipping;
        assert.equal(served?.path, `/${spec.name}${exchange.route.downstream(exchange.id)}`, 'the handler called the downstream service');
      }
    });

    for (const route of spec.routes) {
      const name = `GET ${route.template}`;

      test(`${name}: the SERVER span is named "${name}" and carries http.route`, eachRequest(route, (exchange) => {
        const server = requireServer(run, exchange);
        assert.equal(server.name, name, `SERVER span of ${exchange.path}`);
        assert.equal(server.attributes['http.route'], route.template, `http.route of ${exchange.path}`);
        assert.equal(server.attributes['http.request.method'], 'GET');
        assert.equal(server.attributes['http.response.status_code'], 200);
        assert.equal(server.parentSpanId, '', 'the request came without trace context: its SERVER span is a root');
      }));

      test(`${name}: http.server.request.duration has a data point with http.route ${route.template}`, () => {
        const metric = latestMetric(run.service, 'http.server.request.duration');
        assert.ok(metric, `no http.server.request.duration metric from ${run.service}`);
        assert.equal(metric.type, 'histogram');
        assert.equal(metric.unit, 's');
        const points = metric.dataPoints.filter((p) => p.attributes['http.route'] === route.template);
        assert.equal(points.length, 1, `data points with http.route ${route.template}; the metric's points carry ${JSON.stringify(metric.dataPoints.map((p) => p.attributes))}`);
        assert.equal(points[0].count, route.paths.length, 'one measurement per request');
        assert.equal(points[0].attributes['http.request.method'], 'GET');
        assert.equal(points[0].attributes['http.response.status_code'], 200);
      });

      if (route.db) {
        const db = route.db;
        test(`${name}: a ${db.library} CLIENT span (${db.system}) below the SERVER span`, eachRequest(route, (exchange) => {
          const query = requireUnder(run, exchange, `${db.library} CLIENT span with db.system(.name) ${db.system} querying ${db.table}`,
            (s) => s.kind === CLIENT && dbSystem(s) === db.system && dbText(s).includes(db.table));
          assert.match(dbText(query), /^SELECT id, /, 'the statement is the handler\'s query');
        }));
      }

      if (route.redis) {
        const redis = route.redis;
        test(`${name}: ${redis.library} CLIENT spans (${redis.commands.join(', ')}) below the SERVER span`, eachRequest(route, (exchange) => {
          for (const command of redis.commands) {
            requireUnder(run, exchange, `${redis.library} CLIENT span for ${command.toUpperCase()} (db.system(.name) redis)`,
              (s) => s.kind === CLIENT && dbSystem(s) === 'redis' && redisCommand(s) === command);
          }
        }));
      }

      test(`${name}: the outbound ${route.http} call is a CLIENT span below the SERVER span`, eachRequest(route, (exchange) => {
        const client = outboundSpan(run, exchange);
        assert.equal(client.attributes['http.request.method'], 'GET');
        assert.equal(client.attributes['http.response.status_code'], 200);
      }));

      test(`${name}: the downstream service receives a traceparent of the request's trace, from the outbound span`, eachRequest(route, (exchange) => {
        const path = `/${spec.name}${route.downstream(exchange.id)}`;
        const received = downstreamRequests.filter((r) => r.path === path);
        assert.equal(received.length, 1, `the downstream service got ${path} once`);
        const { traceparent } = received[0];
        assert.ok(traceparent, `the ${route.http} call to ${path} carried no traceparent header`);
        const [, traceId, parentId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(traceparent) ?? [];
        assert.ok(traceId, `malformed traceparent ${traceparent}`);
        const { server } = traceOf(run, exchange);
        assert.equal(traceId, server.traceId, "the traceparent's trace id is the request's");
        assert.equal(parentId, outboundSpan(run, exchange).spanId, "the traceparent's parent is the outbound CLIENT span");
      }));

      test(`${name}: the app's ${route.log.library} line written in the request carries its trace_id and span_id`, eachRequest(route, (exchange) => {
        assertCorrelated(appLine(run, exchange, route.log.message), run, exchange, route.log.library);
      }));

      test(`${name}: the ${route.log.library} record of that line arrives over OTLP with the request's trace id and span id`, eachRequest(route, (exchange) => {
        assertExported(appLine(run, exchange, route.log.message), run, exchange, route.log.library);
      }));

      if (route.amqp) {
        const amqp = route.amqp;
        test(`${name}: amqplib PRODUCER span below the SERVER span, and its CONSUMER span in the same trace`, eachRequest(route, (exchange) => {
          const producer = producerSpan(run, exchange);
          const { trace } = traceOf(run, exchange);
          const consumer = trace.find((s) => s.kind === CONSUMER && s.attributes['messaging.system'] === 'rabbitmq');
          assert.ok(consumer, `no amqplib CONSUMER span in the trace of ${exchange.path}; it holds [${trace.map(describeSpan).join(', ')}]; CONSUMER spans of ${run.service}: [${spansOf(run.service).filter((s) => s.kind === CONSUMER).map(describeSpan).join(', ')}]`);
          assert.ok(isUnder(consumer, producer, trace), 'the CONSUMER span descends from the PRODUCER span');
        }));

        test(`${name}: the ${route.log.library} line of the consumer carries the request's trace_id`, eachRequest(route, (exchange) => {
          const line = appLine(run, exchange, amqp.consumed, (l) => l.views === exchange.body.views);
          const { server, trace } = traceOf(run, exchange);
          assert.equal(line.trace_id, server.traceId, `consumer line ${JSON.stringify(line)}`);
          const span = trace.find((s) => s.spanId === line.span_id);
          assert.ok(span && span.kind === CONSUMER, `the consumer line's span_id ${String(line.span_id)} is the CONSUMER span`);
        }));

        test(`${name}: the ${route.log.library} record of the consumer's line arrives over OTLP in the CONSUMER span`, eachRequest(route, (exchange) => {
          const record = assertExported(appLine(run, exchange, amqp.consumed, (l) => l.views === exchange.body.views), run, exchange, route.log.library);
          const span = traceOf(run, exchange).trace.find((s) => s.spanId === record.spanId);
          assert.equal(span?.kind, CONSUMER, `the consumer's record names span ${span ? describeSpan(span) : record.spanId}, not the CONSUMER span`);
        }));
      }
    }

    if (spec.name === 'hapi') {
      const route = spec.routes[0];
      test('GET /users/{id}: the GraphQL query executed in the request is a span below the SERVER span', eachRequest(route, (exchange) => {
        const execute = requireUnder(run, exchange, 'graphql execute span of the UserBadges query',
          (s) => s.attributes['graphql.operation.name'] === 'UserBadges' && s.attributes['graphql.operation.type'] === 'query');
        assert.equal(execute.name, 'query UserBadges');
      }));

      test('GET /users/{id}: the gRPC call is a CLIENT span below the SERVER span, and the gRPC server span is its child', eachRequest(route, (exchange) => {
        const method = 'grpc.matrix.accounts.Accounts/GetBalance';
        const client = requireUnder(run, exchange, `gRPC CLIENT span ${method}`, (s) => s.kind === CLIENT && s.attributes['rpc.system'] === 'grpc');
        assert.equal(client.name, method);
        assert.equal(client.attributes['rpc.service'], 'matrix.accounts.Accounts');
        assert.equal(client.attributes['rpc.method'], 'GetBalance');
        assert.equal(client.attributes['rpc.grpc.status_code'], 0);
        const { trace } = traceOf(run, exchange);
        const grpcServer = trace.find((s) => s.kind === SERVER && s.attributes['rpc.system'] === 'grpc');
        assert.ok(grpcServer, `no gRPC SERVER span in the trace of ${exchange.path}; it holds [${trace.map(describeSpan).join(', ')}]`);
        assert.equal(grpcServer.name, method);
        assert.equal(grpcServer.parentSpanId, client.spanId, 'the gRPC server span is the child of the client span');
      }));
    }

    if (spec.name === 'nest') {
      const route = spec.routes[0];
      test('GET /users/:id: the Nest handler span (UsersController.getUser) is below the SERVER span, above the pg span', eachRequest(route, (exchange) => {
        const handler = requireUnder(run, exchange, 'NestJS request handler span of UsersController.getUser',
          (s) => s.attributes['nestjs.controller'] === 'UsersController' && s.attributes['nestjs.callback'] === 'getUser');
        const { trace } = traceOf(run, exchange);
        const query = trace.find((s) => s.kind === CLIENT && dbSystem(s) === 'postgresql');
        assert.ok(query && isUnder(query, handler, trace), 'the pg span of the service descends from the handler span');
      }));
    }
  });
}
