// The standard OTEL_* switches, as a user sets them, seen at a real OTLP receiver.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startOtlpReceiver, type OtlpReceiver } from './helpers/otlp-receiver';
import { agentEnv, fixture, probe, spawnAgent } from './helpers/spawn-agent';

let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
});
after(() => receiver.close());

test('OTEL_SDK_DISABLED=true exports nothing, while probes and checks still work', async () => {
  const before = receiver.requests.length;
  const app = spawnAgent(fixture('app.js'), agentEnv({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }));
  try {
    const port = await app.probePort();
    const appPort = Number((await app.waitForLine('stdout', (l) => l.fixture === 'ready')).port);
    await fetch(`http://127.0.0.1:${appPort}/work`).then((r) => r.text());
    const line = await app.waitForLine('stdout', (l) => l.msg === 'did some work');
    assert.equal(line.trace_id, undefined, 'no tracing, so no ids');
    const { body } = await probe(port, '/health');
    assert.ok(body.checks.custom);
  } finally {
    app.kill();
    await app.exited;
  }
  assert.equal(receiver.requests.length, before, 'not one export request');
});

test('OTEL_TRACES_SAMPLER=always_off and OTEL_LOGS_EXPORTER=none: metrics only', async () => {
  const job = spawnAgent(fixture('short-job.js'), agentEnv({ OTEL_TRACES_SAMPLER: 'always_off', OTEL_LOGS_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'sampled-off' }));
  assert.equal((await job.exited).code, 0);
  const paths = new Set(receiver.requests.slice(-10).map((r) => r.path));
  assert.ok(paths.has('/v1/metrics'), [...paths].join(','));
  assert.ok(!receiver.spans.some((s) => s.resource['service.name'] === 'sampled-off'));
  assert.ok(!receiver.logs.some((l) => l.resource['service.name'] === 'sampled-off'));
});

test('OTEL_{TRACES,METRICS,LOGS}_EXPORTER=none silences that signal only; otlp,console both exports and prints', async () => {
  const kinds = { traces: 'spans', metrics: 'metrics', logs: 'logs' } as const;
  const jobs = (['traces', 'metrics', 'logs'] as const).map((signal) => ({
    signal,
    job: spawnAgent(fixture('short-job.js'), agentEnv({ [`OTEL_${signal.toUpperCase()}_EXPORTER`]: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: `no-${signal}` })),
  }));
  const both = spawnAgent(fixture('short-job.js'), agentEnv({ OTEL_TRACES_EXPORTER: 'otlp,console', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'otlp-and-console' }));
  for (const { job } of jobs) assert.equal((await job.exited).code, 0);
  assert.equal((await both.exited).code, 0);
  for (const { signal } of jobs) {
    for (const [other, kind] of Object.entries(kinds)) {
      const got = (receiver[kind] as { resource: Record<string, unknown> }[]).filter((x) => x.resource['service.name'] === `no-${signal}`).length;
      if (other === signal) assert.equal(got, 0, `${signal}=none: no ${kind}`);
      else assert.ok(got > 0, `${signal}=none: ${kind} still exported`);
    }
  }
  assert.ok(receiver.spans.some((s) => s.resource['service.name'] === 'otlp-and-console'), 'exported');
  assert.match(both.text(), /traceId/, 'and printed');
});

test('OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT and OTEL_ATTRIBUTE_COUNT_LIMIT hold for spans and log records', async () => {
  const job = spawnAgent(fixture('short-job.js'), agentEnv({ OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '4', OTEL_ATTRIBUTE_COUNT_LIMIT: '3', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'limited' }));
  assert.equal((await job.exited).code, 0);
  const spans = receiver.spans.filter((s) => s.resource['service.name'] === 'limited');
  const logs = receiver.logs.filter((l) => l.resource['service.name'] === 'limited');
  assert.ok(spans.length > 0 && logs.length > 0, `${spans.length} spans, ${logs.length} log records`);
  for (const item of [...spans, ...logs]) {
    const values = Object.values(item.attributes);
    assert.ok(values.length <= 3, JSON.stringify(item.attributes));
    for (const value of values) if (typeof value === 'string') assert.ok(value.length <= 4, JSON.stringify(item.attributes));
  }
  assert.ok(spans.some((s) => Object.values(s.attributes).includes('127.')), 'a long value was cut, not dropped');
  assert.ok(logs.some((l) => Object.keys(l.attributes).length === 3), 'log records keep up to the limit');
});

test('per-signal endpoints and the http/json protocol for one signal only', async () => {
  const job = spawnAgent(fixture('short-job.js'), agentEnv({
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
    OTEL_SERVICE_NAME: 'per-signal',
  }));
  assert.equal((await job.exited).code, 0);
  const spans = receiver.spans.filter((s) => s.resource['service.name'] === 'per-signal');
  assert.ok(spans.length >= 2);
  assert.ok(receiver.requests.some((r) => r.path === '/v1/traces' && r.encoding === 'json'));
  assert.ok(job.stderr.some((l) => l.code === 'VIGIL_ERR_EXPORT' && l.signal === 'metrics'), 'metrics went to the other (dead) endpoint');
});

