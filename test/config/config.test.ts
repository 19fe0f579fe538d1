// Configuration: one typed table of variables, a validated file, and clear problems that name
// what is wrong while the rest goes on with defaults.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config';
import { readSettings, SETTINGS } from '../../src/config/settings';
import { agentEnv, fixture, spawnAgent } from '../helpers/spawn-agent';

const dir = mkdtempSync(join(tmpdir(), 'vigil-config-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

test('defaults: built-in checks only, port 9000, timeout well under the interval', () => {
  const { config, problems } = loadConfig({});
  assert.deepEqual(problems, []);
  assert.equal(config.port, 9000);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.intervalMs, 10_000);
  assert.equal(config.timeoutMs, 5_000);
  assert.deepEqual(config.checks.map((c) => c.name), ['event-loop', 'cpu', 'memory', 'disk', 'heap']);
  const eventLoop = config.checks.find((c) => c.name === 'event-loop')!;
  assert.deepEqual(eventLoop.options.groups, ['live', 'ready']);
  for (const name of ['cpu', 'memory', 'disk', 'heap']) {
    const check = config.checks.find((c) => c.name === name)!;
    assert.equal(check.options.critical, false, `${name} can only warn by default`);
    assert.ok(!check.options.groups.includes('live'), `${name} never decides liveness`);
  }
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.checks));
});

test('variables declare dependency checks, in readiness and startup but never liveness', () => {
  const { config, problems } = loadConfig({
    VIGIL_POSTGRES_URL: 'postgres://u:p@db/app',
    VIGIL_REDIS_URL: 'redis://cache:6379',
    VIGIL_AMQP_URL: 'amqp://mq',
    VIGIL_AMQP_QUEUE: 'jobs',
    VIGIL_HTTP_CHECKS: 'billing=http://billing/health, search=https://search/ping',
    VIGIL_TCP_CHECKS: 'smtp=mail:25,ldap=[::1]:389',
    VIGIL_CHECK_INTERVAL_MS: '2000',
  });
  assert.deepEqual(problems, []);
  const byName = Object.fromEntries(config.checks.map((c) => [c.name, c]));
  assert.equal(byName.postgres.kind, 'postgres');
  assert.equal(byName.rabbitmq.settings.queue, 'jobs');
  assert.equal(byName.billing.settings.url, 'http://billing/health');
  assert.equal(byName.search.kind, 'http');
  assert.deepEqual([byName.ldap.settings.host, byName.ldap.settings.port], ['::1', 389]);
  for (const name of ['postgres', 'redis', 'rabbitmq', 'billing', 'search', 'smtp', 'ldap']) {
    assert.deepEqual(byName[name].options.groups, ['ready', 'startup']);
    assert.equal(byName[name].options.critical, true);
  }
  assert.equal(config.timeoutMs, 1_000, 'the default timeout is half a short interval');
});

test('a malformed variable is named, and its default used', () => {
  const { values, problems } = readSettings({ VIGIL_PORT: 'ninety', VIGIL_CHECK_INTERVAL_MS: '50', VIGIL_DETAILS: 'loud', OTEL_TRACES_EXPORTER: 'otlp,zipkin', OTEL_TRACES_SAMPLER_ARG: '2' });
  assert.equal(values.VIGIL_PORT, 9000);
  assert.equal(values.VIGIL_CHECK_INTERVAL_MS, 10_000);
  assert.equal(values.VIGIL_DETAILS, 'local');
  assert.deepEqual(values.OTEL_TRACES_EXPORTER, ['otlp']);
  assert.equal(values.OTEL_TRACES_SAMPLER_ARG, 1);
  assert.deepEqual(problems.map((p) => p.variable).sort(), ['OTEL_TRACES_EXPORTER', 'OTEL_TRACES_SAMPLER_ARG', 'VIGIL_CHECK_INTERVAL_MS', 'VIGIL_DETAILS', 'VIGIL_PORT']);
  assert.match(problems.find((p) => p.variable === 'VIGIL_PORT')!.message, /VIGIL_PORT="ninety" is not an integer from 0 to 65535; using the default 9000/);
});

test('bad list entries skip that check only, without echoing the value', () => {
  const { config, problems } = loadConfig({ VIGIL_HTTP_CHECKS: 'ok=http://a/health,bad=ftp://user:pw@b/x,=http://c', VIGIL_TCP_CHECKS: 'db=nohost' });
  assert.deepEqual(config.checks.filter((c) => c.settings.kind === 'http').map((c) => c.name), ['ok']);
  assert.equal(problems.length, 3);
  assert.ok(problems.every((p) => !p.message.includes('pw@')));
  // A comma in a password splits the list: neither half is shown.
  const split = loadConfig({ VIGIL_HTTP_CHECKS: 'api=https://admin:S3cr3tPart,2ndHalf@api.internal/health' }).problems.map((p) => p.message).join('\n');
  assert.ok(!split.includes('S3cr3tPart') && !split.includes('2ndHalf'), split);
});

