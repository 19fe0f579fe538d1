// Throughput benchmark: what a request costs under each agent. For bare node, vigil tracing every
// request (exported to a local OTLP sink), vigil with sampling off (`always_off`) and the upstream
// register (tracing, exported to the same sink), in interleaved rounds: the server process's CPU
// time per request (from /proc, steadier than wall time), req/s and p99 under wrk; and, under the
// same load, the probe server's /health/ready latency against a plain handler of the same process.
// The server is pinned to one core and wrk, the sink and this script to the other. `--idle-seconds`
// measures idle processes instead (no traffic): CPU, wake-ups and RSS over that time.
//
//   node bench/throughput.mjs [--rounds 5] [--seconds 8] [--connections 16] [--fixture hello|express-app|all] [--json]
//   node bench/throughput.mjs --idle-seconds 600 [--json]
//
// Needs `wrk` (Debian's package) and, for express-app, PostgreSQL and Redis on 127.0.0.1.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import {
  FIXTURES, PRELOADS, ROOT, assertListening, cleanEnv, isMain, kill, median, nowMs, parseArgs, percentile, progress,
  requireBuild, sleep, spawnNode, startDownstream, table, track,
} from './lib.mjs';

export const VARIANTS = {
  bare: { preload: PRELOADS.bare, env: {}, label: 'bare `node`' },
  traced: { preload: PRELOADS.vigil, env: {}, label: 'vigil, every request traced and exported' },
  unsampled: { preload: PRELOADS.vigil, env: { OTEL_TRACES_SAMPLER: 'always_off' }, label: 'vigil, `OTEL_TRACES_SAMPLER=always_off`' },
  upstream: { preload: PRELOADS.upstream, env: {}, label: 'upstream register, every request traced and exported' },
};

