// The application's own @opentelemetry/api reaches vigil's providers: 1.9.x and 1.10.x copies
// (its tracer, meter and, from 1.10, its logs API), and a copy vigil cannot serve is named once.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startOtlpReceiver } from '../helpers/otlp-receiver';
import { agentEnv, ROOT, spawnAgent, type AgentProcess } from '../helpers/spawn-agent';

/** The API in vigil's bundle (the repository's copy), and a minor above it that no served copy has. */
const BUNDLED = (JSON.parse(readFileSync(join(ROOT, 'node_modules', '@opentelemetry', 'api', 'package.json'), 'utf8')) as { version: string }).version;
const [MAJOR, MINOR] = BUNDLED.split('.').map(Number);
const FUTURE = `${MAJOR}.${MINOR + 1}.0`;

// In a request, with its own API: an active span with an attribute, a counter, and a log record.
const APP = `
const http = require('node:http');
const api = require('@opentelemetry/api');
const tracer = api.trace.getTracer('app-api-test');
const requests = api.metrics.getMeter('app-api-test').createCounter('app.requests');
const server = http.createServer((req, res) => {
  tracer.startActiveSpan('app.work', (span) => {
    span.setAttribute('app.step', 'work');
    requests.add(1, { route: req.url });
    if (api.logs) api.logs.getLogger('app-api-test').emit({ body: 'app log record', severityNumber: 9, severityText: 'INFO' });
    span.end();
    res.end(JSON.stringify({ traceId: span.spanContext().traceId, hasLogs: Boolean(api.logs) }));
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ fixture: 'ready', port: server.address().port, api: require.resolve('@opentelemetry/api') }) + '\\n');
});
`;

/** A folder of its own under the system's temp dir: app.js and node_modules/@opentelemetry/api copied from `source`. */
function appWithApi(t: { after(fn: () => void): void }, source: string, version?: string): { dir: string; script: string } {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'vigil-app-api-')));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const api = join(dir, 'node_modules', '@opentelemetry', 'api');
  mkdirSync(join(api, '..'), { recursive: true });
  cpSync(join(ROOT, 'node_modules', source), api, { recursive: true });
  if (version) setVersion(api, version);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app-api-test', version: '1.0.0', private: true }));
  writeFileSync(join(dir, 'app.js'), APP);
  return { dir, script: join(dir, 'app.js') };
}

/** A future API: the same code under another version, in package.json and in its VERSION constant. */
function setVersion(api: string, version: string): void {
  const pkgPath = join(api, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string };
  const old = pkg.version;
  writeFileSync(pkgPath, JSON.stringify({ ...pkg, version }, null, 2));
  const files = (readdirSync(join(api, 'dist'), { recursive: true }) as string[]).filter((f) => /\.(c|m)?js$/.test(f));
  let changed = 0;
  for (const file of files) {
    const path = join(api, 'dist', file);
    const text = readFileSync(path, 'utf8');
    // The VERSION constant of dist/version.*, and the copy of it the bundler inlined in global-utils.
    const next = text.replaceAll(`"${old}"`, `"${version}"`);
    if (next !== text) {
      writeFileSync(path, next);
      changed++;
    }
  }
  assert.ok(changed >= 2, `the version constant was found in the copy (${changed} files changed)`);
}

async function startApp(t: { after(fn: () => void | Promise<void>): void }, script: string, receiverUrl: string): Promise<{ app: AgentProcess; port: number; api: string }> {
  const app = spawnAgent(script, agentEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl, OTEL_SERVICE_NAME: 'app-api-test' }));
  t.after(async () => {
    app.kill();
    await app.exited;
  });
  const ready = await app.waitForLine('stdout', (l) => l.fixture === 'ready');
  return { app, port: Number(ready.port), api: String(ready.api) };
}

const SERVED = [
  { version: '1.9.0', source: 'otel-api-1.9', logs: false },
  { version: BUNDLED, source: '@opentelemetry/api', logs: true },
];

describe("the application's own @opentelemetry/api", () => {
  for (const { version, source, logs } of SERVED) {
    test(`${version}: its span${logs ? ', metric and log record' : ' and metric'} are exported, inside vigil's request span`, async (t) => {
      const receiver = await startOtlpReceiver();
      t.after(() => receiver.close());
      const { dir, script } = appWithApi(t, source);
      const { app, port, api } = await startApp(t, script, receiver.url);
      assert.ok(api.startsWith(join(dir, 'node_modules')), `the app loads its own copy, not the repository's: ${api}`);
      const answer = await fetch(`http://127.0.0.1:${port}/work`).then((r) => r.json()) as { traceId: string; hasLogs: boolean };
      assert.equal(answer.hasLogs, logs, `API ${version} ${logs ? 'has' : 'has no'} logs entry point`);
      assert.match(answer.traceId, /^[0-9a-f]{32}$/);
      assert.notEqual(answer.traceId, '0'.repeat(32), 'a recording span, not a no-op one');

      const span = await receiver.waitFor((r) => r.spans.find((s) => s.name === 'app.work'));
      assert.equal(span.traceId, answer.traceId);
      assert.equal(span.attributes['app.step'], 'work');
      assert.equal(span.scope.name, 'app-api-test');
      const server = receiver.spans.find((s) => s.spanId === span.parentSpanId) ?? await receiver.waitFor((r) => r.spans.find((s) => s.spanId === span.parentSpanId));
      assert.equal(server.kind, 2, "the parent is vigil's HTTP SERVER span");
      assert.equal(server.attributes['url.path'], '/work');
      assert.equal(server.traceId, span.traceId);

      const counter = await receiver.waitFor((r) => r.metrics.find((m) => m.name === 'app.requests' && m.dataPoints.some((p) => p.attributes.route === '/work' && (p.value ?? 0) >= 1)));
      assert.equal(counter.type, 'sum');
      assert.equal(counter.scope.name, 'app-api-test');
      if (logs) {
        const record = await receiver.waitFor((r) => r.logs.find((l) => l.body === 'app log record'));
        assert.equal(record.traceId, span.traceId, "the record carries the active span's trace");
        assert.equal(record.spanId, span.spanId);
        assert.equal(record.scope.name, 'app-api-test');
      }
      assert.deepEqual(app.stderr.filter((l) => l.code === 'VIGIL_ERR_OTEL_API_VERSION'), [], 'a served copy is not reported');
    });
  }

  // Needs the application-API watch (VIGIL_ERR_OTEL_API_VERSION) of the on-demand instrumentation work.
  test(`${FUTURE} (a minor above the bundled API): one line names both versions`, async (t) => {
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());
    const { dir, script } = appWithApi(t, '@opentelemetry/api', FUTURE);
    const { app, port, api } = await startApp(t, script, receiver.url);
    assert.ok(api.startsWith(join(dir, 'node_modules')), api);
    const answer = await fetch(`http://127.0.0.1:${port}/work`).then((r) => r.json()) as { traceId: string };
    assert.equal(answer.traceId, '0'.repeat(32), `API ${FUTURE} rejects the ${BUNDLED} global: a no-op span`);
    const line = await app.waitForLine('stderr', (l) => l.code === 'VIGIL_ERR_OTEL_API_VERSION', 5_000);
    const text = JSON.stringify(line);
    assert.ok(text.includes(FUTURE), `names the application's version: ${text}`);
    assert.ok(text.includes(BUNDLED), `names vigil's version: ${text}`);
    await fetch(`http://127.0.0.1:${port}/work`).then((r) => r.text());
    assert.equal(app.stderr.filter((l) => l.code === 'VIGIL_ERR_OTEL_API_VERSION').length, 1, 'said once');
  });
});