test('a YAML file adds checks and options; a variable that is set wins over the file', () => {
  const path = file('vigil.yaml', `
port: 9100
intervalMs: 3000
details: never
checks:
  postgres:
    critical: false
    failureThreshold: 3
    url: postgres://from-file/db
  orders-api:
    kind: http
    url: http://orders/health
    expectedStatus: [200, 204]
    groups: [ready]
  disk:
    warn: 0.5
    path: /
  heap:
    enabled: false
`);
  const { config, problems } = loadConfig({ VIGIL_CONFIG: path, VIGIL_PORT: '9200', VIGIL_POSTGRES_URL: 'postgres://from-env/db' });
  assert.deepEqual(problems, []);
  assert.equal(config.port, 9200, 'the variable wins');
  assert.equal(config.intervalMs, 3000, 'the file applies where no variable is set');
  assert.equal(config.details, 'never');
  const byName = Object.fromEntries(config.checks.map((c) => [c.name, c]));
  assert.equal(byName.postgres.settings.url, 'postgres://from-env/db');
  assert.equal(byName.postgres.options.critical, false);
  assert.equal(byName.postgres.options.failureThreshold, 3);
  assert.deepEqual(byName['orders-api'].settings.expectedStatus, [200, 204]);
  assert.deepEqual(byName['orders-api'].options.groups, ['ready']);
  assert.equal(byName.disk.settings.warn, 0.5);
  assert.equal(byName.disk.settings.fail, 0.95, 'unset thresholds keep their defaults');
  assert.equal(byName.heap, undefined, 'enabled: false removes a check');
});

test('a bad key in the file is named and dropped; the rest of the file applies', () => {
  const path = file('bad.json', JSON.stringify({ intervalMs: 4000, timeoutMS: 10, checks: { api: { kind: 'http', url: 'http://x', groups: ['ready', 'sometimes'] }, nokind: { url: 'http://y' } } }));
  const { config, problems } = loadConfig({ VIGIL_CONFIG: path });
  assert.equal(config.intervalMs, 4000);
  const messages = problems.map((p) => p.message).join('\n');
  assert.match(messages, /timeoutMS: unknown setting/);
  assert.match(messages, /checks\.api\.groups/);
  assert.match(messages, /checks\.nokind: needs a "kind"/);
  assert.ok(problems.every((p) => p.variable === 'VIGIL_CONFIG'));
  assert.deepEqual(config.checks.find((c) => c.name === 'api')!.options.groups, ['ready', 'startup'], 'the bad groups fall back to the default');
});

test('the file accepts exactly what the environment accepts: each setting is checked by its one row', () => {
  const path = file('bounds.json', JSON.stringify({ flushTimeoutMs: 3_600_000, shutdownDelayMs: 2e9, port: 70_000, details: 'loud', intervalMs: 4000 }));
  const { config, problems } = loadConfig({ VIGIL_CONFIG: path });
  assert.equal(config.flushTimeoutMs, 1_000, 'VIGIL_FLUSH_TIMEOUT_MS refuses more than 60000; so does the file');
  assert.equal(config.shutdownDelayMs, 0);
  assert.equal(config.port, 9000);
  assert.equal(config.details, 'local');
  assert.equal(config.intervalMs, 4000, 'the good key still applies');
  const messages = problems.map((p) => p.message).join('\n');
  for (const key of ['flushTimeoutMs', 'shutdownDelayMs', 'port', 'details']) assert.match(messages, new RegExp(`${key}: is not .* \\(as VIGIL_`));
  const env = loadConfig({ VIGIL_FLUSH_TIMEOUT_MS: '3600000' });
  assert.equal(env.config.flushTimeoutMs, 1_000);
});

test('key=value settings read as OpenTelemetry reads them: percent-decoded, properties after ; dropped', () => {
  const { values, problems } = readSettings({ OTEL_EXPORTER_OTLP_HEADERS: 'x-a=1%2C2;meta=x, authorization=Bearer%20t0k ', OTEL_RESOURCE_ATTRIBUTES: 'team=a' });
  assert.deepEqual(problems, []);
  assert.deepEqual(values.OTEL_EXPORTER_OTLP_HEADERS, { 'x-a': '1,2', authorization: 'Bearer t0k' });
  assert.deepEqual(values.OTEL_RESOURCE_ATTRIBUTES, { team: 'a' });
});

