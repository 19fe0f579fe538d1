// Startup benchmark: how much later does an HTTP service answer its first request, and how much
// more memory does it hold by then, under each preload? Two fixtures:
//   hello        bench/fixtures/hello.js, the smallest node:http service;
//   express-app  bench/fixtures/express-app.js, express 4 + pg + ioredis + pino whose GET / does a
//                pg query, a Redis GET, a log line and a fetch() to a downstream server (started
//                here), so the first answer comes after the first request has been traced.
//                Needs PostgreSQL on 127.0.0.1:5432 (postgres/test, trust) and Redis on 127.0.0.1:6379.
//
//   node bench/startup.mjs [--runs 15] [--fixture hello|express-app|hello-esm|all] [--variants bare,vigil,upstream]
//                          [--node-options '--max-old-space-size=4096'] [--json]
//
// Variants run interleaved (bare, vigil, upstream, bare, vigil, ...), and so do the fixtures
// within each round, so that the machine's noise (2 shared cores here) lands on all of them
// alike; we report medians and p90 and compare each to bare node measured in the same run, never
// to absolute numbers. Telemetry goes to a port that refuses connections at once (checked first),
// so export costs nothing but a refused connect.
import http from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  FIXTURES, PRELOADS, REFUSED_ENDPOINT, VARIANT_LABEL, assertListening, assertRefused, cleanEnv, distStamp,
  isMain, kill, median, mib, ms, nowMs, parseArgs, percentile, progress, ratio, requireBuild, signed,
  spawnNode, table, withRetry, startDownstream,
} from './lib.mjs';

/**
 * The fixtures, with what the agent may add over bare node for each (issue 9) and the services
 * each needs. `mib: undefined`: no memory budget set for that fixture (the delta is still shown).
 */
export const FIXTURE_SPECS = {
  hello: {
    file: 'hello.js',
    budget: { ms: 60, mib: 20 },
    needs: [],
    title: '`bench/fixtures/hello.js`: the smallest `node:http` service',
  },
  'express-app': {
    file: 'express-app.js',
    budget: { ms: 80, mib: undefined },
    needs: [['127.0.0.1', 5432, 'PostgreSQL'], ['127.0.0.1', 6379, 'Redis']],
    downstream: true,
    title: '`bench/fixtures/express-app.js`: express 4 + pg Pool + ioredis + pino at start; `GET /` = 1 pg query, 1 Redis GET, 1 pino line (to /dev/null), 1 `fetch()` downstream',
  },
  // No budget of its own in the issue: shown so that the price of an ES module loader is known.
  'hello-esm': {
    file: 'hello-esm.mjs',
    budget: { ms: undefined, mib: undefined },
    needs: [],
    // Both agents register their ES module loader hook under --import.
    preloads: { vigil: ['--import', './dist/register.js'], upstream: ['--import', '@opentelemetry/auto-instrumentations-node/register'] },
    title: '`bench/fixtures/hello-esm.mjs`: hello.js as an ES module, agents preloaded with `--import`',
  },
};

/** The preload of a variant for a fixture, and its label. */
const preloadOf = (fixture, variant) => FIXTURE_SPECS[fixture].preloads?.[variant] ?? PRELOADS[variant];
const labelOf = (fixture, variant) => (FIXTURE_SPECS[fixture].preloads?.[variant] ? `${variant} (\`${preloadOf(fixture, variant).join(' ')}\`)` : VARIANT_LABEL[variant]);
/** A budget as text: `+60 ms, +20 MiB`, or — where the fixture has none. */
const budgetText = ({ ms, mib }, joiner = ', ') => [ms === undefined ? [] : [`+${ms} ms`], mib === undefined ? [] : [`+${mib} MiB`]].flat().join(joiner) || '—';
/** The hello-world budget, as before (kept for anyone importing it). */
export const BUDGET = FIXTURE_SPECS.hello.budget;
const RUN_TIMEOUT_MS = 30_000;

/** One GET with a fresh connection; resolves to the status code when the whole answer has arrived. */
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