export const FIXTURE_SPECS = {
  hello: { file: 'hello.js', title: '`bench/fixtures/hello.js` (`node:http`, a fixed body)' },
  'express-app': { file: 'express-app.js', title: '`bench/fixtures/express-app.js` (express 4; `GET /` = 1 pg query, 1 Redis GET, 1 pino line, 1 `fetch()` downstream)', needs: true },
};

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const CORES = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return { server: ['taskset', '-c', '0'], rest: '1' };
  } catch {
    return { server: [], rest: undefined };
  }
})();
if (CORES.rest) {
  try { execFileSync('taskset', ['-cp', CORES.rest, String(process.pid)], { stdio: 'ignore' }); } catch { /* not pinned: noisier */ }
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Starts a node child (pinned to the server core) and resolves with its app port from stdout, and the probe port when the agent prints one. */
function startServer(args, env) {
  const child = track(spawn(CORES.server[0] ?? process.execPath, [...CORES.server.slice(1), ...(CORES.server.length ? [process.execPath] : []), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let log = '';
  const ports = { app: undefined, probe: undefined };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no port within 30 s\n${log}`)), 30_000);
    const done = () => {
      if (ports.app && (ports.probe || !args.includes('./dist/register.js'))) { clearTimeout(timer); resolve({ child, ...ports }); }
    };
    child.stdout.on('data', (d) => {
      const match = /^(\d+)$/m.exec(String(d));
      if (match && !ports.app) { ports.app = Number(match[1]); done(); }
    });
    child.stderr.on('data', (d) => {
      if (log.length < 4000) log += d;
      const match = /"port":(\d+)/.exec(String(d));
      if (match && !ports.probe) { ports.probe = Number(match[1]); done(); }
    });
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`exited early (${code ?? signal})\n${log}`)); });
  });
}

/** Runs wrk against a URL; resolves to its requests, req/s and p99 latency (ms). */
function wrk(url, seconds, connections) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url];
  return new Promise((resolve, reject) => {
    const child = track(spawn(CORES.rest ? 'taskset' : 'wrk', CORES.rest ? ['-c', CORES.rest, 'wrk', ...args] : args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.once('exit', (code) => {
      const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const p99 = /99%\s+([\d.]+)(us|ms|s)\b/.exec(out);
      const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
      if (code !== 0 || !(requests > 0)) return reject(new Error(`wrk failed (${code}):\n${out}`));
      if (errors) return reject(new Error(`wrk saw errors:\n${out}`));
      resolve({ requests, rps, p99: Number(p99[1]) * { us: 0.001, ms: 1, s: 1000 }[p99[2]] });
    });
  });
}

/** One GET on a fresh connection (as the kubelet probes); resolves to its latency in ms. */
function probeOnce(port, path) {
  const t0 = nowMs();
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(nowMs() - t0));
    }).on('error', reject);
  });
}

/** Alternates probe and plain GETs every `everyMs` until `stop()`; resolves to both latency lists. */
function sampleLatencies(probePort, appPort, everyMs) {
  const samples = { probe: [], plain: [] };
  let running = true;
  const done = (async () => {
    while (running) {
      samples.probe.push(await probeOnce(probePort, '/health/ready'));
      samples.plain.push(await probeOnce(appPort, '/plain'));
      await sleep(everyMs);
    }
    return samples;
  })();
  return { stop: () => { running = false; return done; } };
}

async function measure(fixture, variant, env, options) {
  const spec = VARIANTS[variant];
  const { child, app, probe } = await startServer([...spec.preload, join(FIXTURES, FIXTURE_SPECS[fixture].file)], { ...env, ...spec.env });
  try {
    const url = `http://127.0.0.1:${app}/`;
    await wrk(url, 2, options.connections); // warm-up: JIT, connection pools, lazy loads
    const sampler = probe ? sampleLatencies(probe, app, 20) : undefined;
    const cpu0 = cpuSeconds(child.pid);
    const result = await wrk(url, options.seconds, options.connections);
    const cpu = cpuSeconds(child.pid) - cpu0;
    const latencies = await sampler?.stop();
    // The sampler's own requests were served too: they are few (one per 20 ms) and counted.
    const served = result.requests + (latencies ? latencies.probe.length + latencies.plain.length : 0);
    return {
      cpuUs: (cpu * 1e6) / served, rps: result.rps, p99: result.p99,
      probeP50: latencies ? percentile(latencies.probe, 50) : undefined, plainP50: latencies ? percentile(latencies.plain, 50) : undefined,
    };
  } finally {
    await kill(child);
  }
}

export async function run(options) {
  requireBuild();
  const fixtures = options.fixture === 'all' ? Object.keys(FIXTURE_SPECS) : [options.fixture];
  if (fixtures.some((f) => FIXTURE_SPECS[f].needs)) {
    await assertListening('127.0.0.1', 5432, 'PostgreSQL');
    await assertListening('127.0.0.1', 6379, 'Redis');
  }
  const sink = spawnNode([join(FIXTURES, 'otlp-sink.js')]);
  const sinkPort = await new Promise((resolve) => sink.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  const downstream = await startDownstream();
  const env = cleanEnv({
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}`, VIGIL_HOST: '127.0.0.1', BENCH_DOWNSTREAM_URL: downstream.url,
    // vigil's own checks stay the defaults (the built-ins): the cost of a normal agent.
  });
  const results = {};
  try {
    for (const fixture of fixtures) {
      results[fixture] = Object.fromEntries(Object.keys(VARIANTS).map((v) => [v, []]));
      for (let round = 1; round <= options.rounds; round++) {
        // A different order each round, so that no variant always runs first or last.
        const order = Object.keys(VARIANTS);
        for (let i = 0; i < round - 1; i++) order.push(order.shift());
        for (const variant of order) {
          progress(`${fixture} round ${round}/${options.rounds}: ${variant}`);
          results[fixture][variant].push(await measure(fixture, variant, env, options));
        }
      }
    }
  } finally {
    await kill(sink);
    await downstream.close();
  }
  return { options, cores: CORES, results };
}

/** Context switches of every thread of a process so far: how often it woke up. */
function wakeups(pid) {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      total += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0) + Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch { /* a thread that ended meanwhile */ }
  }
  return total;
}

const rssKiB = (pid) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

/**
 * Idle processes of bare node, vigil and the upstream, side by side: no traffic at all, sampled
 * every second after a 15 s settling time (start-up work and the first check runs are over):
 * CPU seconds, seconds in which the process used CPU, wake-ups (context switches), RSS.
 */
export async function idle(options) {
  requireBuild();
  const sink = spawnNode([join(FIXTURES, 'otlp-sink.js')]);
  const sinkPort = await new Promise((resolve) => sink.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  const env = cleanEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}`, VIGIL_HOST: '127.0.0.1' });
  const variants = ['bare', 'traced', 'upstream'];
  const servers = {};
  try {
    for (const variant of variants) servers[variant] = await startServer([...VARIANTS[variant].preload, join(FIXTURES, FIXTURE_SPECS.hello.file)], { ...env, ...VARIANTS[variant].env });
    await sleep(15_000);
    const series = Object.fromEntries(variants.map((v) => [v, []]));
    for (let second = 0; second <= options.idleSeconds; second++) {
      for (const v of variants) {
        const pid = servers[v].child.pid;
        series[v].push({ cpu: cpuSeconds(pid), wakeups: wakeups(pid), rss: rssKiB(pid) });
      }
      if (second % 60 === 0) progress(`idle: ${second} s of ${options.idleSeconds}`);
      await sleep(1000);
    }
    const summary = Object.fromEntries(variants.map((v) => {
      const s = series[v];
      const busySeconds = s.slice(1).filter((x, i) => x.cpu > s[i].cpu).length;
      const minutes = options.idleSeconds / 60;
      return [v, {
        cpuMsPerMinute: ((s.at(-1).cpu - s[0].cpu) * 1000) / minutes,
        busySecondsPerMinute: busySeconds / minutes,
        wakeupsPerMinute: (s.at(-1).wakeups - s[0].wakeups) / minutes,
        rssMiB: s.filter((_, i) => i % 60 === 0).map((x) => Math.round(x.rss / 102.4) / 10),
      }];
    }));
    return { options, summary };
  } finally {
    await Promise.all(Object.values(servers).map((server) => kill(server.child)));
    await kill(sink);
  }
}

export function idleToMarkdown({ options, summary }) {
  const rows = Object.entries(summary).map(([v, r]) => [VARIANTS[v].label.replace(', every request traced and exported', ''), r.cpuMsPerMinute.toFixed(0), r.busySecondsPerMinute.toFixed(1), r.wakeupsPerMinute.toFixed(0), r.rssMiB.join(' → ')]);
  return [`Idle \`bench/fixtures/hello.js\`, no traffic, ${options.idleSeconds} s after 15 s of settling, the three processes side by side:`, '',
    table(['process', 'CPU ms / minute', 'seconds with CPU use / minute', 'wake-ups (context switches) / minute', 'RSS MiB, each minute'], rows), ''].join('\n');
}

const range = (values, digits) => `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;

export function toMarkdown({ options, results }) {
  return Object.entries(results).map(([fixture, byVariant]) => {
    const bare = median(byVariant.bare.map((r) => r.cpuUs));
    const bareRps = median(byVariant.bare.map((r) => r.rps));
    const rows = Object.entries(byVariant).map(([variant, runs]) => {
      const cpu = runs.map((r) => r.cpuUs);
      const probes = runs.filter((r) => r.probeP50 !== undefined);
      return [
        VARIANTS[variant].label, range(cpu, 1), `×${(median(cpu) / bare).toFixed(2)}`, range(runs.map((r) => r.rps), 0),
        `×${(median(runs.map((r) => r.rps)) / bareRps).toFixed(2)}`, range(runs.map((r) => r.p99), 2),
        probes.length ? `${median(probes.map((r) => r.probeP50)).toFixed(2)} / ${median(probes.map((r) => r.plainP50)).toFixed(2)} ms (×${median(probes.map((r) => r.probeP50 / r.plainP50)).toFixed(2)})` : '',
      ];
    });
    return [`#### ${FIXTURE_SPECS[fixture].title}`, '',
      table(['variant', 'CPU µs / request, median (range)', 'vs bare', 'req/s', 'vs bare', 'p99 ms', '/health/ready p50 / plain handler p50 (ratio)'], rows), ''].join('\n');
  }).join('\n') + `\n${options.rounds} interleaved rounds per variant, each ${options.seconds} s of \`wrk -t1 -c${options.connections}\` after a 2 s warm-up.\n`;
}

if (isMain(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2), { rounds: 5, seconds: 8, connections: 16, fixture: 'hello', idleSeconds: 0, json: false });
  const result = options.idleSeconds ? await idle(options) : await run(options);
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : options.idleSeconds ? idleToMarkdown(result) : toMarkdown(result));
}
