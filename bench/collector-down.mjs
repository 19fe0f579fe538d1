// Collector-down benchmark: an agent under sustained load while its collector is well, refuses
// connections, or accepts them and never answers. For each, the server process's RSS every
// `--every` seconds and, from the telemetry entry of /health, the spans exported and dropped
// (by error.type): memory must stay bounded, and every span must be accounted for. `--protocol
// grpc` exports OTLP/gRPC (the sink then answers gRPC; the silent collector never sends HTTP/2's
// SETTINGS).
//
//   node bench/collector-down.mjs [--seconds 120] [--every 20] [--connections 8] [--protocol http|grpc] [--json]
//
// Needs `wrk` (Debian's package).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { FIXTURES, REFUSED_ENDPOINT, assertRefused, cleanEnv, isMain, kill, parseArgs, progress, requireBuild, sleep, spawnNode, table } from './lib.mjs';

const rssMiB = (pid) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

/** A collector that accepts connections, reads what comes and never answers. */
async function silentCollector() {
  const sockets = new Set();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.resume();
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => { for (const s of sockets) s.destroy(); server.close(); } };
}

async function startAgent(endpoint, protocol) {
  const env = cleanEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: protocol === 'grpc' ? 'grpc' : 'http/protobuf', VIGIL_HOST: '127.0.0.1' });
  const child = spawnNode(['--require', './dist/register.js', join(FIXTURES, 'hello.js')], { env });
  const ports = await new Promise((resolve, reject) => {
    const found = {};
    const timer = setTimeout(() => reject(new Error('no ports within 30 s')), 30_000);
    const done = () => { if (found.app && found.probe) { clearTimeout(timer); resolve(found); } };
    child.stdout.on('data', (d) => { const m = /^(\d+)$/m.exec(String(d)); if (m && !found.app) { found.app = Number(m[1]); done(); } });
    child.stderr.on('data', (d) => { const m = /"port":(\d+)/.exec(String(d)); if (m && !found.probe) { found.probe = Number(m[1]); done(); } });
  });
  return { child, ...ports };
}

function telemetryEntry(probePort) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: probePort, path: '/health' }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(JSON.parse(body).checks.telemetry?.[0]));
    }).on('error', reject);
  });
}

function wrk(port, seconds, connections) {
  const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  return Number(/(\d+) requests in/.exec(out)?.[1]);
}

async function measure(label, endpoint, options) {
  progress(`${label}: ${options.seconds} s of load`);
  const agent = await startAgent(endpoint, options.protocol);
  try {
    const rss = [rssMiB(agent.child.pid)];
    let requests = 0;
    for (let t = 0; t < options.seconds; t += options.every) {
      requests += wrk(agent.app, options.every, options.connections);
      rss.push(rssMiB(agent.child.pid));
    }
    // Let the last exports end (a silent collector's after the 10 s export timeout), then let the
    // telemetry check run once more (every 10 s, +10 % jitter): /health shows its latest run.
    await sleep(23_000);
    const entry = await telemetryEntry(agent.probe);
    const details = entry?.details ?? {};
    const dropped = Object.entries(details).filter(([k]) => k.startsWith('traces.dropped.')).map(([k, v]) => `${k.slice('traces.dropped.'.length)} ${v}`);
    return { label, requests, rss, status: entry?.status, exported: details['traces.exported'] ?? 0, dropped, droppedTotal: Object.entries(details).filter(([k]) => k.startsWith('traces.dropped.')).reduce((s, [, v]) => s + v, 0) };
  } finally {
    await kill(agent.child);
  }
}

export async function run(options) {
  requireBuild();
  await assertRefused(REFUSED_ENDPOINT);
  const sink = spawnNode([join(FIXTURES, 'otlp-sink.js'), ...(options.protocol === 'grpc' ? ['--grpc'] : [])]);
  const sinkPort = await new Promise((resolve) => sink.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  const silent = await silentCollector();
  try {
    return [
      await measure('collector well (OTLP sink)', `http://127.0.0.1:${sinkPort}`, options),
      await measure('collector refusing (nothing listens)', REFUSED_ENDPOINT, options),
      await measure('collector silent (accepts, never answers)', silent.url, options),
    ];
  } finally {
    silent.close();
    await kill(sink);
  }
}

export function toMarkdown(results, options) {
  const rows = results.map((r) => [r.label, String(r.requests), r.rss.map((v) => v.toFixed(1)).join(' → '), String(r.exported), r.dropped.join(', ') || '0', r.status ?? '']);
  const protocol = options.protocol === 'grpc' ? 'OTLP/gRPC' : 'OTLP/HTTP';
  return [table([`collector (${protocol})`, 'requests (= server spans)', `RSS MiB, every ${options.every} s`, 'spans exported', 'spans dropped, by error.type', '/health telemetry'], rows), '',
    `\`wrk -t1 -c${options.connections}\` on \`bench/fixtures/hello.js\` for ${options.seconds} s, then 23 s for the last exports to end and the telemetry check to run again; counts from the telemetry entry of /health (check spans included).`, ''].join('\n');
}

if (isMain(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2), { seconds: 120, every: 20, connections: 8, protocol: 'http', json: false });
  if (!['http', 'grpc'].includes(options.protocol)) throw new Error('--protocol is http or grpc');
  const results = await run(options);
  process.stdout.write(options.json ? `${JSON.stringify(results, null, 2)}\n` : toMarkdown(results, options));
}