/** Spawns `fixture` under `preload`; returns { ms, kib, cpu } at its first answered request. */
export async function measureOnce(fixture, preload, env) {
  const t0 = nowMs();
  const child = spawnNode([...preload, join(FIXTURES, FIXTURE_SPECS[fixture].file)], { env });
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
    // quickly anyway rather than assume it (connection errors only: an answer is an answer).
    let status;
    for (;;) {
      try {
        status = await getOnce(port);
        break;
      } catch (error) {
        if (nowMs() - t0 > RUN_TIMEOUT_MS) throw error;
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    const elapsed = nowMs() - t0;
    // An error page came sooner than the work it skipped: a broken run, not a figure.
    if (status !== 200) throw new Error(`first GET / answered ${status}`);
    return { ms: elapsed, kib: peakRssKiB(child.pid), cpu: cpuMs(child.pid) };
  } catch (error) {
    throw new Error(`${fixture}, ${preload.join(' ') || 'bare'}: ${error.message}\n${stderr}`);
  } finally {
    await kill(child);
  }
}

/** `all`, one fixture name or a comma-separated list of them. */
export function parseFixtures(value) {
  const list = value === 'all' ? Object.keys(FIXTURE_SPECS) : value.split(',').map((f) => f.trim()).filter(Boolean);
  const unknown = list.filter((f) => !FIXTURE_SPECS[f]);
  if (unknown.length || !list.length) throw new Error(`--fixture: ${Object.keys(FIXTURE_SPECS).join(', ')} or all (got ${value})`);
  return [...new Set(list)];
}

const statsOf = (s) => ({
  msMedian: median(s.ms), msP90: percentile(s.ms, 90),
  kibMedian: median(s.kib), kibP90: percentile(s.kib, 90),
  cpuMedian: median(s.cpu), cpuP90: percentile(s.cpu, 90),
});

export async function run({ runs = 15, fixtures = Object.keys(FIXTURE_SPECS), variants = ['bare', 'vigil', 'upstream'], nodeOptions = '' } = {}) {
  requireBuild();
  const unknown = variants.filter((v) => !PRELOADS[v]);
  if (unknown.length || !variants.includes('bare')) throw new Error(`variants: ${Object.keys(PRELOADS).join(', ')}; bare is the reference and must be one of them`);
  fixtures = parseFixtures(fixtures.join(','));
  // Export must cost nothing but a refused connect, the same for every variant.
  await assertRefused(REFUSED_ENDPOINT);
  for (const f of fixtures) for (const [host, port, what] of FIXTURE_SPECS[f].needs) await assertListening(host, port, `${what} (for the ${f} fixture)`);
  const downstream = fixtures.some((f) => FIXTURE_SPECS[f].downstream) ? await startDownstream() : undefined;
  // NODE_OPTIONS (for all variants alike) shows what V8 flags, common in production, do to the
  // preload: V8 rejects a code cache made under other flags.
  const env = cleanEnv({ ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}), ...(downstream ? { BENCH_DOWNSTREAM_URL: downstream.url } : {}) });
  const samples = Object.fromEntries(fixtures.map((f) => [f, Object.fromEntries(variants.map((v) => [v, { ms: [], kib: [], cpu: [] }]))]));
  const stampBefore = distStamp();
  try {
    // One unrecorded round first: it fills the OS page cache with node_modules and dist, which
    // would otherwise make whichever variant runs first look slow (and warms PostgreSQL's and
    // Redis's caches for the express fixture).
    progress('startup: warm-up round');
    for (const f of fixtures) for (const v of variants) await withRetry(`startup ${f} ${v}`, () => measureOnce(f, preloadOf(f, v), env));
    for (let i = 0; i < runs; i++) {
      const parts = [];
      for (const f of fixtures) {
        const line = [];
        for (const v of variants) {
          const { ms: t, kib, cpu } = await withRetry(`startup ${f} ${v}`, () => measureOnce(f, preloadOf(f, v), env));
          samples[f][v].ms.push(t);
          samples[f][v].kib.push(kib);
          samples[f][v].cpu.push(cpu);
          line.push(`${v} ${t.toFixed(0)} ms (cpu ${cpu.toFixed(0)}) ${(kib / 1024).toFixed(0)} MiB`);
        }
        parts.push(`${f}: ${line.join(', ')}`);
      }
      progress(`startup ${i + 1}/${runs}: ${parts.join('; ')}`);
    }
  } finally {
    await downstream?.close();
  }
  const byFixture = {};
  for (const f of fixtures) {
    const stats = Object.fromEntries(variants.map((v) => [v, statsOf(samples[f][v])]));
    const base = stats.bare;
    // Medians' differences to bare node, and the budget verdicts, spelled out for --json readers.
    const delta = Object.fromEntries(variants.filter((v) => v !== 'bare').map((v) => [v, {
      ms: stats[v].msMedian - base.msMedian,
      mib: (stats[v].kibMedian - base.kibMedian) / 1024,
      cpuMs: stats[v].cpuMedian - base.cpuMedian,
    }]));
    const { budget } = FIXTURE_SPECS[f];
    const withinBudget = delta.vigil && budget.ms !== undefined ? {
      ms: delta.vigil.ms <= budget.ms,
      ...(budget.mib === undefined ? {} : { mib: delta.vigil.mib <= budget.mib }),
    } : undefined;
    byFixture[f] = { fixture: `bench/fixtures/${FIXTURE_SPECS[f].file}`, budget, samples: samples[f], stats, delta, withinBudget };
  }
  const distChanged = distStamp() !== stampBefore;
  if (distChanged) progress('startup: WARNING dist/ was rebuilt during the run; samples may mix builds');
  return { runs, fixtures, variants, nodeOptions, byFixture, env: pickEnv(env), distChanged };
}

