// Startup benchmark: how much later does a hello-world HTTP service answer its first request,
// and how much more memory does it hold by then, under each preload?
//
//   node bench/startup.mjs [--runs 15] [--variants bare,vigil,upstream] [--node-options '--max-old-space-size=4096'] [--json]
//
// Variants run interleaved (bare, vigil, upstream, bare, vigil, ...) so that the machine's noise
// (2 shared cores here) lands on all of them alike; we report medians and p90 and compare each
// to bare node measured in the same run, never to absolute numbers.
import http from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  FIXTURES, PRELOADS, VARIANT_LABEL, cleanEnv, distStamp, isMain, kill, median, mib, ms, nowMs,
  parseArgs, percentile, progress, ratio, requireBuild, signed, spawnNode, table, withRetry,
} from './lib.mjs';

/** From the issue: what the agent may add over bare node. */
export const BUDGET = { ms: 60, mib: 20 };
const RUN_TIMEOUT_MS = 30_000;

/** One GET with a fresh connection; resolves when the whole answer has arrived. */
function getOnce(port) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    }).on('error', reject);
  });
}

/** Peak resident set size (kB) of a live process, from the kernel's high-water mark. */
function peakRssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)[1]);
}

/**
 * CPU time (ms) the process has used so far, all its threads: the sum of the first field of
 * /proc/<pid>/task/<tid>/schedstat (ns on CPU). Unlike wall time, it barely moves when other
 * processes compete for the 2 shared cores, so it shows the preload's own cost more steadily.
 */
function cpuMs(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch { /* the thread ended meanwhile */ }
  }
  return ns / 1e6;
}

/** Spawns the fixture under `preload`; returns { ms, kib, cpu } at its first answered request. */
export async function measureOnce(preload, env) {
  const t0 = nowMs();
  const child = spawnNode([...preload, join(FIXTURES, 'hello.js')], { env });
  let stderr = '';
  child.stderr.on('data', (d) => { if (stderr.length < 4000) stderr += d; });
  try {
    const port = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no port printed within ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
      child.stdout.on('data', (d) => {
        out += d;
        const match = /^(\d+)\n/m.exec(out);
        if (match) { clearTimeout(timer); resolve(Number(match[1])); }
      });
      child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`exited early (${code ?? signal})`)); });
    });
    // The port is printed from the listen callback, so the first GET should succeed; retry
    // quickly anyway rather than assume it.
    for (;;) {
      try {
        await getOnce(port);
        break;
      } catch (error) {
        if (nowMs() - t0 > RUN_TIMEOUT_MS) throw error;
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    const elapsed = nowMs() - t0;
    return { ms: elapsed, kib: peakRssKiB(child.pid), cpu: cpuMs(child.pid) };
  } catch (error) {
    throw new Error(`${preload.join(' ') || 'bare'}: ${error.message}\n${stderr}`);
  } finally {
    await kill(child);
  }
}

