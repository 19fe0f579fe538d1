// Check-trace volume: how many traces a healthy instance sends for its health checks, with every
// run traced (`VIGIL_CHECK_TRACES_SAMPLER=always_on`, the behaviour before issue 12) and with the
// default (`informative`). The checks run every 200 ms instead of 10 s so that a minute holds
// enough runs; the figures are scaled to a day at the default interval.
//
//   node bench/check-traces.mjs [--seconds 60] [--json]
//
// Needs PostgreSQL and Redis on 127.0.0.1 (the postgres and redis checks).
import { join } from 'node:path';
import { FIXTURES, PRELOADS, assertListening, cleanEnv, isMain, kill, parseArgs, progress, requireBuild, sleep, spawnNode, table } from './lib.mjs';

const INTERVAL_MS = 200;
const DAY_AT_DEFAULT = 86_400_000 / 10_000;

async function measure(sampler, seconds) {
  const sink = spawnNode([join(FIXTURES, 'otlp-sink.js')]);
  const port = await new Promise((resolve) => sink.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  const env = cleanEnv({
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', VIGIL_HOST: '127.0.0.1', VIGIL_CHECK_INTERVAL_MS: String(INTERVAL_MS),
    VIGIL_POSTGRES_URL: 'postgres://postgres@127.0.0.1:5432/test', VIGIL_REDIS_URL: 'redis://127.0.0.1:6379', VIGIL_TCP_CHECKS: 'self=127.0.0.1:5432',
    VIGIL_CHECK_TRACES_SAMPLER: sampler,
  });
  const app = spawnNode([...PRELOADS.vigil, join(FIXTURES, 'hello.js')], { env });
  try {
    await sleep(seconds * 1000);
    await kill(app);
    await sleep(300);
    const line = new Promise((resolve) => sink.stdout.on('data', (d) => { if (String(d).startsWith('{')) resolve(JSON.parse(String(d))); }));
    sink.kill('SIGUSR2');
    const received = await line;
    const runs = Object.entries(received.spans).filter(([name]) => name.startsWith('health.check ')).reduce((sum, [, n]) => sum + n, 0);
    const checks = Object.keys(received.spans).filter((name) => name.startsWith('health.check ')).length;
    return { sampler, checks, checkRootsExported: runs, traces: received.traces, spans: received.spans };
  } finally {
    await kill(app);
    await kill(sink);
  }
}

export async function run(options) {
  requireBuild();
  await assertListening('127.0.0.1', 5432, 'PostgreSQL');
  await assertListening('127.0.0.1', 6379, 'Redis');
  const results = [];
  for (const sampler of ['always_on', 'informative']) {
    progress(`check traces: ${sampler}, ${options.seconds} s`);
    results.push(await measure(sampler, options.seconds));
  }
  const all = results[0];
  const expectedRuns = all.checkRootsExported;
  return { options, results: results.map((r) => ({ ...r, share: r.checkRootsExported / expectedRuns, perDay: Math.round((r.checkRootsExported / expectedRuns) * all.checks * DAY_AT_DEFAULT) })) };
}

export function toMarkdown({ options, results }) {
  return [table(['VIGIL_CHECK_TRACES_SAMPLER', 'checks', `check runs exported in ${options.seconds} s (every ${INTERVAL_MS} ms)`, 'share of runs', 'check traces per instance per day at the default 10 s'],
    results.map((r) => [`\`${r.sampler}\``, String(r.checks), String(r.checkRootsExported), `${(r.share * 100).toFixed(1)} %`, r.perDay.toLocaleString('en')])), ''].join('\n');
}

if (isMain(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2), { seconds: 60, json: false });
  const result = await run(options);
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : toMarkdown(result));
}
