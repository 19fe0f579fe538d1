// NODE_OPTIONS with the preload reaches every script a package manager runs: the build, the
// tests, `npx tsc`. Those are traced only; the scripts that start the service serve the probes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { agentEnv, REGISTER } from './helpers/spawn-agent';

const dir = mkdtempSync(join(tmpdir(), 'vigil-scripts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Lives long enough for the probe server to say it listens, then ends by itself.
writeFileSync(join(dir, 'app.js'), `
const loaded = Object.keys(require.cache).some((file) => /dist[\\\\/]agent\\.js$/.test(file));
console.log(JSON.stringify({ fixture: 'app', agentLoaded: loaded }));
setTimeout(() => {}, 1500);
`);
writeFileSync(join(dir, 'package.json'), JSON.stringify({
  name: 'scripts-app',
  version: '1.0.0',
  private: true,
  scripts: { start: 'node app.js', 'start:prod': 'node app.js', build: 'node app.js', test: 'node app.js' },
}));

/** Runs a package-manager command in the app's folder with the preload in NODE_OPTIONS. */
async function run(args: string[], extra: Record<string, string> = {}): Promise<{ listening: boolean; agentLoaded: boolean }> {
  const child = spawn('npm', args, { cwd: dir, env: { ...agentEnv(extra), NODE_OPTIONS: `--require ${REGISTER}`, OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, stderr);
  const app = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { fixture?: string; agentLoaded?: boolean }).find((l) => l.fixture === 'app');
  assert.ok(app, `the app ran: ${stdout}`);
  return { listening: /"msg":"listening: probes on/.test(stderr), agentLoaded: app.agentLoaded === true };
}

test('npm run build and npm test are traced, but serve no probes and run no checks', async () => {
  for (const args of [['run', 'build'], ['test']]) {
    const result = await run(args);
    assert.deepEqual(result, { listening: false, agentLoaded: true }, args.join(' '));
  }
});

test('npx is traced only too', async () => {
  const result = await run(['exec', '--', 'node', 'app.js']);
  assert.deepEqual(result, { listening: false, agentLoaded: true });
});

test('npm start and npm run start:prod serve the probes', async () => {
  for (const args of [['start'], ['run', 'start:prod']]) {
    const result = await run(args);
    assert.deepEqual(result, { listening: true, agentLoaded: true }, args.join(' '));
  }
});

test('VIGIL_SERVE_SCRIPTS names the scripts that serve', async () => {
  assert.deepEqual(await run(['run', 'build'], { VIGIL_SERVE_SCRIPTS: 'build' }), { listening: true, agentLoaded: true });
  assert.deepEqual(await run(['start'], { VIGIL_SERVE_SCRIPTS: 'serve' }), { listening: false, agentLoaded: true });
});