test('a bad variable falls back to the file before the default', () => {
  const path = file('fallback.json', JSON.stringify({ port: 9100 }));
  const { config, problems } = loadConfig({ VIGIL_CONFIG: path, VIGIL_PORT: 'ninety' });
  assert.equal(config.port, 9100);
  assert.match(problems[0].message, /VIGIL_PORT="ninety" is not an integer from 0 to 65535; using the value of .*fallback\.json/);
});

test('every row of the settings table takes its own default, and file keys are unique', () => {
  const keys = new Set<string>();
  for (const [name, row] of Object.entries(SETTINGS) as [string, { fallback: unknown; parse(raw: string): unknown; accept(value: unknown): unknown; file?: string }][]) {
    if (row.file) {
      assert.ok(!keys.has(row.file), `${name}: file key ${row.file} is used twice`);
      keys.add(row.file);
      if (row.fallback !== '' && row.fallback !== undefined) assert.deepEqual(row.accept(row.fallback), row.fallback, `${name}: the file accepts the default`);
    }
    const text = Array.isArray(row.fallback) ? row.fallback.join(',') : typeof row.fallback === 'object' ? '' : String(row.fallback ?? '');
    if (text !== '') assert.deepEqual(row.parse(text), row.fallback, `${name}: the environment accepts the default`);
  }
});

test('an unreadable file is one problem, and the defaults apply', () => {
  const { config, problems } = loadConfig({ VIGIL_CONFIG: join(dir, 'missing.yaml') });
  assert.equal(problems.length, 1);
  assert.match(problems[0].message, /cannot read .*missing\.yaml/);
  assert.equal(config.port, 9000);
});

test('durations are bounded to what a Node timer holds; a long bad value is shown cut, in one problem', () => {
  const tooLong = String(2 ** 31);
  for (const variable of ['OTEL_METRIC_EXPORT_INTERVAL', 'OTEL_METRIC_EXPORT_TIMEOUT', 'OTEL_BSP_SCHEDULE_DELAY', 'OTEL_BSP_EXPORT_TIMEOUT', 'OTEL_BLRP_SCHEDULE_DELAY', 'OTEL_BLRP_EXPORT_TIMEOUT', 'VIGIL_CHECK_INTERVAL_MS', 'VIGIL_CHECK_TIMEOUT_MS']) {
    const { values, problems } = readSettings({ [variable]: tooLong });
    assert.deepEqual(problems.map((p) => p.variable), [variable]);
    assert.ok((values as Record<string, unknown>)[variable] as number < 2 ** 31, `${variable} falls back to its default`);
    assert.equal(readSettings({ [variable]: String(2 ** 31 - 1) }).problems.length, 0, `${variable} takes the longest timer`);
  }
  const { problems } = readSettings({ OTEL_TRACES_SAMPLER: 'x'.repeat(100_000) });
  assert.equal(problems.length, 1);
  assert.ok(problems[0].message.length < 300, 'the value is not echoed whole');
  assert.match(problems[0].message, /100000 characters/);
});

test('VIGIL_CONFIG of more than a configuration file may hold is refused before it is read', () => {
  const huge = file('huge.json', `{"checks":[]${' '.repeat(2 * 1024 * 1024)}}`);
  const { config, problems } = loadConfig({ VIGIL_CONFIG: huge });
  assert.equal(problems.length, 1);
  assert.match(problems[0].message, /more than the \d+ it may have/);
  assert.equal(config.port, 9000, 'the defaults apply');
});

test('VIGIL_CONFIG naming a FIFO or a device: the program starts and runs, with one line (each in a process of its own: a read would block or fill the memory)', async (t) => {
  const fifo = join(dir, 'config.fifo');
  execFileSync('mkfifo', [fifo]);
  await Promise.all([fifo, '/dev/zero'].map(async (path) => {
    const job = spawnAgent(fixture('short-job.js'), agentEnv({ VIGIL_CONFIG: path, OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' }));
    t.after(() => job.kill());
    const line = await job.waitForLine('stderr', (l) => l.code === 'VIGIL_ERR_CONFIG_FILE');
    assert.match(String(line.msg), /not a regular file/);
    assert.equal((await job.exited).code, 0);
  }));
});

test('a YAML warning is a problem of the configuration, not a process warning', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  try {
    const path = file('warn.yaml', '%FOO bar\n---\nchecks: []\n');
    const { problems } = loadConfig({ VIGIL_CONFIG: path });
    assert.ok(problems.some((p) => p.variable === 'VIGIL_CONFIG' && /FOO/.test(p.message)), JSON.stringify(problems));
    // process.emitWarning tells its listeners on a later tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings, []);
});