export async function run({ runs = 15, variants = ['bare', 'vigil', 'upstream'], nodeOptions = '' } = {}) {
  requireBuild();
  // NODE_OPTIONS (for all variants alike) shows what V8 flags, common in production, do to the
  // preload: V8 rejects a code cache made under other flags.
  const env = cleanEnv(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {});
  const unknown = variants.filter((v) => !PRELOADS[v]);
  if (unknown.length || !variants.includes('bare')) throw new Error(`variants: ${Object.keys(PRELOADS).join(', ')}; bare is the reference and must be one of them`);
  const samples = Object.fromEntries(variants.map((v) => [v, { ms: [], kib: [], cpu: [] }]));
  // One unrecorded round first: it fills the OS page cache with node_modules and dist, which
  // would otherwise make whichever variant runs first look slow.
  progress(`startup: warm-up round`);
  const stampBefore = distStamp();
  for (const v of variants) await withRetry(`startup ${v}`, () => measureOnce(PRELOADS[v], env));
  for (let i = 0; i < runs; i++) {
    const line = [];
    for (const v of variants) {
      const { ms: t, kib, cpu } = await withRetry(`startup ${v}`, () => measureOnce(PRELOADS[v], env));
      samples[v].ms.push(t);
      samples[v].kib.push(kib);
      samples[v].cpu.push(cpu);
      line.push(`${v} ${t.toFixed(0)} ms (cpu ${cpu.toFixed(0)}) ${(kib / 1024).toFixed(0)} MiB`);
    }
    progress(`startup ${i + 1}/${runs}: ${line.join(', ')}`);
  }
  const stats = {};
  for (const v of variants) {
    const s = samples[v];
    stats[v] = {
      msMedian: median(s.ms), msP90: percentile(s.ms, 90),
      kibMedian: median(s.kib), kibP90: percentile(s.kib, 90),
      cpuMedian: median(s.cpu), cpuP90: percentile(s.cpu, 90),
    };
  }
  const distChanged = distStamp() !== stampBefore;
  if (distChanged) progress('startup: WARNING dist/ was rebuilt during the run; samples may mix builds');
  return { runs, variants, nodeOptions, samples, stats, env: pickEnv(env), distChanged };
}

/** The bench's own settings, for the report. */
function pickEnv(env) {
  return Object.fromEntries(Object.entries(env).filter(([k]) => /^(OTEL_|VIGIL_|NODE_OPTIONS$)/.test(k)));
}

export function toMarkdown(result) {
  const { stats, variants } = result;
  const base = stats.bare;
  const rows = variants.map((v) => {
    const s = stats[v];
    const rel = v === 'bare' ? ['—', '—', '—', '—'] : [
      signed(s.msMedian - base.msMedian, ' ms'), ratio(s.msMedian, base.msMedian),
      signed((s.kibMedian - base.kibMedian) / 1024, ' MiB'), ratio(s.kibMedian, base.kibMedian),
    ];
    return [VARIANT_LABEL[v], ms(s.msMedian), ms(s.msP90), mib(s.kibMedian), mib(s.kibP90), ...rel];
  });
  const cpuRows = variants.map((v) => {
    const s = stats[v];
    return [VARIANT_LABEL[v], ms(s.cpuMedian), ms(s.cpuP90), v === 'bare' ? '—' : signed(s.cpuMedian - base.cpuMedian, ' ms'), v === 'bare' ? '—' : ratio(s.cpuMedian, base.cpuMedian)];
  });
  const lines = [table(
    ['variant', 'first answer, median', 'p90', 'peak RSS, median', 'p90', 'Δ time vs bare', 'ratio', 'Δ RSS vs bare', 'ratio'],
    rows,
  ), '', 'CPU time the child used until its first answer (all threads, from `/proc/<pid>/task/*/schedstat`; steadier than wall time when other work shares the cores):', '', table(
    ['variant', 'CPU until first answer, median', 'p90', 'Δ CPU vs bare', 'ratio'],
    cpuRows,
  )];
  if (stats.vigil && stats.bare) {
    const dt = stats.vigil.msMedian - base.msMedian;
    const dm = (stats.vigil.kibMedian - base.kibMedian) / 1024;
    const verdict = (ok) => (ok ? 'within budget' : '**over budget**');
    lines.push('', `Budget for vigil: at most +${BUDGET.ms} ms and +${BUDGET.mib} MiB over bare node. ` +
      `Measured: ${signed(dt, ' ms')} (${verdict(dt <= BUDGET.ms)}), ${signed(dm, ' MiB')} (${verdict(dm <= BUDGET.mib)}).`);
  }
  return lines.join('\n');
}

if (isMain(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2), { runs: 15, variants: 'bare,vigil,upstream', nodeOptions: '', json: false });
  const result = await run({ ...options, variants: options.variants.split(',') });
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${toMarkdown(result)}\n`);
}