for (const preload of ['--import', '--require'] as const) {
  test(`an ES module application under ${preload}: node:http and the packages it imports are traced`, async () => {
    const service = `esm-app${preload}`;
    const app = spawnAgent(fixture('esm-app.mjs'), agentEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: service }), [], preload);
    assert.equal((await app.exited).code, 0, app.text());
    assert.ok(app.stdout.some((l) => l.fixture === 'done'));
    // One agent: not a second one in the thread of the loader hooks, where Node runs preloads again.
    assert.equal(app.stderr.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('listening')).length, 1, app.text());
    const spans = receiver.spans.filter((s) => s.resource['service.name'] === service);
    const server = spans.find((s) => s.kind === 2 && s.attributes['url.path'] === '/esm');
    assert.ok(server, `a server span; got ${spans.map((s) => s.name).join(', ')}`);
    assert.ok(spans.some((s) => s.parentSpanId === server.spanId && /^pg/.test(s.name)), 'the pg query is its child');
    assert.ok(spans.some((s) => s.parentSpanId === server.spanId && s.name === 'get' && (s.attributes['db.system'] ?? s.attributes['db.system.name']) === 'redis'), `the ioredis GET is its child; got ${spans.map((s) => s.name).join(', ')}`);
  });
}

test('an export timeout longer than a timer can hold prints no Node warning on the host stderr', async () => {
  const job = spawnAgent(fixture('short-job.js'), agentEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_EXPORTER_OTLP_TIMEOUT: String(2 ** 31) }));
  assert.equal((await job.exited).code, 0, job.text());
  assert.doesNotMatch(job.text(), /TimeoutOverflowWarning/);
});

test('a sampler setting gives one line at most: vigil\'s, never OpenTelemetry\'s second opinion', async () => {
  const run = async (value: string) => {
    const job = spawnAgent(fixture('short-job.js'), agentEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_TRACES_SAMPLER: value }));
    assert.equal((await job.exited).code, 0, job.text());
    return job.stderr.filter((l) => /OTEL_TRACES_SAMPLER/.test(String(l.msg)));
  };
  const [accepted, bad] = await Promise.all([run('ALWAYS_ON'), run('bogus')]);
  assert.deepEqual(accepted, [], 'ALWAYS_ON is accepted (any case), so nothing is said');
  assert.deepEqual(bad.map((l) => l.code), ['VIGIL_ERR_CONFIG_VALUE']);
});

test('start({ env }) takes every OpenTelemetry setting from that env, none from process.env', async () => {
  const chosen = await startOtlpReceiver();
  try {
    const script = `require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))}).start({ env: {
      VIGIL_PORT: '0', VIGIL_HOST: '127.0.0.1', OTEL_METRIC_EXPORT_INTERVAL: '300',
      OTEL_EXPORTER_OTLP_ENDPOINT: ${JSON.stringify(chosen.url)},
      OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-tenant=from-option',
      OTEL_SERVICE_NAME: 'from-option',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=option%20env',
    } }); setTimeout(() => process.exit(0), 5000);`;
    const file = join(mkdtempSync(join(tmpdir(), 'vigil-start-env-')), 'start-env.js');
    writeFileSync(file, script);
    const app = spawnAgent(file, agentEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=from-process',
      OTEL_SERVICE_NAME: 'from-process',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=process',
    }), [], 'none');
    const before = receiver.requests.length;
    try {
      const metric = await chosen.waitFor((r) => r.metrics[0]);
      assert.equal(metric.resource['service.name'], 'from-option');
      assert.equal(metric.resource['deployment.environment.name'], 'option env');
      assert.equal(chosen.requests[0].headers['x-tenant'], 'from-option');
    } finally {
      app.kill();
      await app.exited;
    }
    assert.equal(receiver.requests.length, before, 'nothing went to the endpoint of process.env');
  } finally {
    await chosen.close();
  }
});

test('a bad OTLP header, resource attribute or dependency URL gives one line naming the variable, no secret', async () => {
  const app = spawnAgent(fixture('short-job.js'), agentEnv({
    OTEL_EXPORTER_OTLP_HEADERS: 'api-key=S3cr3tValue,broken',
    OTEL_RESOURCE_ATTRIBUTES: 'team=%zz',
    VIGIL_POSTGRES_URL: 'postgres://app:pa#ss/word@127.0.0.1:5432/test',
    OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none',
  }));
  await app.exited;
  const problems = app.stderr.filter((l) => l.code === 'VIGIL_ERR_CONFIG_VALUE');
  assert.deepEqual(problems.map((l) => l.variable).sort(), ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_RESOURCE_ATTRIBUTES', 'VIGIL_POSTGRES_URL']);
  const text = JSON.stringify(app.stderr);
  for (const secret of ['S3cr3tValue', 'pa#ss', 'ss/word']) assert.ok(!text.includes(secret), `${secret} is not shown: ${text}`);
  assert.match(String(problems.find((l) => l.variable === 'VIGIL_POSTGRES_URL')!.msg), /postgres:\/\/\S*@127\.0\.0\.1:5432\/test/);
  assert.ok(!app.stderr.some((l) => l.check === 'postgres'), 'no check is made of a URL that does not parse');
});
