// The `vigil-agent` CLI as users run it: `probe` against a real agent process (container
// HEALTHCHECKs in images without curl) and `check` against the real local PostgreSQL and Redis.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { agentEnv, fixture, ROOT, spawnAgent } from './helpers/spawn-agent';

const CLI = join(ROOT, 'dist', 'cli.js');
const SECRET = 'SomeSecret123';
// Trust authentication on the local server ignores the password: the check passes with it.
const POSTGRES_WITH_PASSWORD = `postgres://postgres:${SECRET}@127.0.0.1:5432/test`;
const REDIS_URL = 'redis://127.0.0.1:6379';
const QUIET = { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };
/** Safety net only (a hung CLI must not hang the suite); no assertion depends on time. */
const KILL_AFTER_MS = 60_000;

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli.js ...args` with an environment free of the runner's OTEL_* / VIGIL_* / NODE_OPTIONS. */
function runCli(args: string[], overrides: Record<string, string> = {}): Promise<CliRun> {
  const env = agentEnv(overrides);
  // agentEnv sets a probe port for fixtures; the CLI must not take a default port from it.
  delete env.VIGIL_PORT;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A port on 127.0.0.1 where nothing listens (bound once to pick it, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The rows of the `check` table, each split into its columns (two or more spaces apart). */
function tableOf(stdout: string): { header: string[]; rows: Map<string, string[]> } {
  const lines = stdout.split('\n').filter((line) => line.trim() !== '');
  const split = (line: string) => line.trimEnd().split(/\s{2,}/);
  const header = split(lines[0] ?? '');
  const rows = new Map(lines.slice(1).map((line) => [split(line)[0], split(line)] as [string, string[]]));
  return { header, rows };
}

const where = (run: CliRun) => `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;

test('probe live against a running agent: exit 0 and "/health/live: 200"', { timeout: KILL_AFTER_MS }, async () => {
  const app = spawnAgent(fixture('app.js'), agentEnv(QUIET));
  try {
    const port = await app.probePort();
    const run = await runCli(['probe', 'live', '--port', String(port), '--host', '127.0.0.1']);
    assert.equal(run.code, 0, where(run));
    assert.match(run.stdout, /^\/health\/live: 200$/m);
  } finally {
    app.kill();
    await app.exited;
  }
});

test('probe ready exits 1 while readiness is 503 (a critical dependency is down); liveness stays 0', { timeout: KILL_AFTER_MS }, async () => {
  const db = await closedPort();
  const app = spawnAgent(fixture('app.js'), agentEnv({ ...QUIET, VIGIL_TCP_CHECKS: `db=127.0.0.1:${db}` }));
  try {
    const port = await app.probePort();
    // The failing run has been recorded: the probe reads a result, not a pending check.
    await app.waitForLine('stderr', (l) => l.check === 'db' && l.to === 'fail');
    const ready = await runCli(['probe', 'ready', '--port', String(port)]);
    assert.equal(ready.code, 1, where(ready));
    assert.match(ready.stdout, /^\/health\/ready: 503$/m);
    const live = await runCli(['probe', 'live', '--port', String(port)]);
    assert.equal(live.code, 0, `a dependency outage must not fail liveness; ${where(live)}`);
    assert.match(live.stdout, /^\/health\/live: 200$/m);
  } finally {
    app.kill();
    await app.exited;
  }
});

test('probe against a port where nothing listens: exit 1 and the error printed', { timeout: KILL_AFTER_MS }, async () => {
  const port = await closedPort();
  const run = await runCli(['probe', 'live', '--port', String(port), '--timeout', '2000']);
  assert.equal(run.code, 1, where(run));
  assert.match(run.stdout, /^\/health\/live: .*ECONNREFUSED/m);
});