/** The bench's own settings, for the report. */
function pickEnv(env) {
  return Object.fromEntries(Object.entries(env).filter(([k]) => /^(OTEL_|VIGIL_|BENCH_|NODE_OPTIONS$)/.test(k)));
}

/** The tables of one fixture, and its budget line. */
function fixtureMarkdown(name, { stats, delta, budget }, variants) {
  const base = stats.bare;
  const rows = variants.map((v) => {
    const s = stats[v];
    const rel = v === 'bare' ? ['—', '—', '—', '—'] : [
      signed(delta[v].ms, ' ms'), ratio(s.msMedian, base.msMedian),
      signed(delta[v].mib, ' MiB'), ratio(s.kibMedian, base.kibMedian),
    ];
    return [labelOf(name, v), ms(s.msMedian), ms(s.msP90), mib(s.kibMedian), mib(s.kibP90), ...rel];
  });
  const cpuRows = variants.map((v) => {
    const s = stats[v];
    return [labelOf(name, v), ms(s.cpuMedian), ms(s.cpuP90), v === 'bare' ? '—' : signed(delta[v].cpuMs, ' ms'), v === 'bare' ? '—' : ratio(s.cpuMedian, base.cpuMedian)];
  });
  const lines = [`**Fixture ${FIXTURE_SPECS[name].title}**`, '', table(
    ['variant', 'first answer, median', 'p90', 'peak RSS, median', 'p90', 'Δ time vs bare', 'ratio', 'Δ RSS vs bare', 'ratio'],
    rows,
  ), '', 'CPU time the child used until its first answer (all threads, from `/proc/<pid>/task/*/schedstat`; steadier than wall time when other work shares the cores):', '', table(
    ['variant', 'CPU until first answer, median', 'p90', 'Δ CPU vs bare', 'ratio'],
    cpuRows,
  )];
  if (delta.vigil && budget.ms !== undefined) {
    const { ms: dt, mib: dm, cpuMs: dc } = delta.vigil;
    const verdict = (ok) => (ok ? 'within budget' : '**over budget**');
    const limits = budgetText(budget, ' and ');
    const measured = [`${signed(dt, ' ms')} (${verdict(dt <= budget.ms)})`, budget.mib === undefined ? `${signed(dm, ' MiB')} (no memory budget set)` : `${signed(dm, ' MiB')} (${verdict(dm <= budget.mib)})`];
    lines.push('', `Budget for vigil (${name}): at most ${limits} over bare node. Measured: ${measured.join(', ')}; CPU ${signed(dc, ' ms')}.`);
  }
  return lines.join('\n');
}

export function toMarkdown(result) {
  const { byFixture, fixtures, variants } = result;
  const parts = fixtures.map((f) => fixtureMarkdown(f, byFixture[f], variants));
  const summary = variants.filter((v) => v !== 'bare').flatMap((v) => fixtures.map((f) => {
    const d = byFixture[f].delta[v];
    return [labelOf(f, v), f, signed(d.ms, ' ms'), signed(d.mib, ' MiB'), signed(d.cpuMs, ' ms'), v === 'vigil' ? budgetText(FIXTURE_SPECS[f].budget) : '—'];
  }));
  if (fixtures.length > 1) {
    parts.push(`**Summary: medians' differences to bare node, same run**\n\n${table(['variant', 'fixture', 'Δ first answer', 'Δ peak RSS', 'Δ CPU', 'budget'], summary)}`);
  }
  return parts.join('\n\n');
}

if (isMain(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2), { runs: 15, fixture: 'all', variants: 'bare,vigil,upstream', nodeOptions: '', json: false });
  const result = await run({ runs: options.runs, nodeOptions: options.nodeOptions, fixtures: parseFixtures(options.fixture), variants: options.variants.split(',') });
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${toMarkdown(result)}\n`);
}
