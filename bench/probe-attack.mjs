// Probe server under a pipelining attack (issue 10): clients that pipeline `GET /health` over
// keep-alive and never read the answers. Two targets, attacked one after the other in the same run:
//
//   vigil: bench/fixtures/hello.js under `--require ./dist/register.js`; the attack goes to the
//          probe port's /health, the fresh GETs to /health/live and to the app's own port.
//   plain: a bare node:http server with the probe server's timeouts and limits (the
//          createServer options of src/probes/server.ts before issue 10), serving a fixed body of
//          the same size as vigil's /health; the attack and the fresh GETs both go to `/`.
//
// Figures per target: CPU % of the target process over the attack (utime + stime from
// /proc/<pid>/stat, all threads), RSS growth (VmRSS before, highest VmRSS sampled during, VmHWM
// at the end), and the latency of fresh GETs sent one after the other during the attack, each on
// a new connection as the kubelet does (a GET without an answer within 5 s counts as failed).
// An attacker whose connection fails reconnects at once and starts over (one that never reads
// only notices when a write fails). `--churn-ms N`: each attacker also closes its connection
// itself N ms after opening it and opens a new one (a connection flood; the same for both).
// `--details always` runs vigil with VIGIL_DETAILS=always (the default before issue 10; loopback
// callers get the same body under today's default, `local`).
//
//   node bench/probe-attack.mjs [--clients 40] [--seconds 10] [--requests 5000] [--batch 1000]
//                               [--churn-ms 0] [--details always] [--json]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import {
  FIXTURES, PRELOADS, cleanEnv, isMain, kill, mib, ms, nowMs, parseArgs, percentile, progress,
  requireBuild, sleep, spawnNode, table,
} from './lib.mjs';

const START_TIMEOUT_MS = 30_000;
/** A fresh GET that takes longer than this is counted as failed (kubelet's default is 1 s). */
const GET_TIMEOUT_MS = 5_000;
/** The kubelet's default probe timeout: a GET slower than this would have failed a probe. */
const KUBELET_TIMEOUT_MS = 1_000;

/** The createServer options of the probe server before issue 10, given to the plain reference. */
const PLAIN_OPTIONS = { headersTimeout: 2_000, requestTimeout: 5_000, connectionsCheckingInterval: 500, maxHeaderSize: 8_192, keepAliveTimeout: 5_000 };

let clockTicks = 100;
try { clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { /* the usual Linux value */ }

/** CPU seconds (user + system, every thread) the process has used so far. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) are counted from its closing ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks; // utime, stime (fields 14 and 15)
}

/** VmRSS and VmHWM of the process, KiB. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** One GET on a fresh connection; resolves to { ms, status, body } or { ms, error }. */
function get(port, path, timeoutMs = GET_TIMEOUT_MS) {
  const t0 = nowMs();
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ ms: nowMs() - t0, status: res.statusCode, body }));
      res.on('error', (error) => resolve({ ms: nowMs() - t0, error: error.code ?? error.message }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (error) => resolve({ ms: nowMs() - t0, error: error.code ?? error.message }));
  });
}

