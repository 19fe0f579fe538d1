// Redaction at the root: one pass over everything that leaves the process (spans from every
// instrumentation, log records, metric data points, the agent's own lines, probe bodies), which
// knows the secrets the agent was given or found (passwords in URLs, OTLP header values, the
// application's own pool and client passwords) as well as the shape rules.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { JsonLogsSerializer, JsonMetricsSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { createHttpCheck } from '../../src/checks/http';
import { redactExport, RedactingExporter } from '../../src/telemetry/redacting-exporter';
import { addKnownSecret } from '../../src/util/redact';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver';
import { runOnce } from '../helpers/run-check';
import { agentEnv, eventually, fixture, probe, spawnAgent, type AgentProcess } from '../helpers/spawn-agent';

// ---------------------------------------------------------------------------------------------
// The redaction step itself, on real SDK items.

const decoder = new TextDecoder();

describe('redactExport', () => {
  test('spans: name, attributes, status message, events and links are masked; a clean span is passed as it is', () => {
    addKnownSecret('SpanSecret42');
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('test');
    const clean = tracer.startSpan('GET /users/:id', { attributes: { 'http.request.method': 'GET', 'url.full': 'http://127.0.0.1:3000/users/7?page=2', 'http.response.status_code': 200, 'user_agent.original': 'curl/8.5.0' } });
    clean.end();
    const dirty = tracer.startSpan('connect SpanSecret42', {
      attributes: { 'db.connection_string': 'postgres://u:SpanSecret42@db/x', list: ['fine', 'has SpanSecret42'], count: 3 },
      links: [{ context: clean.spanContext(), attributes: { reason: 'url http://a:linkpw@h/' } }],
    });
    dirty.addEvent('exception', { 'exception.message': 'password "SpanSecret42" rejected', 'exception.type': 'Error' });
    dirty.addEvent('retry SpanSecret42');
    dirty.setStatus({ code: SpanStatusCode.ERROR, message: 'password "SpanSecret42" rejected' });
    dirty.end();
    const [a, b] = exporter.getFinishedSpans();

    const out = redactExport([a, b]);
    assert.equal(out[0], a, 'nothing to mask: the very same span, no copy');
    assert.notEqual(out[1], b);
    const wire = decoder.decode(JsonTraceSerializer.serializeRequest(out)!);
    assert.equal(wire.includes('SpanSecret42'), false);
    assert.equal(wire.includes('linkpw'), false);
    assert.equal(out[1].name, 'connect ***');
    assert.equal(out[1].status.message, 'password "***" rejected');
    assert.equal(out[1].status.code, SpanStatusCode.ERROR);
    assert.deepEqual(out[1].attributes.list, ['fine', 'has ***']);
    assert.equal(out[1].attributes.count, 3);
    assert.equal(out[1].events[0].attributes!['exception.message'], 'password "***" rejected');
    assert.equal(out[1].events[0].attributes!['exception.type'], 'Error');
    assert.equal(out[1].events[1].name, 'retry ***');
    assert.equal(out[1].links[0].attributes!.reason, 'url http://a:***@h/');
    assert.equal(out[1].spanContext().spanId, b.spanContext().spanId);
    assert.equal(out[1].parentSpanContext, b.parentSpanContext);
    assert.deepEqual(out[1].duration, b.duration);
    assert.equal(out[1].resource, b.resource);
    // The SDK's own span, which other processors may hold, is left as it was.
    assert.equal(b.status.message, 'password "SpanSecret42" rejected');
  });

  test('log records: body (also nested) and attributes are masked; a clean record is passed as it is', () => {
    addKnownSecret('LogSecret77');
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
    const logger = provider.getLogger('test');
    logger.emit({ body: 'request served', attributes: { 'http.route': '/users', n: 1 } });
    logger.emit({ body: { msg: 'connect failed LogSecret77', nested: { deep: ['LogSecret77', 2] } }, attributes: { err: 'postgres://u:LogSecret77@h/db', ok: true } });
    const [clean, dirty] = exporter.getFinishedLogRecords();

    const out = redactExport([clean, dirty]);
    assert.equal(out[0], clean);
    assert.notEqual(out[1], dirty);
    const wire = decoder.decode(JsonLogsSerializer.serializeRequest(out)!);
    assert.equal(wire.includes('LogSecret77'), false);
    assert.deepEqual(out[1].body, { msg: 'connect failed ***', nested: { deep: ['***', 2] } });
    assert.deepEqual(out[1].attributes, { err: 'postgres://u:***@h/db', ok: true });
    assert.equal(out[1].hrTime, dirty.hrTime);
    assert.equal(out[1].severityNumber, dirty.severityNumber);
  });

  test('metric data points: attributes are masked; unchanged metrics are not copied', async () => {
    addKnownSecret('MetricSecret55');
    class Reader extends MetricReader {
      protected override onShutdown = () => Promise.resolve();
      protected override onForceFlush = () => Promise.resolve();
    }
    const reader = new Reader();
    const provider = new MeterProvider({ readers: [reader] });
    const meter = provider.getMeter('test');
    meter.createCounter('clean').add(1, { route: '/health' });
    const dirty = meter.createCounter('dirty');
    dirty.add(1, { target: 'redis://:MetricSecret55@h:6379' });
    dirty.add(2, { target: 'redis://h:6379' });
    const { resourceMetrics } = await reader.collect();

    const out = redactExport(resourceMetrics);
    assert.notEqual(out, resourceMetrics);
    const wire = decoder.decode(JsonMetricsSerializer.serializeRequest(out)!);
    assert.equal(wire.includes('MetricSecret55'), false);
    const metrics = out.scopeMetrics[0].metrics;
    const before = resourceMetrics.scopeMetrics[0].metrics;
    assert.equal(metrics.find((m) => m.descriptor.name === 'clean'), before.find((m) => m.descriptor.name === 'clean'));
    const points = metrics.find((m) => m.descriptor.name === 'dirty')!.dataPoints.map((p) => p.attributes.target).sort();
    assert.deepEqual(points, ['redis://:***@h:6379', 'redis://h:6379']);
    await provider.shutdown();
  });

  test('RedactingExporter (console) hands the inner exporter redacted copies, and forwards the rest', async () => {
    addKnownSecret('ConsoleSecret31');
    const exporter = new InMemorySpanExporter();
    const seen: string[] = [];
    const wrapped = new RedactingExporter({
      export: (spans: ReturnType<InMemorySpanExporter['getFinishedSpans']>, done: (r: { code: number }) => void) => {
        seen.push(...spans.map((s) => String(s.attributes.query)));
        done({ code: 0 });
      },
      shutdown: () => Promise.resolve(),
      selectAggregationTemporality: () => 0,
    });
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    provider.getTracer('t').startSpan('q', { attributes: { query: 'ConsoleSecret31' } }).end();
    let code = -1;
    wrapped.export(exporter.getFinishedSpans(), (result) => (code = result.code));
    assert.equal(code, 0);
    assert.deepEqual(seen, ['***']);
    assert.equal(wrapped.selectAggregationTemporality?.(0 as never), 0);
    assert.equal(new RedactingExporter({ export: () => undefined, shutdown: () => Promise.resolve() }).selectAggregationTemporality, undefined);
  });

  // Last of the in-process tests: it remembers "pass" as a secret for the rest of this process.
  test("the agent's own closed-vocabulary attributes are kept as they are, even when a password reads the same", () => {
    addKnownSecret('pass');
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    provider.getTracer('t').startSpan('health.check pass', { attributes: { 'health.check.name': 'pass', 'health.check.status': 'pass', 'other': 'pass' } }).end();
    const [span] = redactExport(exporter.getFinishedSpans());
    assert.equal(span.name, 'health.check ***');
    assert.deepEqual(span.attributes, { 'health.check.name': 'pass', 'health.check.status': 'pass', other: '***' });
  });
});

