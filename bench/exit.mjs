// Exit benchmark: a short-lived job (script, migration, cron job) must end as promptly under the
// agent as without it, even when the collector is down or never answers.
//
//   node bench/exit.mjs [--runs 5] [--json]
//
// For each collector condition — (a) refusing connections, (b) accepting and never answering —
// the variants bare / vigil / upstream run interleaved; we time spawn -> exit, cap each run at
// 60 s (killed, reported "> 60 s") and compare each median to bare node's in the same run.
import net from 'node:net';
import { join } from 'node:path';
import {
  FIXTURES, PRELOADS, REFUSED_ENDPOINT, VARIANT_LABEL, assertRefused, cleanEnv, distStamp, isMain, kill, median,
  ms, nowMs, parseArgs, progress, requireBuild, signed, spawnNode, table, withRetry,
} from './lib.mjs';

const CAP_MS = 60_000;
/** The agent's exit-flush deadline, set explicitly so the comparison does not depend on a default. */
const FLUSH_TIMEOUT_MS = 1000;

/** A "collector" that accepts connections, reads whatever arrives and never answers. */
async function startHangingCollector() {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => {}); // swallow the request so the client waits for an answer, not for a write
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Runs the job once; resolves to { ms, code } (ms = Infinity when it had to be killed at the cap). */
async function timeOnce(preload, env) {
  const t0 = nowMs();
  const child = spawnNode([...preload, join(FIXTURES, 'short-job.js')], { env });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (d) => { if (stderr.length < 4000) stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), CAP_MS);
  const { code, signal } = await new Promise((resolve) => child.once('exit', (c, s) => resolve({ code: c, signal: s })));
  const elapsed = nowMs() - t0;
  clearTimeout(timer);
  await kill(child);
  if (signal === 'SIGKILL') return { ms: Infinity, code: 'killed at cap' };
  // A job that failed did not run the same work: that is a broken measurement, not a figure.
  if (code !== 0) throw new Error(`${preload.join(' ') || 'bare'}: exit code ${code ?? signal}\n${stderr}`);
  return { ms: elapsed, code };
}

export async function run({ runs = 5, variants = ['bare', 'vigil', 'upstream'] } = {}) {
  requireBuild();
  await assertRefused(REFUSED_ENDPOINT);
  const hanging = await startHangingCollector();
  const conditions = {
    refused: { label: `(a) collector refuses connections (${REFUSED_ENDPOINT})`, endpoint: REFUSED_ENDPOINT },
    hanging: { label: '(b) collector accepts and never answers (local TCP server)', endpoint: hanging.endpoint },
  };
  const samples = {};
  const stampBefore = distStamp();
  try {
    for (let i = 0; i < runs; i++) {
      for (const [c, { endpoint }] of Object.entries(conditions)) {
        const env = cleanEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, VIGIL_FLUSH_TIMEOUT_MS: String(FLUSH_TIMEOUT_MS) });
        const line = [];
        for (const v of variants) {
          const { ms: t } = await withRetry(`exit ${v}/${c}`, () => timeOnce(PRELOADS[v], env));
          ((samples[c] ??= {})[v] ??= []).push(t);
          line.push(`${v} ${Number.isFinite(t) ? `${t.toFixed(0)} ms` : `> ${CAP_MS / 1000} s`}`);
        }
        progress(`exit ${i + 1}/${runs} ${c}: ${line.join(', ')}`);
      }
    }
  } finally {
    await hanging.close();
  }
  const stats = {};
  for (const c of Object.keys(conditions)) {
    stats[c] = {};
    for (const v of variants) {
      const s = samples[c][v];
      stats[c][v] = { median: median(s), min: Math.min(...s), max: Math.max(...s), capped: s.filter((x) => !Number.isFinite(x)).length };
    }
  }
  const distChanged = distStamp() !== stampBefore;
  if (distChanged) progress('exit: WARNING dist/ was rebuilt during the run; samples may mix builds');
  return {
    runs, variants, capMs: CAP_MS, flushTimeoutMs: FLUSH_TIMEOUT_MS, samples, stats, distChanged,
    conditions: Object.fromEntries(Object.entries(conditions).map(([c, { label }]) => [c, label])),
  };
}

const show = (v) => (Number.isFinite(v) ? ms(v) : `> ${CAP_MS / 1000} s`);

export function toMarkdown(result) {
  const { stats, variants, conditions, flushTimeoutMs } = result;
  const out = [];
  for (const [c, label] of Object.entries(conditions)) {
    const base = stats[c].bare.median;
    out.push(`**${label}**`, '', table(
      ['variant', 'spawn → exit, median', 'min – max', 'late vs bare (median)', 'ratio'],
      variants.map((v) => {
        const s = stats[c][v];
        const late = s.median - base;
        return [
          VARIANT_LABEL[v], show(s.median), `${show(s.min)} – ${show(s.max)}${s.capped ? ` (${s.capped} killed)` : ''}`,
          v === 'bare' ? '—' : Number.isFinite(late) ? signed(late, ' ms') : `> ${((CAP_MS - base) / 1000).toFixed(0)} s`,
          v === 'bare' ? '—' : Number.isFinite(late) ? `×${(s.median / base).toFixed(1)}` : '—',
        ];
      }),
    ), '');
  }
  if (stats.refused.vigil && stats.hanging.vigil) {
    const worst = Math.max(stats.refused.vigil.median - stats.refused.bare.median, stats.hanging.vigil.median - stats.hanging.bare.median);
    out.push(`Target for vigil: at most the flush deadline (VIGIL_FLUSH_TIMEOUT_MS=${flushTimeoutMs} ms) late, plus its start-up cost. ` +
      `Worst median lateness measured: ${signed(worst, ' ms')}.`);
  }
  return out.join('\n');
}

if (isMain(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2), { runs: 5, json: false });
  const result = await run(options);
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${toMarkdown(result)}\n`);
}