/** Starts a child; resolves with the values `parse` picks from its output lines (all keys found). */
function startChild(args, env, keys, parse) {
  const child = spawnNode(args, { env });
  let log = '';
  const found = {};
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready within ${START_TIMEOUT_MS} ms\n${log}`)), START_TIMEOUT_MS);
    for (const stream of ['stdout', 'stderr']) {
      let buffer = '';
      child[stream].on('data', (d) => {
        if (log.length < 4000) log += d;
        buffer += d;
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          Object.assign(found, parse(stream, line));
          if (keys.every((k) => found[k] !== undefined)) { clearTimeout(timer); resolve(found); }
        }
      });
    }
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`exited early (${code ?? signal})\n${log}`)); });
  });
  return { child, ready };
}

function parseVigil(stream, line) {
  if (stream === 'stdout' && /^\d+$/.test(line)) return { appPort: Number(line) };
  if (stream !== 'stderr') return {};
  try {
    const record = JSON.parse(line);
    if (typeof record.msg === 'string' && record.msg.startsWith('listening') && Number.isInteger(record.port)) return { probePort: record.port };
  } catch { /* not a JSON line */ }
  return {};
}

/** The plain reference: a fixed body of `size` bytes, as application/health+json, no-store. */
function plainSource(size) {
  return `
const http = require('node:http');
const body = Buffer.alloc(${size}, 'x');
body.write('{"status":"pass","pad":"');
body.write('"}', ${size} - 2);
const server = http.createServer(${JSON.stringify(PLAIN_OPTIONS)}, (req, res) => {
  req.resume();
  res.writeHead(200, { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'content-type': 'application/health+json', 'content-length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;
}

/**
 * The attacker runs in a process of its own, so that the fresh GETs are timed by a client that
 * does nothing else. `clients` connections each write `requests` pipelined GETs (in bursts of
 * `batch`, as fast as the socket takes them) and never read a byte; a connection the server
 * closes is replaced at once. It prints its counts as one JSON line when stdin closes.
 */
function attackerSource(port, path, { clients, requests, batch, churnMs = 0 }) {
  return `
const net = require('node:net');
const request = Buffer.from(${JSON.stringify(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`)});
const burst = Buffer.concat(Array.from({ length: ${batch} }, () => request));
const stats = { connections: 0, requestsWritten: 0 };
const sockets = new Set();
let stopped = false;
function open() {
  if (stopped) return;
  const socket = net.connect({ port: ${port}, host: '127.0.0.1' });
  sockets.add(socket);
  stats.connections++;
  socket.pause(); // never read: the answers pile up in the kernel, then in the server
  socket.on('error', () => undefined);
  let left = ${requests};
  const pump = () => {
    while (!stopped && !socket.destroyed && left > 0) {
      const n = Math.min(left, ${batch});
      left -= n;
      stats.requestsWritten += n;
      if (!socket.write(n === ${batch} ? burst : burst.subarray(0, n * request.length))) return;
    }
  };
  socket.on('connect', pump);
  if (${churnMs} > 0) setTimeout(() => socket.destroy(), ${churnMs});
  socket.on('drain', pump);
  socket.on('close', () => {
    sockets.delete(socket);
    if (!stopped) setImmediate(open);
  });
}
for (let i = 0; i < ${clients}; i++) open();
process.stdin.resume();
process.stdin.on('end', () => {
  stopped = true;
  for (const socket of sockets) socket.destroy();
  process.stdout.write(JSON.stringify(stats) + '\\n');
  process.exit(0);
});
`;
}

/** Starts the attacker; `stop()` resolves with its counts. */
function attack(port, path, options) {
  const child = spawnNode(['-e', attackerSource(port, path, options)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', () => undefined);
  return {
    pid: child.pid,
    stop: () => new Promise((resolve) => {
      child.once('exit', () => {
        try { resolve(JSON.parse(out)); } catch { resolve({ error: out.slice(0, 200) }); }
      });
      child.stdin.end();
    }),
  };
}

function summarize(samples) {
  const answered = samples.filter((s) => s.status !== undefined);
  const times = answered.map((s) => s.ms);
  const failed = samples.length - answered.length;
  return {
    n: samples.length,
    answered: answered.length,
    failed,
    slow: answered.filter((s) => s.ms > KUBELET_TIMEOUT_MS).length,
    p50: percentile(times, 50),
    max: times.length ? Math.max(...times) : NaN,
    errors: [...new Set(samples.filter((s) => s.error).map((s) => s.error))],
  };
}

/** Attacks one target for `seconds` while sampling its CPU, memory and fresh-GET latency. */
async function measure(pid, { attackPort, attackPath, gets }, options) {
  // Warm up both code paths alike (JIT) and let start-up work settle.
  for (let i = 0; i < 20; i++) for (const g of gets) await get(g.port, g.path);
  await sleep(1_000);
  const before = memory(pid);
  const samples = Object.fromEntries(gets.map((g) => [g.label, []]));
  let peakRss = before.rss;
  const sampler = setInterval(() => {
    try { peakRss = Math.max(peakRss, memory(pid).rss); } catch { /* exited */ }
  }, 100);
  const cpu0 = cpuSeconds(pid);
  const t0 = nowMs();
  const attacker = attack(attackPort, attackPath, options);
  const attackerCpu0 = (() => { try { return cpuSeconds(attacker.pid); } catch { return 0; } })();
  const deadline = t0 + options.seconds * 1000;
  while (nowMs() < deadline) {
    for (const g of gets) samples[g.label].push(await get(g.port, g.path));
    await sleep(100);
  }
  const cpu1 = cpuSeconds(pid);
  const wall = (nowMs() - t0) / 1000;
  const attackerCpu = (cpuSeconds(attacker.pid) - attackerCpu0) / wall * 100;
  clearInterval(sampler);
  const after = memory(pid);
  const attackStats = await attacker.stop();
  peakRss = Math.max(peakRss, after.rss);
  return {
    seconds: wall,
    cpuPercent: ((cpu1 - cpu0) / wall) * 100,
    rssBeforeKiB: before.rss,
    rssPeakKiB: peakRss,
    hwmKiB: after.hwm,
    attack: { ...attackStats, cpuPercent: attackerCpu },
    gets: Object.fromEntries(Object.entries(samples).map(([label, s]) => [label, summarize(s)])),
  };
}

export async function run({ clients = 40, seconds = 10, requests = 5000, batch = 1000, churnMs = 0, details = '' } = {}) {
  requireBuild();
  const env = cleanEnv({ VIGIL_HOST: '127.0.0.1', OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', ...(details ? { VIGIL_DETAILS: details } : {}) });
  const result = { clients, seconds, requests, batch, churnMs, details: details || '(default)' };

  const vigil = startChild([...PRELOADS.vigil, join(FIXTURES, 'hello.js')], env, ['appPort', 'probePort'], parseVigil);
  let bodyBytes;
  try {
    const { appPort, probePort } = await vigil.ready;
    // The built-in checks run after 1 s: measure once /health carries their results.
    let health;
    for (let i = 0; i < 100; i++) {
      health = await get(probePort, '/health');
      if (health.body && !/pending/.test(health.body)) break;
      await sleep(100);
    }
    bodyBytes = Buffer.byteLength(health.body);
    progress(`probe-attack: vigil app on ${appPort}, probes on ${probePort}, /health ${bodyBytes} bytes; ${clients} clients for ${seconds} s`);
    result.vigil = await measure(vigil.child.pid, {
      attackPort: probePort,
      attackPath: '/health',
      gets: [{ label: 'live', port: probePort, path: '/health/live' }, { label: 'app', port: appPort, path: '/' }],
    }, { clients, seconds, requests, batch, churnMs });
    result.vigil.bodyBytes = bodyBytes;
    result.vigil.alive = vigil.child.exitCode === null && vigil.child.signalCode === null;
  } finally {
    await kill(vigil.child);
  }

  const plain = startChild(['-e', plainSource(bodyBytes)], env, ['appPort'], (stream, line) => (stream === 'stdout' && /^\d+$/.test(line) ? { appPort: Number(line) } : {}));
  try {
    const { appPort } = await plain.ready;
    progress(`probe-attack: plain node:http on ${appPort}, ${bodyBytes}-byte body; ${clients} clients for ${seconds} s`);
    result.plain = await measure(plain.child.pid, {
      attackPort: appPort,
      attackPath: '/',
      gets: [{ label: 'plain', port: appPort, path: '/' }],
    }, { clients, seconds, requests, batch, churnMs });
    result.plain.bodyBytes = bodyBytes;
    result.plain.alive = plain.child.exitCode === null && plain.child.signalCode === null;
  } finally {
    await kill(plain.child);
  }
  return result;
}

export function toMarkdown(result) {
  const rows = [];
  const row = (target, r, label, what, first) => {
    const g = r.gets[label];
    rows.push([
      target,
      ...(first ? [`${r.cpuPercent.toFixed(0)} %`, mib(r.rssBeforeKiB), `+${mib(r.rssPeakKiB - r.rssBeforeKiB)}`, mib(r.hwmKiB), String(r.attack.connections)] : ['', '', '', '', '']),
      what, `${g.answered}/${g.n}`, String(g.slow), ms(g.p50), ms(g.max),
    ]);
  };
  row('vigil probe server (`/health`)', result.vigil, 'live', 'fresh `GET /health/live`', true);
  row('', result.vigil, 'app', 'fresh `GET /` on the app port', false);
  row(`plain \`node:http\` (\`/\`)`, result.plain, 'plain', 'fresh `GET /`', true);
  return [
    table(['target', 'CPU over the attack', 'RSS before', 'RSS growth (peak)', 'VmHWM', 'attack connections', 'fresh GETs', 'answered', 'over 1 s', 'p50', 'max'], rows),
    '',
    `${result.clients} clients, each writing ${result.requests} pipelined \`GET\`s (bursts of ${result.batch}, as fast as its socket takes them) and never reading` +
    `${result.churnMs ? `, closing its connection after ${result.churnMs} ms and opening a new one` : ''}; ` +
    `${result.seconds} s per target, targets one after the other; body ${result.vigil.bodyBytes} bytes for both (vigil's \`/health\` with details). ` +
    `Fresh GETs: one at a time, 100 ms apart, each on a new connection, ${GET_TIMEOUT_MS / 1000} s timeout (unanswered = failed). ` +
    `CPU: utime + stime of the target over the attack ÷ wall time (all threads; 100 % = one core). RSS growth: highest VmRSS sampled every 100 ms minus VmRSS before.`,
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2), { clients: 40, seconds: 10, requests: 5000, batch: 1000, churnMs: 0, details: '', json: false });
  const result = await run(options);
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${toMarkdown(result)}\n`);
}
