// What the preload does to the host's life: shutdown on signals, exit of short programs,
// bad settings, and staying out of processes it has no business in.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startOtlpReceiver } from './helpers/otlp-receiver';
import { startSilentServer } from './helpers/silent-tcp-server';
import { agentEnv, eventually, fixture, probe, REGISTER, ROOT, spawnAgent } from './helpers/spawn-agent';

test('SIGTERM without a handler of the app: readiness 503 at once, liveness 200, then the default exit by signal', async () => {
  const app = spawnAgent(fixture('app.js'), agentEnv({ VIGIL_SHUTDOWN_DELAY_MS: '1500', OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' }));
  try {
    const port = await app.probePort();
    await app.waitForLine('stdout', (l) => l.fixture === 'ready');
    await eventually(async () => (await probe(port, '/health/ready')).status === 200, 15_000, 'ready before the signal');
    app.kill('SIGTERM');
    await app.waitForLine('stderr', (l) => l.phase === 'draining');
    const ready = await probe(port, '/health/ready');
    assert.equal(ready.status, 503);
    assert.equal(ready.body.output, 'shutting down');
    assert.equal((await probe(port, '/health/live')).status, 200, 'liveness stays 200 while draining');
    const { code, signal } = await app.exited;
    assert.equal(signal, 'SIGTERM', 'the process ends as Node would without the agent');
    assert.equal(code, null);
    const phases = app.stderr.filter((l) => l.phase).map((l) => l.phase);
    assert.deepEqual(phases, ['draining', 'flushing', 'done']);
  } finally {
    app.kill();
  }
});

test('SIGTERM with a handler of the app: the app decides, and the process exits by itself', async () => {
  const app = spawnAgent(fixture('app.js'), agentEnv({ APP_HANDLES_SIGTERM: '1', OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' }));
  try {
    await app.probePort();
    await app.waitForLine('stdout', (l) => l.fixture === 'ready');
    app.kill('SIGTERM');
    const { code, signal } = await app.exited;
    assert.equal(code, 0);
    assert.equal(signal, null);
    assert.ok(app.stdout.some((l) => l.fixture === 'sigterm'), "the app's own handler ran");
    assert.ok(app.stderr.some((l) => l.phase === 'done' && l.exit === 'left to the application'));
  } finally {
    app.kill();
  }
});

test('a short program exits by itself while its collector never answers', async () => {
  const receiver = await startOtlpReceiver({ mode: 'hang' });
  try {
    const job = spawnAgent(fixture('short-job.js'), agentEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }));
    const { code } = await job.exited;
    assert.equal(code, 0);
    assert.ok(job.stdout.some((l) => l.fixture === 'done' && l.agentLoaded === true));
    assert.ok(receiver.requests.length > 0, 'the agent did try to export at exit');
    assert.equal(receiver.spans.length, 0, 'and nothing was ever answered');
  } finally {
    await receiver.close();
  }
});

test('a short program exits cleanly when nothing listens at the collector address', async () => {
  const job = spawnAgent(fixture('short-job.js'), agentEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' }));
  const { code } = await job.exited;
  assert.equal(code, 0);
  const warning = job.stderr.find((l) => l.code === 'VIGIL_ERR_EXPORT');
  assert.ok(warning, 'one clear line says the export failed');
  assert.match(String(warning.msg), /127\.0\.0\.1:9/);
});

test('malformed settings give one clear line naming the variable, and the host runs on', async () => {
  const config = join(tmpdir(), `vigil-bad-${process.pid}.json`);
  writeFileSync(config, JSON.stringify({ intervalMS: 5, checks: { postgres: { timeoutMs: 'soon' } } }));
  const app = spawnAgent(fixture('app.js'), agentEnv({
    VIGIL_CHECK_INTERVAL_MS: 'often',
    VIGIL_DETAILS: 'sometimes',
    VIGIL_CONFIG: config,
    OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none',
  }));
  try {
    const appPort = Number((await app.waitForLine('stdout', (l) => l.fixture === 'ready')).port);
    const port = await app.probePort();
    const problems = app.stderr.filter((l) => l.code === 'VIGIL_ERR_CONFIG_VALUE' || l.code === 'VIGIL_ERR_CONFIG_FILE');
    const named = (text: RegExp) => problems.filter((l) => text.test(String(l.msg)));
    assert.equal(named(/VIGIL_CHECK_INTERVAL_MS="often"/).length, 1);
    assert.equal(named(/VIGIL_DETAILS="sometimes"/).length, 1);
    assert.equal(named(/intervalMS: unknown setting/).length, 1);
    assert.equal(named(/checks\.postgres\.timeoutMs/).length, 1);
    assert.equal((await fetch(`http://127.0.0.1:${appPort}/nope`)).status, 404, 'the application still serves');
    assert.equal((await probe(port, '/health/live')).status, 200);
  } finally {
    app.kill();
  }
});

test('VIGIL_DISABLED=true loads nothing and prints nothing', async () => {
  const job = spawnAgent(fixture('short-job.js'), agentEnv({ VIGIL_DISABLED: 'true' }));
  const { code } = await job.exited;
  assert.equal(code, 0);
  assert.ok(job.stdout.some((l) => l.fixture === 'done' && l.agentLoaded === false));
  assert.equal(job.stderr.length, 0);
});

test('NODE_OPTIONS reaching npm leaves npm alone', async () => {
  const child = spawn('npm', ['--version'], { env: { ...agentEnv(), NODE_OPTIONS: `--require ${REGISTER}`, VIGIL_PORT: '0' } });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 0);
  assert.ok(!stderr.includes('"name":"vigil"'), stderr);
});

test('a node process started by a served process is traced but runs no probe server of its own', async () => {
  const parent = spawnAgent(fixture('spawns-child.js'), agentEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' }));
  try {
    const done = await parent.waitForLine('stdout', (l) => l.fixture === 'child-done');
    assert.equal(done.agentLoaded, true, 'the child has the agent (tracing)');
    const listening = parent.stderr.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('listening'));
    assert.equal(listening.length, 1, 'only the parent listens');
  } finally {
    parent.kill();
  }
});

test("NODE_OPTIONS reaching vigil's own CLI starts no second agent", async () => {
  const cli = join(ROOT, 'dist', 'cli.js');
  const child = spawn(process.execPath, [cli, 'probe', 'live', '--port', '9', '--timeout', '500'], { env: { ...agentEnv(), NODE_OPTIONS: `--require ${REGISTER}` } });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 1, 'nothing listens on port 9');
  assert.ok(!stderr.includes('"name":"vigil"'), stderr);
});

test('SIGTERM with signal-exit loaded (execa, ora, ...): its cleanup runs and the process ends by the signal', async () => {
  const app = spawnAgent(fixture('signal-exit-app.js'), agentEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' }));
  try {
    await app.probePort();
    await app.waitForLine('stdout', (l) => l.fixture === 'ready');
    app.kill('SIGTERM');
    const { signal } = await app.exited;
    assert.equal(signal, 'SIGTERM');
    assert.ok(app.stdout.some((l) => l.fixture === 'cleanup' && l.signal === 'SIGTERM'), 'signal-exit ran its handlers');
    assert.ok(app.stderr.some((l) => l.phase === 'done' && l.exit === 'default'));
  } finally {
    app.kill();
  }
});

// Plain schemes: a connection that never gets an answer; a TLS scheme: a handshake that never ends.
const silentDependencies = [
  { redis: 'redis', amqp: 'amqp' },
  { redis: 'rediss', amqp: 'amqp' },
  { redis: 'redis', amqp: 'amqps' },
] as const;

for (const schemes of silentDependencies) test(`a short program exits while its dependencies accept connections and never answer (${schemes.redis}, ${schemes.amqp})`, async () => {
  const silent = await startSilentServer();
  try {
    const url = (scheme: string) => `${scheme}://guest:guest@127.0.0.1:${silent.port}`;
    const job = spawnAgent(fixture('short-job.js'), agentEnv({
      OTEL_SDK_DISABLED: 'true',
      VIGIL_POSTGRES_URL: url('postgres'),
      VIGIL_REDIS_URL: url(schemes.redis),
      VIGIL_AMQP_URL: url(schemes.amqp),
      VIGIL_TCP_CHECKS: `db=127.0.0.1:${silent.port}`,
      VIGIL_HTTP_CHECKS: `api=${url('http')}/health`,
      // Far longer than the test may take: a socket or timer held until the timeout would fail it.
      VIGIL_CHECK_TIMEOUT_MS: '600000',
    }));
    const held = new Promise<'held'>((resolve) => setTimeout(resolve, 20_000, 'held').unref());
    const outcome = await Promise.race([job.exited, held]);
    job.kill();
    assert.notEqual(outcome, 'held', 'a check held the finished program');
    assert.equal((outcome as { code: number }).code, 0);
  } finally {
    await silent.close();
  }
});