// ---------------------------------------------------------------------------------------------
// Servers that echo secrets, and a tap on what the agent exports.

interface FakeServer {
  port: number;
  /** Every secret the server was sent (and echoed back). */
  received: string[];
  close(): Promise<void>;
}

function listenTcp(server: TcpServer, sockets: Set<Socket>): Promise<number> {
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function closeTcp(server: TcpServer, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Just enough of the PostgreSQL protocol: reads the startup packet, asks for a cleartext
 * password, and answers the password with an ErrorResponse (S/V/C/M) that quotes it, the way a
 * careless proxy or extension would.
 */
async function startEchoingPostgres(): Promise<FakeServer> {
  const received: string[] = [];
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    let buffer = Buffer.alloc(0);
    let user = '';
    let started = false;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!started) {
          if (buffer.length < 8 || buffer.length < buffer.readInt32BE(0)) return;
          const length = buffer.readInt32BE(0);
          if (buffer.readInt32BE(4) === 80877103) {
            socket.write('N'); // SSLRequest: no TLS here.
          } else {
            const fields = buffer.subarray(8, length - 1).toString('utf8').split('\0');
            user = fields[fields.indexOf('user') + 1] ?? '';
            started = true;
            socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
          }
          buffer = buffer.subarray(length);
          continue;
        }
        if (buffer.length < 5 || buffer.length < 1 + buffer.readInt32BE(1)) return;
        const length = buffer.readInt32BE(1);
        if (buffer[0] === 0x70) {
          const password = buffer.subarray(5, 1 + length - 1).toString('utf8');
          received.push(password);
          socket.end(errorResponse(`password authentication failed for user "${user}" (got "${password}")`));
        }
        buffer = buffer.subarray(1 + length);
      }
    });
  });
  const port = await listenTcp(server, sockets);
  return { port, received, close: () => closeTcp(server, sockets) };
}

