// The package as users get it: `npm pack`, installed into a fresh application folder outside the
// repository, then preloaded and run there as the README says.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { agentEnv, ROOT } from '../helpers/spawn-agent';

const app = mkdtempSync(join(tmpdir(), 'vigil-consumer-'));
after(() => rmSync(app, { recursive: true, force: true }));

// A service that answers one request of its own, says whether the installed agent is loaded, and
// stays up a moment for a probe, as CommonJS and as an ES module.
const SERVICE = (loaded: string) => `
const server = http.createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1', () => {
  http.get('http://127.0.0.1:' + server.address().port + '/', (res) => {
    res.resume();
    const agent = ${loaded};
    console.log(JSON.stringify({ fixture: 'served', agent }));
    setTimeout(() => server.close(), Number(process.env.STAY_MS ?? 0));
  });
});
`;

before(() => {
  execFileSync('npm', ['pack', '--pack-destination', app, '--ignore-scripts', '--silent'], { cwd: ROOT, stdio: 'ignore' });
  const tarball = readdirSync(app).find((name) => name.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack made a tarball');
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  writeFileSync(join(app, 'app.js'), `const http = require('node:http');${SERVICE("Object.keys(require.cache).find((f) => f.endsWith('agent.js')) ?? null")}`);
  writeFileSync(join(app, 'app.mjs'), `import http from 'node:http';\nimport { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);${SERVICE("Object.keys(require.cache).find((f) => f.endsWith('agent.js')) ?? null")}`);
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--silent', `./${tarball}`], { cwd: app, stdio: 'ignore' });
  // @types/node, as every TypeScript service on Node has it: the project's copy (npm's offline
  // cache holds its tarball but not the registry's metadata an install by name needs).
  for (const types of ['@types/node', 'undici-types']) cpSync(join(ROOT, 'node_modules', types), join(app, 'node_modules', types), { recursive: true });
});

/** Runs a command in the application folder; its exit, stdout lines as JSON where they are, stderr. */
function run(command: string, args: string[], extra: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string; lines: Record<string, unknown>[] }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: app, env: { ...agentEnv(extra), OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('close', (code) => resolve({ code, stdout, stderr, lines: `${stdout}\n${stderr}`.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>) }));
  });
}

const INSTALLED = join('node_modules', 'vigil-agent', 'dist', 'agent.js');

for (const [preload, script] of [['--require', 'app.js'], ['--import', 'app.mjs']] as const) {
  test(`node ${preload} vigil-agent/register ${script}: the installed agent serves probes and the program exits by itself`, async () => {
    const { code, stderr, lines } = await run(process.execPath, [preload, 'vigil-agent/register', script]);
    assert.equal(code, 0, stderr);
    const served = lines.find((l) => l.fixture === 'served');
    assert.ok(String(served?.agent).endsWith(INSTALLED), `the agent comes from the installed package: ${String(served?.agent)}`);
    assert.ok(String(served?.agent).startsWith(app), 'not from the repository');
    assert.ok(lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('listening: probes on')), stderr);
  });
}

test('npx vigil-agent probe, check and version work from the installed package', async () => {
  const service = spawn(process.execPath, ['--require', 'vigil-agent/register', 'app.js'], { cwd: app, env: { ...agentEnv({ STAY_MS: '20000' }), OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' } });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let stderr = '';
      service.stderr.on('data', (chunk) => {
        stderr += chunk;
        const match = /"port":(\d+)/.exec(stderr);
        if (match) resolve(Number(match[1]));
      });
      service.on('exit', () => reject(new Error(`the service exited: ${stderr}`)));
    });
    const live = await run('npx', ['--offline', 'vigil-agent', 'probe', 'live', '--port', String(port)]);
    assert.equal(live.code, 0, live.stdout + live.stderr);
    assert.match(live.stdout, /\/health\/live: 200/);
  } finally {
    service.kill();
  }
  const check = await run('npx', ['--offline', 'vigil-agent', 'check', '--json']);
  assert.equal(check.code, 0, check.stderr);
  assert.ok((JSON.parse(check.stdout) as { name: string }[]).some((r) => r.name === 'event-loop'));
  const version = await run('npx', ['--offline', 'vigil-agent', 'version']);
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^vigil-agent \d+\.\d+\.\d+\n/);
  assert.match(version.stdout, /^@opentelemetry\/api \d/m);
});

test('stack traces name the installed file; the installed copy makes a code cache of its own, and uses it next time', async () => {
  const throwing = join(app, 'throws.js');
  writeFileSync(throwing, `try { require('vigil-agent').registerCheck(1); } catch (error) { console.log(JSON.stringify({ fixture: 'stack', stack: error.stack })); }
setTimeout(() => {}, Number(process.env.STAY_MS ?? 0));`);
  const installed = join(app, 'node_modules', 'vigil-agent', 'dist');
  const first = await run(process.execPath, ['--require', 'vigil-agent/register', throwing], { STAY_MS: '6000', VIGIL_LOG_LEVEL: 'debug' });
  const stack = String(first.lines.find((l) => l.fixture === 'stack')?.stack);
  assert.ok(stack.includes(join(installed, 'agent.js')), `the stack names the installed agent.js:\n${stack}`);
  assert.ok(!stack.includes(join(ROOT, 'dist')), 'and not the build folder');
  assert.ok(first.lines.some((l) => l.codeCache === 'none'), 'no cache ships: one made at build would name the build machine');
  assert.equal(readFileSync(join(installed, 'agent.cache.for'), 'utf8'), join(installed, 'agent.js'), 'a cache was made for this copy');
  const second = await run(process.execPath, ['--require', 'vigil-agent/register', throwing], { VIGIL_LOG_LEVEL: 'debug' });
  assert.ok(second.lines.some((l) => l.codeCache === 'used'), second.stderr);
  assert.ok(String(second.lines.find((l) => l.fixture === 'stack')?.stack).includes(join(installed, 'agent.js')));
  // Other V8 flags than the cache was made under: V8 rejects it, the agent says so and compiles.
  const flagged = await run(process.execPath, ['--max-old-space-size=300', '--require', 'vigil-agent/register', throwing], { VIGIL_LOG_LEVEL: 'debug' });
  assert.ok(flagged.lines.some((l) => l.codeCache === 'rejected'), flagged.stderr);
  assert.ok(String(flagged.lines.find((l) => l.fixture === 'stack')?.stack).includes(join(installed, 'agent.js')));
});

