// The whole path, end to end: the preload in a real process, real PostgreSQL, and a real OTLP
// receiver decoding the bytes the agent sends.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './helpers/otlp-receiver';
import { agentEnv, eventually, fixture, probe, spawnAgent, type AgentProcess } from './helpers/spawn-agent';

const SECRET = 'SuperSecretPw123';
/** The version of the SDK in the bundle: the repository's @opentelemetry/core. */
const SDK_VERSION = (JSON.parse(readFileSync(join(__dirname, '..', 'node_modules', '@opentelemetry', 'core', 'package.json'), 'utf8')) as { version: string }).version;
const TOKEN = 'HttpCheckToken987';

for (const protocol of ['http/protobuf', 'http/json'] as const) {
  describe(`agent end to end over ${protocol}`, () => {
    let receiver: OtlpReceiver;
    let app: AgentProcess;
    let probePort: number;
    let appPort: number;
    let dependency: Server;

    before(async () => {
      receiver = await startOtlpReceiver();
      dependency = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
      await once(dependency, 'listening');
      app = spawnAgent(fixture('app.js'), agentEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_SERVICE_NAME: 'fixture-service',
        VIGIL_POSTGRES_URL: `postgres://postgres:${SECRET}@127.0.0.1:5432/test`,
        VIGIL_REDIS_URL: 'redis://127.0.0.1:6379',
        VIGIL_HTTP_CHECKS: `billing=http://127.0.0.1:${(dependency.address() as AddressInfo).port}/health?client_secret=${TOKEN}`,
        VIGIL_CHECK_INTERVAL_MS: '300',
        // Generous: a first connection on a loaded machine must not fail the check under test.
        VIGIL_CHECK_TIMEOUT_MS: '3000',
      }));
      probePort = await app.probePort();
      appPort = Number((await app.waitForLine('stdout', (l) => l.fixture === 'ready')).port);
    });

    after(async () => {
      app.kill();
      await app.exited;
      await receiver.close();
      dependency.close();
    });

    test('each check run is a root span with the driver client span as its child', async () => {
      const checkSpan = await receiver.waitFor((r) => r.spans.find((s) => s.name === 'health.check postgres' && r.spans.some((c) => c.parentSpanId === s.spanId)));
      assert.equal(checkSpan.parentSpanId, '');
      assert.equal(checkSpan.attributes['health.check.name'], 'postgres');
      assert.equal(checkSpan.attributes['health.check.status'], 'pass');
      const child = receiver.spans.find((s) => s.parentSpanId === checkSpan.spanId)!;
      assert.equal(child.traceId, checkSpan.traceId);
      assert.equal(child.kind, 3, 'the pg span is a CLIENT span');
      assert.equal(child.attributes['db.system'] ?? child.attributes['db.system.name'], 'postgresql');
      assert.equal(checkSpan.resource['service.name'], 'fixture-service');
      assert.equal(checkSpan.resource['telemetry.distro.name'], 'vigil-agent');
      assert.equal(checkSpan.resource['telemetry.sdk.name'], 'opentelemetry');
      assert.equal(checkSpan.resource['telemetry.sdk.language'], 'nodejs');
      assert.equal(checkSpan.resource['telemetry.sdk.version'], SDK_VERSION, 'the bundled SDK\'s version');
      assert.ok(receiver.requests.every((r) => r.encoding === (protocol === 'http/json' ? 'json' : 'protobuf')));
    });

    test('redis and http checks have the client spans of their own I/O as children', async () => {
      for (const [check, clientName] of [['redis', /ping/i], ['billing', /^GET/]] as const) {
        const child = await receiver.waitFor((r) => r.spans.find((c) => clientName.test(c.name) && r.spans.some((s) => s.name === `health.check ${check}` && s.spanId === c.parentSpanId)));
        assert.equal(child.kind, 3, `${check}: a CLIENT span`);
      }
    });

    test('a failing check run is a span with status ERROR and a reason', async () => {
      await fetch(`http://127.0.0.1:${appPort}/break`).then((r) => r.text());
      const failed = await receiver.waitFor((r) => r.spans.find((s) => s.name === 'health.check custom' && s.status.code === 2));
      assert.equal(failed.attributes['health.check.status'], 'fail');
      assert.match(failed.status.message, /custom dependency is down/);
      const line = await app.waitForLine('stderr', (l) => l.check === 'custom' && l.to === 'fail');
      assert.equal(line.name, 'vigil');
      assert.equal(line.from, 'pass');
      assert.match(String(line.reason), /custom dependency is down/);
      assert.ok(receiver.spans.some((s) => s.traceId === line.trace_id && s.spanId === line.span_id), 'the log line names the failing run');
      const ready = await probe(probePort, '/health/ready');
      assert.equal(ready.status, 503);
      assert.equal((await probe(probePort, '/health/live')).status, 200, 'a dependency failure never fails liveness');
    });

    test('the application is traced and its pino logs carry trace ids, on stdout and over OTLP', async () => {
      await fetch(`http://127.0.0.1:${appPort}/work`).then((r) => r.text());
      const server = await receiver.waitFor((r) => r.spans.find((s) => s.kind === 2 && s.attributes['url.path'] === '/work' || s.attributes['http.target'] === '/work'));
      const query = await receiver.waitFor((r) => r.spans.find((s) => s.parentSpanId === server.spanId && s.kind === 3));
      assert.equal(query.traceId, server.traceId);
      const appLine = await app.waitForLine('stdout', (l) => l.msg === 'did some work');
      assert.equal(appLine.trace_id, server.traceId);
      assert.match(String(appLine.span_id), /^[0-9a-f]{16}$/);
      const record = await receiver.waitFor((r) => r.logs.find((l) => l.body === 'did some work'));
      assert.equal(record.traceId, server.traceId);
    });

    test('health, runtime and resource metrics arrive under the semantic-convention names', async () => {
      const names = ['health.check.status', 'health.check.duration', 'health.status', 'nodejs.eventloop.delay.p99', 'v8js.memory.heap.used', 'process.memory.usage', 'system.cpu.utilization'];
      await receiver.waitFor((r) => names.every((n) => r.metrics.some((m) => m.name === n)));
      const status = receiver.metrics.filter((m) => m.name === 'health.check.status').at(-1)!;
      assert.equal(status.type, 'gauge');
      const postgres = status.dataPoints.filter((p) => p.attributes['health.check.name'] === 'postgres');
      assert.deepEqual(postgres.map((p) => p.attributes['health.check.state']).sort(), ['fail', 'pass', 'warn']);
      assert.equal(postgres.reduce((sum, p) => sum + (p.value ?? 0), 0), 1, 'exactly one state is current');
      assert.equal(postgres.find((p) => p.attributes['health.check.state'] === 'pass')!.value, 1);
      const duration = await receiver.waitFor((r) => r.metrics.find((m) => m.name === 'health.check.duration' && m.dataPoints.some((p) => p.attributes['health.check.name'] === 'postgres' && (p.count ?? 0) > 0)));
      assert.equal(duration.type, 'histogram');
      assert.equal(duration.unit, 's');
    });

    test('probes answer with the health+json report, GET and HEAD, 404 and 405', async () => {
      const health = await probe(probePort, '/health');
      assert.equal(health.headers.get('content-type'), 'application/health+json');
      assert.equal(health.headers.get('cache-control'), 'no-store');
      assert.equal(health.body.serviceId, 'fixture-service');
      assert.ok(['pass', 'warn', 'fail'].includes(health.body.status));
      const postgres = health.body.checks.postgres[0];
      assert.equal(postgres.status, 'pass');
      assert.equal(postgres.observedUnit, 'ms');
      assert.equal(typeof postgres.observedValue, 'number');
      assert.ok(Date.parse(postgres.time) > 0);
      assert.equal(health.body.checks.custom[0].observedValue === 42 || health.body.checks.custom[0].status === 'fail', true);
      const head = await probe(probePort, '/health/live', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.body, undefined);
      assert.equal((await probe(probePort, '/health/ready?verbose=1')).status, 503, 'query strings are ignored for routing');
      assert.equal((await probe(probePort, '/nope')).status, 404);
      const post = await probe(probePort, '/health', { method: 'POST' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get('allow'), 'GET, HEAD');
    });

    test('the password in VIGIL_POSTGRES_URL and the token of an HTTP check appear in no output of any kind', async () => {
      await receiver.waitFor((r) => r.spans.length > 0 && r.logs.length > 0 && r.metrics.length > 0);
      const health = await probe(probePort, '/health');
      const everything = [app.text(), JSON.stringify(health.body), JSON.stringify(receiver.spans), JSON.stringify(receiver.logs), JSON.stringify(receiver.metrics)].join('\n');
      assert.ok(!everything.includes(SECRET), 'the password leaked');
      assert.ok(!everything.includes(TOKEN), 'the token of the HTTP check URL leaked');
      assert.ok(receiver.spans.some((s) => String(s.attributes['url.full'] ?? '').includes('client_secret=REDACTED')), 'url.full is exported, masked');
    });
  });
}

test('spans are linked across the check and its client span ids (sanity of the receiver data)', async () => {
  const receiver = await startOtlpReceiver();
  try {
    const app = spawnAgent(fixture('short-job.js'), agentEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }));
    await app.exited;
    const spans: ReceivedSpan[] = await receiver.waitFor((r) => r.spans.length >= 2 && r.spans);
    const server = spans.find((s) => s.kind === 2)!;
    const client = spans.find((s) => s.kind === 3)!;
    assert.equal(server.parentSpanId, client.spanId, 'context propagates over HTTP');
  } finally {
    await receiver.close();
  }
});

void eventually;