function errorResponse(message: string): Buffer {
  const fields = Buffer.concat([
    ...[['S', 'FATAL'], ['V', 'FATAL'], ['C', '28P01'], ['M', message]].map(([code, value]) => Buffer.from(`${code}${value}\0`, 'utf8')),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

/** Just enough of RESP: AUTH, INFO and PING succeed; any other command fails with an error that quotes the password. */
async function startEchoingRedis(): Promise<FakeServer> {
  const received: string[] = [];
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    let buffer = '';
    let password = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (;;) {
        const parsed = parseResp(buffer);
        if (!parsed) return;
        buffer = buffer.slice(parsed.used);
        const [command = '', ...args] = parsed.args;
        switch (command.toLowerCase()) {
          case 'auth':
            password = args[args.length - 1] ?? '';
            received.push(password);
            socket.write('+OK\r\n');
            break;
          case 'info': {
            const info = '# Server\r\nredis_version:7.0.0\r\nloading:0\r\n';
            socket.write(`$${Buffer.byteLength(info)}\r\n${info}\r\n`);
            break;
          }
          case 'ping':
            socket.write('+PONG\r\n');
            break;
          default:
            socket.write(`-ERR refused for password ${password}\r\n`);
        }
      }
    });
  });
  const port = await listenTcp(server, sockets);
  return { port, received, close: () => closeTcp(server, sockets) };
}

function parseResp(text: string): { args: string[]; used: number } | undefined {
  if (!text.startsWith('*')) return undefined;
  let at = text.indexOf('\r\n');
  if (at < 0) return undefined;
  const count = Number(text.slice(1, at));
  at += 2;
  const args: string[] = [];
  for (let i = 0; i < count; i++) {
    const end = text.indexOf('\r\n', at);
    if (end < 0) return undefined;
    const length = Number(text.slice(at + 1, end));
    if (text.length < end + 2 + length + 2) return undefined;
    args.push(text.slice(end + 2, end + 2 + length));
    at = end + 2 + length + 2;
  }
  return { args, used: at };
}

