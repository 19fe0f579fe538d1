// Runs the startup, exit and probe benchmarks one after the other and writes their tables to
// BENCHMARKS.md, with the machine, the date and the command that produced them.
//
//   node bench/run.mjs [--startup-runs 15] [--exit-runs 5] [--probe-requests 500] [--attack-seconds 10] [--out BENCHMARKS.md]
//                      [--flagged-node-options '--max-old-space-size=4096' | --flagged-node-options none]
//
// Only the part between the two "bench:results" markers is replaced, so notes written by hand
// around it (analysis, history) survive a re-run. Expects a built dist/ (npm run build).
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT, isMain, machine, parseArgs, progress, requireBuild } from './lib.mjs';
import * as startup from './startup.mjs';
import * as exit from './exit.mjs';
import * as probe from './probe.mjs';
import * as probeAttack from './probe-attack.mjs';

const BEGIN = '<!-- bench:results:begin (written by bench/run.mjs; edit outside these markers) -->';
const END = '<!-- bench:results:end -->';

function render({ m, command, options, results }) {
  const section = (title, standalone, body, extra = []) => [`### ${title}`, '', `Standalone: \`${standalone}\``, '', ...extra, body, ''];
  const warn = Object.entries(results).filter(([, r]) => r.distChanged).map(([k]) => k);
  return [
    BEGIN,
    '## Results',
    '',
    `- Date: ${m.date}`,
    `- Command: \`${command}\` (from the repository root, after \`npm run build\`)`,
    `- Machine: Node ${m.node}, \`nproc\` = ${m.nproc}, CPU: ${m.cpu}`,
    `- Commit: ${m.commit}; measured build: ${m.build}`,
    `- Child environment (all variants): parent's minus OTEL_\\*, VIGIL_\\*, NODE_OPTIONS, NODE_DEBUG; plus ` +
      Object.entries(results.startup.env).map(([k, v]) => `\`${k}=${v}\``).join(', '),
    ...(warn.length ? [`- **Warning**: dist/ was rebuilt while these ran (${warn.join(', ')}); samples may mix builds.`] : []),
    '',
    ...section(`Startup: spawn → first HTTP answer, and peak RSS (${options.startupRuns} interleaved runs per variant and fixture)`,
      `node bench/startup.mjs --runs ${options.startupRuns} --fixture all`, startup.toMarkdown(results.startup),
      ['Fixtures `bench/fixtures/hello.js` (smallest `node:http` service), `bench/fixtures/express-app.js` (express 4, pg Pool, ioredis client and pino created at start; ' +
        'its `GET /` does one pg query, one Redis GET, one pino line to /dev/null and one `fetch()` to a downstream server the bench runs on 127.0.0.1) and ' +
        '`bench/fixtures/hello-esm.mjs` (hello as an ES module, the agents preloaded with `--import`), measured in the same run, ' +
        'variants and fixtures interleaved. Time from `spawn()` until the first `GET /` answered with 200 (polled as soon as the port is printed); ' +
        'peak RSS = `VmHWM` from `/proc/<pid>/status` right after that answer. Medians and p90 per variant; Δ and ratio of medians vs bare node.', '']),
    ...(results.startupFlagged ? section(`Startup with a V8 flag: \`NODE_OPTIONS=${options.flaggedNodeOptions}\` (${options.startupRuns} interleaved runs per variant)`,
      `node bench/startup.mjs --runs ${options.startupRuns} --fixture hello --variants bare,vigil --node-options=${options.flaggedNodeOptions}`, startup.toMarkdown(results.startupFlagged),
      ['Same measurement (hello fixture) with a V8 flag set for both variants, as many production deployments do (heap size). ' +
        'V8 accepts a code cache only when its flags match those it was made with, both for the agent\'s dist/agent.cache and for Node\'s own built-in modules.', '']) : []),
    ...section(`Exit: a short-lived job, spawn → exit (${options.exitRuns} interleaved runs per variant, cap 60 s)`,
      `node bench/exit.mjs --runs ${options.exitRuns}`, exit.toMarkdown(results.exit),
      ['Fixture `bench/fixtures/short-job.js` (5 HTTP requests to itself, then ends naturally). `VIGIL_FLUSH_TIMEOUT_MS=1000`. ' +
        '"Late" includes each preload\'s start-up cost (see the startup table), not only the exit flush.', '']),
    ...section(`Probes while a check hangs (${options.probeRequests} sequential requests per target)`,
      `node bench/probe.mjs --requests ${options.probeRequests}`, probe.toMarkdown(results.probe),
      ['Fixture `bench/fixtures/hanging-check.js` under `--require ./dist/register.js`; reference `bench/fixtures/plain-json.js` under bare node. ' +
        'Measured once the check has timed out at least once.', '']),
    ...section(`Probe server under a pipelining attack (${results.probeAttack.clients} clients, ${options.attackSeconds} s per target)`,
      `node bench/probe-attack.mjs --seconds ${options.attackSeconds}`, probeAttack.toMarkdown(results.probeAttack),
      ['vigil: `bench/fixtures/hello.js` under `--require ./dist/register.js`, attacked on its probe port; plain: a bare `node:http` server ' +
        'with the probe server\'s timeouts serving a body of the same size. Analysis and the figures before issue 10: ' +
        '"Probe server under a pipelining attack (issue 10)" below.', '']),
    END,
  ].join('\n');
}

/** Replaces the results between the markers, or writes a new file with a short header. */
function write(path, block) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    text = '';
  }
  const from = text.indexOf(BEGIN);
  const to = text.indexOf(END);
  if (from >= 0 && to > from) text = text.slice(0, from) + block + text.slice(to + END.length);
  else text = `# Benchmarks\n\nRe-run with \`npm run build && node bench/run.mjs\`; the results block below is rewritten, the rest is kept.\n\n${block}\n${text ? `\n${text}` : ''}`;
  writeFileSync(path, text);
}

if (isMain(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2), { startupRuns: 15, exitRuns: 5, probeRequests: 500, attackSeconds: 10, flaggedNodeOptions: '--max-old-space-size=4096', out: 'BENCHMARKS.md' });
  requireBuild();
  const command = ['node', relative(ROOT, process.argv[1]), ...process.argv.slice(2)].join(' ');
  const started = Date.now();
  const m = machine();
  const results = {};
  progress('=== startup ===');
  results.startup = await startup.run({ runs: options.startupRuns });
  if (options.flaggedNodeOptions !== 'none') {
    progress(`=== startup with NODE_OPTIONS=${options.flaggedNodeOptions} ===`);
    results.startupFlagged = await startup.run({ runs: options.startupRuns, fixtures: ['hello'], variants: ['bare', 'vigil'], nodeOptions: options.flaggedNodeOptions });
  }
  progress('=== exit ===');
  results.exit = await exit.run({ runs: options.exitRuns });
  progress('=== probe ===');
  results.probe = await probe.run({ requests: options.probeRequests });
  progress('=== probe under a pipelining attack ===');
  results.probeAttack = await probeAttack.run({ seconds: options.attackSeconds });
  const out = join(ROOT, options.out);
  write(out, render({ m, command, options, results }));
  // The raw samples too, for anyone who wants to look past the medians.
  writeFileSync(join(ROOT, 'bench', 'results.json'), `${JSON.stringify({ machine: m, command, results }, null, 2)}\n`);
  progress(`done in ${((Date.now() - started) / 1000).toFixed(0)} s: wrote ${relative(ROOT, out)} and bench/results.json`);
}