test('the tarball ships no code cache: one made at build names the build machine\'s path', () => {
  const files = readdirSync(join(app, 'node_modules', 'vigil-agent', 'dist'));
  assert.ok(files.includes('agent.js'));
  assert.ok(!files.some((f) => f.startsWith('agent.cache')) || readFileSync(join(app, 'node_modules', 'vigil-agent', 'dist', 'agent.cache.for'), 'utf8').startsWith(app), 'any cache there was made by the installed copy');
});

// A TypeScript service using every export as the README shows, and two misuses that must not
// compile (a check status outside pass/warn/fail, an unknown probe group): with types that
// leaked to `any`, or named a bundled package, this fails.
const CONSUMER = `
import { ERROR_CODES, VigilError, getHealth, onStateChange, registerCheck, runChecksOnce, start, stop, unregisterCheck } from 'vigil-agent';
import type { CheckFn, CheckOptions, CheckResult, CheckSnapshot, ErrorCode, Group, OnceResult, StartOptions, StateChange, Status } from 'vigil-agent';

const groups: Group[] = ['ready'];
const options: CheckOptions = { critical: false, intervalMs: 5_000, timeoutMs: 1_000, groups };
const ordersDb: CheckFn = async (signal: AbortSignal): Promise<CheckResult> => {
  signal.throwIfAborted();
  return { status: 'pass', observedValue: 3, observedUnit: 'ms', details: { role: 'primary' } };
};

async function main(): Promise<void> {
  registerCheck('orders-db', ordersDb, options);
  registerCheck('cache', () => true);
  // @ts-expect-error: a status outside pass, warn and fail
  registerCheck('bad-status', () => ({ status: 'ok' }));
  // @ts-expect-error: the groups are live, ready and startup
  registerCheck('bad-group', () => true, { groups: ['readiness'] });
  const startOptions: StartOptions = { env: process.env };
  const started: boolean = await start(startOptions);
  const off: () => void = onStateChange((change: StateChange) => {
    const to: Status = change.to;
    const from: Status | undefined = change.from;
    console.log(change.check, from, to, change.reason ?? '', change.traceId, change.spanId);
  });
  const health: CheckSnapshot[] = getHealth();
  const first: CheckSnapshot | undefined = health[0];
  const once: OnceResult[] = await runChecksOnce({ VIGIL_CHECKS: 'event-loop' });
  const code: ErrorCode = 'VIGIL_ERR_START';
  const meaning: string = ERROR_CODES[code];
  try {
    registerCheck('no spaces allowed', () => true);
  } catch (error) {
    if (error instanceof VigilError) console.log(error.code satisfies ErrorCode, error.message);
  }
  const removed: boolean = unregisterCheck('cache');
  // @ts-expect-error: getHealth() is a list of snapshots, not any
  const notANumber: number = getHealth();
  // @ts-expect-error: start() resolves to a boolean, not any
  const notAString: string = await start();
  registerCheck('readonly-groups', () => true, { groups: first?.groups ?? ['live'] });
  console.log(started, first?.status, first?.groups.join(','), once.map((r) => r.status), meaning, removed, notANumber, notAString);
  off();
  await stop();
}
void main();
`;

const STRICT = { strict: true, skipLibCheck: false, noEmit: true, target: 'es2022', types: ['node'], exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true };
const CONSUMERS = [
  { name: 'CommonJS, node16 resolution', type: 'commonjs', compilerOptions: { module: 'node16', moduleResolution: 'node16' } },
  { name: 'ES module, nodenext resolution', type: 'module', compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' } },
  { name: 'bundler resolution', type: 'module', compilerOptions: { module: 'preserve', moduleResolution: 'bundler' } },
];

for (const consumer of CONSUMERS) {
  test(`a strict TypeScript consumer compiles against the installed types (${consumer.name}, skipLibCheck false)`, () => {
    const dir = join(app, `ts-${consumer.compilerOptions.moduleResolution}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${consumer.compilerOptions.moduleResolution}`, private: true, type: consumer.type }));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...STRICT, ...consumer.compilerOptions }, files: ['service.ts'] }));
    writeFileSync(join(dir, 'service.ts'), CONSUMER);
    // The TypeScript the project pins, run from the repository: the consumer has only the package and @types/node.
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir, encoding: 'utf8' });
    assert.equal(tsc.status, 0, `${tsc.stdout}${tsc.stderr}`);
  });
}