/** An OTLP endpoint that keeps the raw bytes of every export and hands them on to the decoding receiver. */
async function startTap(receiver: OtlpReceiver): Promise<{ url: string; raw(): Buffer; close(): Promise<void> }> {
  const bodies: Buffer[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    bodies.push(body);
    const reply = await fetch(`${receiver.url}${req.url}`, { method: 'POST', headers: { 'content-type': String(req.headers['content-type']) }, body });
    res.writeHead(reply.status, { 'content-type': reply.headers.get('content-type') ?? 'text/plain' }).end(Buffer.from(await reply.arrayBuffer()));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    raw: () => Buffer.concat(bodies),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The secret is in none of: the exported bytes, the decoded telemetry, stderr / stdout, the probe bodies. */
async function assertNowhere(secrets: string[], where: { app: AgentProcess; receiver?: OtlpReceiver; raw?: Buffer; probePort?: number }): Promise<void> {
  const bodies = where.probePort === undefined ? [] : await Promise.all(['/health', '/health/ready'].map(async (path) => JSON.stringify((await probe(where.probePort!, path)).body)));
  const decoded = where.receiver ? JSON.stringify([where.receiver.spans, where.receiver.logs, where.receiver.metrics]) : '';
  for (const secret of secrets) {
    assert.equal(where.raw?.includes(secret) ?? false, false, `"${secret}" in the exported bytes`);
    assert.equal(decoded.includes(secret), false, `"${secret}" in the decoded telemetry`);
    assert.equal(where.app.text().includes(secret), false, `"${secret}" in the process output:\n${where.app.text()}`);
    for (const body of bodies) assert.equal(body.includes(secret), false, `"${secret}" in a probe body: ${body}`);
  }
}

const FAST = { VIGIL_CHECK_INTERVAL_MS: '300', VIGIL_CHECK_TIMEOUT_MS: '2000', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };

// ---------------------------------------------------------------------------------------------
// (a) instrumentation-pg puts the server's error, password and all, into the span status.

test('a PostgreSQL error that echoes the password: the pg.connect span, the check span, logs and probes are masked', async (t) => {
  const PASSWORD = 'PgEch0Secret9';
  const postgres = await startEchoingPostgres();
  const receiver = await startOtlpReceiver();
  const tap = await startTap(receiver);
  const app = spawnAgent(fixture('health-app.js'), agentEnv({
    ...FAST,
    OTEL_EXPORTER_OTLP_ENDPOINT: tap.url,
    VIGIL_POSTGRES_URL: `postgres://vigil:${PASSWORD}@127.0.0.1:${postgres.port}/orders`,
  }));
  t.after(async () => {
    app.kill();
    await app.exited;
    await Promise.all([tap.close(), receiver.close(), postgres.close()]);
  });
  const probePort = await app.probePort();
  const connect = await receiver.waitFor((r) => r.spans.find((s) => s.name === 'pg.connect' && s.status.code === 2), 15_000);
  assert.deepEqual(postgres.received.slice(0, 1), [PASSWORD], 'the server was sent the password and echoed it');
  assert.match(connect.status.message, /password authentication failed for user "vigil" \(got "\*\*\*"\)/);
  await receiver.waitFor((r) => r.spans.find((s) => s.name === 'health.check postgres' && s.status.code === 2));
  await app.waitForLine('stderr', (l) => l.check === 'postgres' && l.to === 'fail');
  await receiver.waitFor((r) => r.logs.find((l) => String(l.body).includes('check postgres is failing')));
  await assertNowhere([PASSWORD], { app, receiver, raw: tap.raw(), probePort });
});

test('the console exporters print the same redacted telemetry', async (t) => {
  const PASSWORD = 'C0nsoleEch0Pw';
  const postgres = await startEchoingPostgres();
  const app = spawnAgent(fixture('health-app.js'), agentEnv({
    ...FAST,
    OTEL_TRACES_EXPORTER: 'console',
    OTEL_METRICS_EXPORTER: 'console',
    OTEL_LOGS_EXPORTER: 'console',
    VIGIL_POSTGRES_URL: `postgres://vigil:${PASSWORD}@127.0.0.1:${postgres.port}/orders`,
  }));
  t.after(async () => {
    app.kill();
    await app.exited;
    await postgres.close();
  });
  await eventually(() => /pg\.connect/.test(app.text()) && /password authentication failed for user "vigil" \(got "\*\*\*"\)/.test(app.text()), 15_000, 'the pg.connect span printed');
  await eventually(() => app.text().includes('check postgres is failing'), 15_000, 'the log record printed');
  assert.ok(postgres.received.includes(PASSWORD));
  await assertNowhere([PASSWORD], { app });
});

// ---------------------------------------------------------------------------------------------
// (b) and (c): OTLP header values (of every length) are secrets; a collector's 401 may echo them.

test("a collector's 401 that echoes the OTLP header values: VIGIL_ERR_EXPORT masks them, short ones included", async (t) => {
  const received: string[] = [];
  const collector: Server = createServer((req: IncomingMessage, res) => {
    req.resume();
    const keys = ['x-api-key', 'x-trace-key', 'x-log-key'].map((name) => String(req.headers[name] ?? '')).filter(Boolean);
    received.push(...keys);
    res.writeHead(401, { 'content-type': 'text/plain' }).end(`unauthorized: ${keys.join(' and ')} rejected`);
  });
  collector.listen(0, '127.0.0.1');
  await once(collector, 'listening');
  const app = spawnAgent(fixture('health-app.js'), agentEnv({
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
    OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=Sup3rS3cretKey',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-trace-key=Tr%40ceKey99',
    OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'x-log-key=k9z',
  }));
  t.after(async () => {
    app.kill();
    await app.exited;
    collector.closeAllConnections();
    collector.close();
  });
  const lines = await eventually(() => {
    const failed = app.stderr.filter((l) => l.code === 'VIGIL_ERR_EXPORT');
    return ['traces', 'metrics', 'logs'].every((signal) => failed.some((l) => l.signal === signal)) && failed;
  }, 15_000, 'an export failure line for each signal');
  for (const value of ['Sup3rS3cretKey', 'Tr@ceKey99', 'k9z']) assert.ok(received.includes(value), `the collector was sent ${value}`);
  const traces = lines.find((l) => l.signal === 'traces')!;
  assert.equal(traces.err, 'HTTP 401 unauthorized: *** and *** rejected');
  assert.equal(lines.find((l) => l.signal === 'logs')!.err, 'HTTP 401 unauthorized: *** and *** rejected');
  await assertNowhere(['Sup3rS3cretKey', 'Tr@ceKey99', 'Tr%40ceKey99'], { app });
  assert.doesNotMatch(app.text(), /\bk9z\b/, 'a three-character header value is masked too');
});

// ---------------------------------------------------------------------------------------------
// (d) HTTP checks: URLs are parsed, never glued.

describe('an HTTP check whose password holds #, ?, @ or %', () => {
  const PASSWORDS = ['pa#ss', 'pa?ss', 'pa@ss', 'pa%ss'];
  let server: Server;
  let port = 0;
  before(async () => {
    const accepted = new Set(PASSWORDS.map((password) => `Basic ${Buffer.from(`user:${password}`).toString('base64')}`));
    server = createServer((req, res) => {
      res.statusCode = accepted.has(req.headers.authorization ?? '') ? 200 : 401;
      res.end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('works with the credentials as written', async () => {
    for (const password of PASSWORDS) {
      const result = await runOnce(createHttpCheck({ name: 'api', url: `http://user:${password}@127.0.0.1:${port}/health` }));
      assert.equal(result.status, 'pass', `${password}: ${JSON.stringify(result)}`);
      const failing = await runOnce(createHttpCheck({ name: 'api', url: `http://user:${password}x@127.0.0.1:${port}/health` }));
      assert.equal(failing.output, `HTTP 401 from http://user:***@127.0.0.1:${port}/health (expected 2xx)`);
    }
  });

  test('a URL that cannot be read is refused with a message that does not echo it', () => {
    assert.throws(() => createHttpCheck({ name: 'api', url: 'http://user:p/ss@127.0.0.1/health' }), (error: Error) => !error.message.includes('p/ss') && /not a valid http\(s\) URL/.test(error.message));
  });

  // The agent either runs the check with the credentials as written (url.full the real URL, its
  // credentials masked) or, when its configuration refuses the URL, says so in one redacted line;
  // either way no output holds the password, and nothing shows a URL glued to another.
  test('under the agent: the check works or is refused clearly, and no output holds the password', async (t) => {
    const receiver = await startOtlpReceiver();
    const tap = await startTap(receiver);
    const app = spawnAgent(fixture('health-app.js'), agentEnv({
      ...FAST,
      OTEL_EXPORTER_OTLP_ENDPOINT: tap.url,
      VIGIL_HTTP_CHECKS: `api=http://user:pa#ss@127.0.0.1:${port}/health,bad=http://user:pa#ss@127.0.0.1:${port}/health?token=T0kenInQuery,enc=http://user:pa%23ss@127.0.0.1:${port}/health`,
    }));
    t.after(async () => {
      app.kill();
      await app.exited;
      await Promise.all([tap.close(), receiver.close()]);
    });
    const probePort = await app.probePort();
    // Written percent-encoded, the same password is accepted everywhere.
    const encoded = await receiver.waitFor((r) => r.spans.find((s) => s.name === 'health.check enc' && r.spans.some((c) => c.parentSpanId === s.spanId)), 15_000);
    assert.equal(encoded.attributes['health.check.status'], 'pass');
    assert.match(String(receiver.spans.find((s) => s.parentSpanId === encoded.spanId)!.attributes['url.full']), new RegExp(`^http://[^@/]*@127\\.0\\.0\\.1:${port}/health$`));
    const refused = app.stderr.filter((l) => l.variable === 'VIGIL_HTTP_CHECKS');
    if (refused.length > 0) {
      assert.equal(refused.length, 2, JSON.stringify(refused));
      for (const line of refused) assert.match(String(line.msg), /^check "(api|bad)": ".*" is not an http\(s\) URL; the check is skipped$/);
      const { body } = await probe(probePort, '/health');
      assert.equal(body.checks.api, undefined);
    } else {
      const check = await receiver.waitFor((r) => r.spans.find((s) => s.name === 'health.check api' && r.spans.some((c) => c.parentSpanId === s.spanId)), 15_000);
      const client = receiver.spans.find((s) => s.parentSpanId === check.spanId)!;
      assert.match(String(client.attributes['url.full']), new RegExp(`^http://[^@/]*@127\\.0\\.0\\.1:${port}/health$`));
      assert.equal(check.attributes['health.check.status'], 'pass');
      await eventually(async () => (await probe(probePort, '/health')).body.checks.bad?.[0].status === 'pass', 15_000, 'the second check passing');
    }
    await receiver.waitFor((r) => r.logs.length > 0 && r.spans.length > 0);
    assert.equal(JSON.stringify(receiver.spans).includes('localhosthttp'), false);
    await assertNowhere(['pa#ss', 'pa%23ss', 'T0kenInQuery'], { app, receiver, raw: tap.raw(), probePort });
  });
});

// ---------------------------------------------------------------------------------------------
// (e) The application's own clients: their passwords are known from the moment they are found.

test("the application's pg pools and ioredis client: passwords echoed by their servers are masked in reasons, probes, traces and logs", async (t) => {
  const POOL_PASSWORD = 'P00lOptionPw';
  const POOL_URL_PASSWORD = 'P00l#Url@Pw';
  const REDIS_PASSWORD = 'R3disEchoPw';
  const postgres = await startEchoingPostgres();
  const redis = await startEchoingRedis();
  const receiver = await startOtlpReceiver();
  const tap = await startTap(receiver);
  const app = spawnAgent(fixture('app-secret-clients.js'), agentEnv({
    ...FAST,
    OTEL_EXPORTER_OTLP_ENDPOINT: tap.url,
    // What an anonymous caller sees holds the reasons too.
    VIGIL_DETAILS: 'always',
    FAKE_PG_PORT: String(postgres.port),
    FAKE_REDIS_PORT: String(redis.port),
    POOL_PASSWORD,
    POOL_URL_PASSWORD,
    REDIS_PASSWORD,
  }));
  t.after(async () => {
    app.kill();
    await app.exited;
    await Promise.all([tap.close(), receiver.close(), postgres.close(), redis.close()]);
  });
  const probePort = await app.probePort();
  const appPort = Number((await app.waitForLine('stdout', (l) => l.fixture === 'ready')).port);
  await fetch(`http://127.0.0.1:${appPort}/use`).then((r) => r.text());

  const checks = await eventually(async () => {
    const { body } = await probe(probePort, '/health');
    const failing = ['app-postgres', 'app-postgres-2'].every((name) => body.checks[name]?.[0].status === 'fail');
    return failing && body.checks['app-redis'] && body.checks;
  }, 15_000, 'the application pools failing, the client found');
  for (const name of ['app-postgres', 'app-postgres-2']) assert.match(checks[name][0].output, /password authentication failed for user "appuser" \(got "\*\*\*"\)/);
  assert.ok(postgres.received.includes(POOL_PASSWORD) && postgres.received.includes(POOL_URL_PASSWORD), 'both pools sent their password');
  assert.ok(redis.received.includes(REDIS_PASSWORD), 'the client sent its password');
  await app.waitForLine('stderr', (l) => l.check === 'app-postgres-2' && l.to === 'fail');
  const redisError = await receiver.waitFor((r) => r.spans.find((s) => s.name === 'get' && s.status.code === 2), 15_000);
  assert.equal(redisError.status.message, 'ERR refused for password ***');
  await receiver.waitFor((r) => r.spans.filter((s) => s.name === 'pg.connect' && s.status.code === 2).length >= 2);
  await receiver.waitFor((r) => r.logs.find((l) => String(l.body).includes('check app-postgres-2 is failing')));
  await assertNowhere([POOL_PASSWORD, POOL_URL_PASSWORD, encodeURIComponent(POOL_URL_PASSWORD), REDIS_PASSWORD], { app, receiver, raw: tap.raw(), probePort });
});
