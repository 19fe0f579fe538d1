// Bundles the agent with esbuild: one file for the agent and its OpenTelemetry SDK (module
// resolution of hundreds of small files is most of an unbundled preload's start-up cost), and
// two thin entry points that share it. Database drivers stay external: they are the host's,
// and instrumentation must patch the very copy the application uses.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
rmSync('dist', { recursive: true, force: true });

/** Imports of the shared core from the entry points resolve, at run time, to dist/agent.js. */
const shareAgent = {
  name: 'share-agent',
  setup(b) {
    b.onResolve({ filter: /^\.\/api$/ }, (args) =>
      /src[\\/](register|index|cli)\.ts$/.test(args.importer) ? { path: './agent.js', external: true } : undefined);
  },
};

/** Large libraries needed late or rarely live in files of their own, loaded on first use. */
const VENDOR = ['zod', 'yaml'];

/** The only part of systeminformation the bundle would pull in is never called (see the file). */
const noNetworkStats = {
  name: 'no-network-stats',
  setup(b) {
    b.onResolve({ filter: /^systeminformation\/lib\/network$/ }, () => ({ path: new URL('../src/telemetry/no-network-stats.ts', import.meta.url).pathname }));
  },
};
const vendorSplit = {
  name: 'vendor-split',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${VENDOR.join('|')})(/.*)?$`) }, (args) => ({ path: `./vendor/${args.path.split('/')[0]}.js`, external: true }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20.6',
  format: 'cjs',
  minify: true,
  keepNames: false,
  sourcemap: false,
  legalComments: 'none',
  external: ['pg', 'pg-native', 'ioredis', 'amqplib'],
  define: { __VIGIL_VERSION__: JSON.stringify(pkg.version) },
  logLevel: 'warning',
  // The ESM builds of the OpenTelemetry packages tree-shake (semantic-conventions alone is 80 KiB as CommonJS).
  mainFields: ['module', 'main'],
};

await build({ ...common, entryPoints: { agent: 'src/api.ts' }, outdir: 'dist', plugins: [vendorSplit, noNetworkStats] });
await build({ ...common, entryPoints: Object.fromEntries(VENDOR.map((name) => [`vendor/${name}`, name])), outdir: 'dist' });
await build({ ...common, entryPoints: { register: 'src/register.ts', index: 'src/index.ts', cli: 'src/cli.ts', 'register-loader': 'src/load-agent.ts' }, outdir: 'dist', plugins: [shareAgent] });
// The V8 code cache of the bundle, made by starting the agent once, so that the functions a
// start runs are in it (see src/load-agent.ts). Made with this Node; another one recompiles.
execFileSync(process.execPath, ['-e', `
  const { loadAgent } = require('./dist/register-loader.js');
  const { agent, saveCache } = loadAgent(true);
  agent.start({ env: { VIGIL_PORT: '0', VIGIL_HOST: '127.0.0.1', VIGIL_LOG_LEVEL: 'silent', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_METRICS_EXPORTER: 'none' } })
    .then(() => { saveCache(); process.exit(0); });
`], { stdio: 'inherit', env: { PATH: process.env.PATH } });
// Type declarations for the public API.
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