test('probe sends VIGIL_TOKEN as a bearer token when it is set, and no Authorization header otherwise', { timeout: KILL_AFTER_MS }, async () => {
  const seen: (string | undefined)[] = [];
  const server = createHttpServer((req, res) => {
    seen.push(req.headers.authorization);
    res.end('{"status":"pass"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = String((server.address() as { port: number }).port);
    const withToken = await runCli(['probe', 'health', '--port', port], { VIGIL_TOKEN: 'cli-token-123' });
    assert.equal(withToken.code, 0, where(withToken));
    assert.match(withToken.stdout, /^\/health: 200$/m);
    const without = await runCli(['probe', 'health', '--port', port]);
    assert.equal(without.code, 0, where(without));
    assert.deepEqual(seen, ['Bearer cli-token-123', undefined]);
    assert.ok(!withToken.stdout.includes('cli-token-123') && !withToken.stderr.includes('cli-token-123'), 'the token is never printed');
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('an unknown probe name or command exits 2 with the usage', { timeout: KILL_AFTER_MS }, async () => {
  const probe = await runCli(['probe', 'sideways']);
  assert.equal(probe.code, 2, where(probe));
  assert.match(probe.stderr, /unknown probe "sideways"/);
  assert.match(probe.stderr, /usage:/);
  assert.match(probe.stderr, /vigil-agent probe <ready\|live\|startup\|health>/);
  const command = await runCli(['frobnicate']);
  assert.equal(command.code, 2, where(command));
  assert.match(command.stderr, /usage:/);
});

test('check: a table with postgres and redis passing, exit 0, and the password nowhere', { timeout: KILL_AFTER_MS }, async () => {
  const run = await runCli(['check'], { VIGIL_POSTGRES_URL: POSTGRES_WITH_PASSWORD, VIGIL_REDIS_URL: REDIS_URL });
  assert.equal(run.code, 0, where(run));
  const { header, rows } = tableOf(run.stdout);
  assert.deepEqual(header, ['CHECK', 'STATUS', 'CRITICAL', 'LATENCY', 'REASON'], where(run));
  for (const name of ['postgres', 'redis']) {
    const row = rows.get(name);
    assert.ok(row, `a row for ${name}; ${where(run)}`);
    assert.equal(row[1], 'pass', `${name} passes; ${where(run)}`);
    assert.equal(row[2], 'yes', `${name} is critical by default`);
    assert.match(row[3], /^\d+(\.\d)? ms$/, `${name} has a latency`);
  }
  // The built-in checks run too.
  for (const name of ['event-loop', 'cpu', 'memory', 'disk', 'heap']) assert.ok(rows.has(name), `a row for ${name}`);
  assert.ok(!(run.stdout + run.stderr).includes(SECRET), 'the password of VIGIL_POSTGRES_URL never appears');
});

test('check: a critical dependency that refuses connections makes exit 1 and shows ECONNREFUSED', { timeout: KILL_AFTER_MS }, async () => {
  const db = await closedPort();
  const run = await runCli(['check'], { VIGIL_TCP_CHECKS: `db=127.0.0.1:${db}`, VIGIL_POSTGRES_URL: POSTGRES_WITH_PASSWORD });
  assert.equal(run.code, 1, where(run));
  const row = tableOf(run.stdout).rows.get('db');
  assert.ok(row, `a row for db; ${where(run)}`);
  assert.equal(row[1], 'fail');
  assert.equal(row[2], 'yes');
  assert.match(row[4] ?? '', /ECONNREFUSED/);
  assert.ok(!(run.stdout + run.stderr).includes(SECRET), 'the password never appears');
});

test('check --json: parseable JSON, one entry per check, and the password nowhere', { timeout: KILL_AFTER_MS }, async () => {
  const db = await closedPort();
  const run = await runCli(['check', '--json'], {
    VIGIL_POSTGRES_URL: POSTGRES_WITH_PASSWORD,
    VIGIL_REDIS_URL: REDIS_URL,
    // Credentials in an HTTP check's URL, against a port that refuses: the error path is redacted too.
    VIGIL_HTTP_CHECKS: `api=http://user:${SECRET}@127.0.0.1:${db}/health`,
  });
  let results: { name: string; status: string; critical: boolean; durationMs?: number; output?: string }[];
  assert.doesNotThrow(() => (results = JSON.parse(run.stdout)), `stdout is JSON; ${where(run)}`);
  assert.ok(Array.isArray(results!), 'an array of results');
  const byName = new Map(results!.map((r) => [r.name, r]));
  assert.equal(byName.get('postgres')?.status, 'pass', where(run));
  assert.equal(byName.get('redis')?.status, 'pass', where(run));
  assert.equal(byName.get('postgres')?.critical, true);
  assert.equal(typeof byName.get('postgres')?.durationMs, 'number');
  assert.equal(byName.get('api')?.status, 'fail', where(run));
  assert.match(byName.get('api')?.output ?? '', /ECONNREFUSED/);
  assert.equal(run.code, 1, 'the failing critical HTTP check makes exit 1');
  assert.ok(!(run.stdout + run.stderr).includes(SECRET), 'no password in the JSON or on stderr');
});

test('version: the agent, node, and the bundled OpenTelemetry packages at their installed versions', async () => {
  const { code, stdout, stderr } = await runCli(['version']);
  assert.equal(code, 0, stderr);
  const lines = stdout.trim().split('\n');
  assert.equal(lines[0], `vigil-agent ${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}`);
  assert.equal(lines[1], `node ${process.version}`);
  for (const name of ['@opentelemetry/api', '@opentelemetry/sdk-trace-base', '@opentelemetry/instrumentation-http']) {
    assert.ok(lines.includes(`${name} ${JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version}`), `${name} in:\n${stdout}`);
  }
  assert.ok(!lines.some((l) => l.startsWith('pino ')), 'only OpenTelemetry packages without --all');
  assert.ok((await runCli(['version', '--all'])).stdout.split('\n').some((l) => l.startsWith('pino ')));
});
