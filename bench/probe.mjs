// Probe benchmark: probes answer from the latest results, so they must stay fast while a check
// hangs. A fixture app under the agent registers a check that never settles (each run times out
// after 2 s); we send sequential probes and compare their latency with a bare node:http server
// returning a fixed JSON body, measured in the same run, request for request interleaved.
//
//   node bench/probe.mjs [--requests 500] [--json]
import http from 'node:http';
import { join } from 'node:path';
import {
  FIXTURES, PRELOADS, cleanEnv, isMain, kill, ms, nowMs, parseArgs, percentile, progress,
  requireBuild, sleep, spawnNode, table, withRetry,
} from './lib.mjs';

const START_TIMEOUT_MS = 30_000;

/**
 * One GET on a fresh connection, as the kubelet does (its probes do not keep connections
 * alive); resolves to { ms, status, body } once the whole answer has arrived.
 */
function get(port, path) {
  const t0 = nowMs();
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ ms: nowMs() - t0, status: res.statusCode, body }));
    }).on('error', reject);
  });
}

/** Starts a child and resolves with its port, read by `parse` from its stdout or stderr lines. */
function startChild(args, env, stream, parse) {
  const child = spawnNode(args, { env });
  let log = '';
  const port = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no port within ${START_TIMEOUT_MS} ms\n${log}`)), START_TIMEOUT_MS);
    let buffer = '';
    child[stream].on('data', (d) => {
      buffer += d;
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const found = parse(line);
        if (found) { clearTimeout(timer); resolve(found); }
      }
    });
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`exited early (${code ?? signal})\n${log}`)); });
  });
  // Keep draining both pipes (a full pipe would block the child's synchronous log writes).
  for (const s of ['stdout', 'stderr']) child[s].on('data', (d) => { if (log.length < 4000) log += d; });
  return { child, port };
}

/** The agent's "listening" JSON line on stderr carries the probe port. */
function probePortOf(line) {
  try {
    const record = JSON.parse(line);
    return typeof record.msg === 'string' && record.msg.startsWith('listening') && Number.isInteger(record.port) ? record.port : undefined;
  } catch {
    return undefined; // not a JSON line: the app's or node's own output
  }
}

function summarize(samples) {
  const times = samples.map((s) => s.ms);
  const statuses = {};
  for (const s of samples) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  return { n: times.length, p50: percentile(times, 50), p99: percentile(times, 99), max: Math.max(...times), statuses };
}

async function startBoth(env) {
  const app = startChild([...PRELOADS.vigil, join(FIXTURES, 'hanging-check.js')], env, 'stderr', probePortOf);
  const ref = startChild([join(FIXTURES, 'plain-json.js')], env, 'stdout', (line) => (/^\d+$/.test(line) ? Number(line) : undefined));
  try {
    return { app, ref, appPort: await app.port, refPort: await ref.port };
  } catch (error) {
    await Promise.all([kill(app.child), kill(ref.child)]);
    throw error;
  }
}

export async function run({ requests = 500 } = {}) {
  requireBuild();
  const env = cleanEnv();
  const { app, ref, appPort, refPort } = await withRetry('probe start', () => startBoth(env));
  try {
    // Wait until the check has timed out once, so every measured probe is answered while it
    // hangs and with it failing (not from the "no result yet" state of the first 2 s).
    progress(`probe: agent probes on port ${appPort}, reference on ${refPort}; waiting for the stuck check to time out`);
    const t0 = nowMs();
    let report;
    for (;;) {
      report = JSON.parse((await get(appPort, '/health')).body);
      const stuck = report.checks?.stuck?.[0];
      // Before its first run ends the check reads "pending"; we want a run that has timed out.
      if (stuck?.status === 'fail' && !/^pending/.test(stuck.output ?? '')) break;
      if (nowMs() - t0 > 15_000) throw new Error(`the stuck check did not fail within 15 s: ${JSON.stringify(report.checks?.stuck)}`);
      await sleep(100);
    }
    progress(`probe: check "stuck" failing after ${(nowMs() - t0).toFixed(0)} ms (${report.checks.stuck[0].output ?? 'no output'}); sending ${requests} × 3 requests`);
    // A few unrecorded requests warm up both servers' code paths (JIT) alike.
    for (let i = 0; i < 20; i++) { await get(appPort, '/health/ready'); await get(appPort, '/health/live'); await get(refPort, '/'); }
    const samples = { ready: [], live: [], reference: [] };
    for (let i = 0; i < requests; i++) {
      samples.ready.push(await get(appPort, '/health/ready'));
      samples.live.push(await get(appPort, '/health/live'));
      samples.reference.push(await get(refPort, '/'));
      if ((i + 1) % 100 === 0) progress(`probe: ${i + 1}/${requests}`);
    }
    const stuck = JSON.parse((await get(appPort, '/health')).body).checks?.stuck?.[0];
    return {
      requests,
      stats: { ready: summarize(samples.ready), live: summarize(samples.live), reference: summarize(samples.reference) },
      stuckAtEnd: stuck,
    };
  } finally {
    await Promise.all([kill(app.child), kill(ref.child)]);
  }
}

export function toMarkdown(result) {
  const { stats } = result;
  const label = {
    ready: 'vigil `GET /health/ready` (check hanging)',
    live: 'vigil `GET /health/live` (check hanging)',
    reference: 'reference: bare `node:http`, fixed JSON',
  };
  const ref = stats.reference;
  const rows = Object.entries(stats).map(([k, s]) => [
    label[k], String(s.n), Object.entries(s.statuses).map(([code, n]) => `${code}×${n}`).join(', '),
    ms(s.p50), ms(s.p99), ms(s.max),
    k === 'reference' ? '—' : `${(s.p50 - ref.p50 >= 0 ? '+' : '−')}${Math.abs(s.p50 - ref.p50).toFixed(2)} ms / ×${(s.p50 / ref.p50).toFixed(2)}`,
  ]);
  return [
    table(['target', 'requests', 'status codes', 'p50', 'p99', 'max', 'p50 vs reference'], rows),
    '',
    `Each request on a fresh connection (as the kubelet probes), sequential, the three targets interleaved. ` +
    `The check \`stuck\` never settles (timeoutMs 2000, intervalMs 500); at the end its latest result was ` +
    `\`${result.stuckAtEnd?.status}\`${result.stuckAtEnd?.output ? ` ("${result.stuckAtEnd.output}")` : ''}.`,
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2), { requests: 500, json: false });
  const result = await run(options);
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${toMarkdown(result)}\n`);
}
