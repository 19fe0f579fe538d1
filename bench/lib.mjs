// Shared helpers of the benchmarks: a clean child environment, child-process bookkeeping (no
// child outlives the bench), statistics, argument parsing and machine facts. Node built-ins only.
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root: every child runs from here, so `./dist/register.js` resolves. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** A port where nothing listens: the collector "down" (connection refused at once). */
export const REFUSED_ENDPOINT = 'http://127.0.0.1:9';

/** Confirms that nothing listens at the "refused" endpoint, or the condition would be a lie. */
export function assertRefused(endpoint = REFUSED_ENDPOINT) {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    socket.once('connect', () => { socket.destroy(); reject(new Error(`${endpoint} accepts connections; the "collector down" case needs a port where nothing listens`)); });
    socket.once('error', (error) => (error.code === 'ECONNREFUSED' ? resolve() : reject(error)));
  });
}

/** Confirms that a service the fixtures need (database, cache) accepts connections. */
export function assertListening(host, port, what) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`${what} on ${host}:${port} did not accept a connection within 2 s`)); }, 2000);
    socket.once('connect', () => { clearTimeout(timer); socket.destroy(); resolve(); });
    socket.once('error', (error) => { clearTimeout(timer); reject(new Error(`${what} on ${host}:${port}: ${error.code ?? error.message}`)); });
  });
}

/** The downstream service the express fixture fetch()es: answers a fixed body at once. */
export async function startDownstream() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('downstream\n');
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The preloads under comparison, by variant name. */
export const PRELOADS = {
  bare: [],
  vigil: ['--require', './dist/register.js'],
  upstream: ['--require', '@opentelemetry/auto-instrumentations-node/register'],
};
export const VARIANT_LABEL = {
  bare: 'bare `node`',
  vigil: 'vigil (`--require ./dist/register.js`)',
  upstream: 'upstream (`--require @opentelemetry/auto-instrumentations-node/register`)',
};

/**
 * The same environment for every variant: the parent's, minus anything that would change what a
 * child loads or where it sends telemetry (OTEL_*, VIGIL_*, NODE_OPTIONS, NODE_DEBUG), plus the
 * bench's own settings.
 */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(OTEL_|VIGIL_)/.test(key) || key === 'NODE_OPTIONS' || key === 'NODE_DEBUG') continue;
    env[key] = value;
  }
  // The upstream's cloud detectors (gcp, aws, azure, alibaba) would call metadata addresses
  // off this machine: the bench talks to 127.0.0.1 only.
  return { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: REFUSED_ENDPOINT, VIGIL_PORT: '0', OTEL_SERVICE_NAME: 'bench', OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process', ...extra };
}

// Every child this process starts, so that none is left behind whatever way the bench ends.
const children = new Set();

/** spawn(), remembered until the child exits. */
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function spawnNode(args, options = {}) {
  return track(spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...options }));
}

/** Kills a child and waits until it is gone (SIGKILL: benchmark fixtures have nothing to save). */
export function kill(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function killAll() {
  for (const child of children) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => { killAll(); process.exit(130); });
}

/** Progress goes to stderr: stdout carries the results. */
export function progress(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Nearest-rank percentile (p in 0..100) of a list of numbers. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** The median, averaging the two middle values of an even-length list. */
export function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `--name value` options, with defaults; numbers stay numbers. */
export function parseArgs(argv, defaults) {
  const options = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!match) throw new Error(`unexpected argument ${argv[i]}`);
    const key = match[1].replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown option --${match[1]} (known: ${Object.keys(defaults).map((k) => `--${k}`).join(', ')})`);
    const raw = match[2] ?? (typeof defaults[key] === 'boolean' ? 'true' : argv[++i]);
    options[key] = typeof defaults[key] === 'number' ? Number(raw) : typeof defaults[key] === 'boolean' ? raw !== 'false' : raw;
    if (typeof defaults[key] === 'number' && !(options[key] > 0)) throw new Error(`--${match[1]} needs a positive number`);
  }
  return options;
}

/** True when the module at `url` is the script node was started with. */
export function isMain(url) {
  return process.argv[1] !== undefined && url === pathToFileURL(process.argv[1]).href;
}

/** dist/ must exist: the benches measure what users run, the built files. */
export function requireBuild() {
  try {
    statSync(new URL('../dist/register.js', import.meta.url));
  } catch {
    throw new Error('dist/register.js is missing: run `npm run build` (node scripts/build.mjs) first');
  }
}

/** Size and mtime of the built files: tells whether someone rebuilt dist/ during the run. */
export function distStamp() {
  return ['register.js', 'agent.js', 'index.js'].map((f) => {
    try {
      const st = statSync(new URL(`../dist/${f}`, import.meta.url));
      return `${f}:${st.size}:${st.mtimeMs}`;
    } catch {
      return `${f}:missing`;
    }
  }).join(' ');
}

/** Waits (up to 2 min) until dist/ exists and has not changed for a second: a rebuild is over. */
export async function waitForBuild() {
  let last = distStamp();
  for (let waited = 0; waited < 120_000; waited += 1000) {
    await sleep(1000);
    const now = distStamp();
    if (now === last && !now.includes('missing')) return;
    last = now;
  }
  throw new Error('dist/ did not settle within 2 minutes');
}

/**
 * Runs one measurement; if it fails, waits for dist/ to settle and tries again (twice at most).
 * Other people rebuild dist/ (which deletes it first) while benches run on this shared checkout.
 */
export async function withRetry(what, fn) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= 3) throw error;
      progress(`${what} failed (${String(error.message).split('\n')[0]}); waiting for dist/ to settle and retrying`);
      await waitForBuild();
    }
  }
}

export function machine() {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch { /* not Linux */ }
  let nproc = String(cpus().length);
  try { nproc = execFileSync('nproc', { encoding: 'utf8' }).trim(); } catch { /* no coreutils */ }
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim();
    if (dirty) commit += ' (with uncommitted changes)';
  } catch { /* not a checkout */ }
  let build = 'unknown';
  try {
    const st = statSync(new URL('../dist/agent.js', import.meta.url));
    build = `dist/agent.js ${st.size} bytes, built ${st.mtime.toISOString()}`;
  } catch { /* no build */ }
  return { node: process.version, nproc, cpu, commit, build, date: new Date().toISOString() };
}

// Formatting for the tables.
export const ms = (v) => (!Number.isFinite(v) ? String(v) : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ms`);
export const mib = (kib) => `${(kib / 1024).toFixed(1)} MiB`;
export const signed = (v, unit = '') => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(Math.abs(v) >= 100 ? 0 : 1)}${unit}`;
export const ratio = (a, b) => `×${(a / b).toFixed(2)}`;

export function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
