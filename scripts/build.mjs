// Bundles the agent with esbuild: one file for the agent and its OpenTelemetry SDK (module
// resolution of hundreds of small files is most of an unbundled preload's start-up cost), and
// two thin entry points that share it. Database drivers stay external: they are the host's,
// and instrumentation must patch the very copy the application uses.
import { build as esbuild } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';

import { writeThirdParty } from './third-party.mjs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/** Every build's metafile: what the bundles inline, for the third-party notices and the SBOM. */
const metafiles = [];
async function build(options) {
  const result = await esbuild({ ...options, metafile: true });
  metafiles.push(result.metafile);
  return result;
}
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
const vendorSplit = {
  name: 'vendor-split',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${VENDOR.join('|')})(/.*)?$`) }, (args) => ({ path: `./vendor/${args.path.split('/')[0]}.js`, external: true }));
  },
};

/**
 * Modules required at load time by bundled libraries but never used by the agent, replaced by
 * stubs (each stub says why). Loading them would cost every host process start-up time.
 */
const STUBS = {
  'systeminformation/lib/network': 'scripts/stubs/systeminformation-network.ts',
  'sonic-boom': 'scripts/stubs/pino-unused.cjs',
  'thread-stream': 'scripts/stubs/pino-unused.cjs',
  debug: 'scripts/stubs/debug.cjs',
};
const stubUnused = {
  name: 'stub-unused',
  setup(b) {
    const filter = new RegExp(`^(${Object.keys(STUBS).map((k) => k.replace(/[/.]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: new URL(`../${STUBS[args.path]}`, import.meta.url).pathname }));
  },
};

/**
 * The runtime instrumentation's event-loop delay sampler wakes an idle process 20 times a second:
 * it gets the agent's, which sleeps while the loop does (src/util/event-loop-delay.ts).
 */
const sharedDelaySampler = {
  name: 'shared-delay-sampler',
  setup(b) {
    b.onResolve({ filter: /^(node:)?perf_hooks$/ }, (args) => (/instrumentation-runtime-node/.test(args.importer)
      ? { path: new URL('../src/util/perf-hooks-shared.ts', import.meta.url).pathname } : undefined));
  },
};

/**
 * otlp-exporter-base loads http/https with `import()`. The bundle is run through vm.Script (for
 * its code cache), where import() needs an experimental loader option that prints a warning on
 * the host's stderr: the same modules, required.
 */
const requireBuiltins = {
  name: 'require-builtins',
  setup(b) {
    b.onLoad({ filter: /@opentelemetry[\\/]otlp-exporter-base[\\/].*\.js$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(/\bimport\((['"])(https?)\1\)/g, 'Promise.resolve(require("$2"))'),
      loader: 'js',
    }));
  },
};

/**
 * The CommonJS-only instrumentations `require()` all of @opentelemetry/semantic-conventions (and
 * build its deprecated maps at load) for a few dozen names. Each such require gets a module that
 * re-exports just the names its file uses from the ESM build, which esbuild then tree-shakes;
 * esbuild fails the build if a name does not exist. ESM importers resolve as usual. Before that,
 * a `x.NAME` of a string constant becomes the string itself: a CommonJS read of a bundled ESM
 * export is two getter calls, made for every attribute of every span.
 */
const SEMCONV = '@opentelemetry/semantic-conventions';
const SEMCONV_VALUES = await import(SEMCONV);
const SEMCONV_BINDING = new RegExp(`(\\w+)\\s*=\\s*require\\(["']${SEMCONV}["']\\)`);
function inlineSemconv(source) {
  const binding = SEMCONV_BINDING.exec(source)?.[1];
  if (!binding) return source;
  return source.replace(new RegExp(`\\b${binding}\\.([A-Za-z_$][\\w$]*)`, 'g'), (use, name) => (typeof SEMCONV_VALUES[name] === 'string' ? JSON.stringify(SEMCONV_VALUES[name]) : use));
}
const INLINED = /[\\/]node_modules[\\/](@opentelemetry[\\/]instrumentation-[^\\/]+|@fastify[\\/]otel)[\\/].*\.js$/;
const semconvShim = {
  name: 'semconv-shim',
  setup(b) {
    b.onLoad({ filter: INLINED, namespace: 'file' }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      return source.includes(SEMCONV) ? { contents: inlineSemconv(source), loader: 'js' } : undefined;
    });
    b.onResolve({ filter: /^@opentelemetry\/semantic-conventions$/ }, (args) => {
      if (args.kind !== 'require-call') return undefined;
      // What the importer still reads of the package once loaded: only the files above are inlined.
      const raw = readFileSync(args.importer, 'utf8');
      const source = INLINED.test(args.importer) ? inlineSemconv(raw) : raw;
      const call = `require\\(["']${SEMCONV}["']\\)`;
      // `x = require(...)` then `x.NAME`, or `const { NAME, ... } = require(...)`.
      const binding = new RegExp(`(\\w+)\\s*=\\s*${call}`).exec(source)?.[1];
      const destructured = new RegExp(`\\{([^}]*)\\}\\s*=\\s*${call}`).exec(source)?.[1];
      const names = binding
        ? [...new Set([...source.matchAll(new RegExp(`\\b${binding}\\.([A-Za-z_$][\\w$]*)`, 'g'))].map((m) => m[1]))]
        : destructured?.split(',').map((part) => part.split(':')[0].trim()).filter(Boolean);
      if (!names) return undefined;
      return { path: args.importer, namespace: 'semconv-shim', pluginData: names };
    });
    b.onLoad({ filter: /.*/, namespace: 'semconv-shim' }, (args) => ({
      contents: `export { ${args.pluginData.join(', ')} } from '${SEMCONV}';`,
      resolveDir: new URL('..', import.meta.url).pathname,
    }));
  },
};

/**
 * OpenTelemetry's shimmer complains on the host's stderr, in plain text, when a method to wrap is
 * missing: its complaints go to OpenTelemetry's diagnostics instead (vigil's JSON lines).
 */
const shimmerToDiag = {
  name: 'shimmer-to-diag',
  setup(b) {
    b.onLoad({ filter: /@opentelemetry[\\/]instrumentation[\\/]build[\\/]esm[\\/]shimmer\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const original = 'let logger = console.error.bind(console);';
      if (!source.includes(original)) throw new Error(`shimmer-to-diag: ${args.path} changed; update the plugin`);
      return { contents: `import { diag as __diag } from '@opentelemetry/api';\n${source.replace(original, 'let logger = (message) => __diag.warn(String(message));')}`, loader: 'js' };
    });
  },
};

/**
 * The metrics SDK hashes a record's attributes on every record (sorted keys, then JSON): the agent's
 * per-request duration metric records interned, frozen attribute sets, whose hash is computed once
 * (src/telemetry/attribute-sets.ts). Any other set is hashed as before.
 */
let memoHashApplied = false;
const memoHashAttributes = {
  name: 'memo-hash-attributes',
  setup(b) {
    b.onLoad({ filter: /@opentelemetry[\\/]sdk-metrics[\\/]build[\\/]esm[\\/]utils\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const original = 'export function hashAttributes(attributes) {';
      if (!source.includes(original)) throw new Error(`memo-hash-attributes: ${args.path} changed; update the plugin`);
      memoHashApplied = true;
      const sets = new URL('../src/telemetry/attribute-sets.ts', import.meta.url).pathname;
      return {
        contents: `import { memoizedHash as __memoizedHash } from ${JSON.stringify(sets)};\n${source.replace(original, 'export const hashAttributes = (attributes) => __memoizedHash(attributes, computeHash);\nfunction computeHash(attributes) {')}`,
        loader: 'js',
      };
    });
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20.6',
  format: 'cjs',
  minify: process.env.VIGIL_BUILD_DEBUG !== '1',
  keepNames: false,
  sourcemap: false,
  legalComments: 'none',
  external: ['pg', 'pg-native', 'ioredis', 'amqplib'],
  define: { __VIGIL_VERSION__: JSON.stringify(pkg.version) },
  logLevel: 'warning',
  // The ESM builds of the OpenTelemetry packages tree-shake (semantic-conventions alone is 80 KiB as CommonJS).
  mainFields: ['module', 'main'],
};

/**
 * Instrumentations loaded on demand: a `require()` of an instrumentation package in the table
 * (src/telemetry/instrumentations.ts) becomes a file of its own, dist/instrumentations/<name>.js,
 * required when the package it patches is first loaded. A static import stays in the agent.
 */
const INSTRUMENTATION_PACKAGE = /^(@opentelemetry\/instrumentation-[a-z0-9.-]+|@fastify\/otel)$/;
const chunkName = (pkg) => pkg.replace(/^@opentelemetry\/instrumentation-/, '').replace(/^@fastify\/otel$/, 'fastify-otel');
const onDemand = new Set();
const splitInstrumentations = {
  name: 'split-instrumentations',
  setup(b) {
    b.onResolve({ filter: INSTRUMENTATION_PACKAGE }, (args) => {
      if (args.kind !== 'require-call') return undefined;
      onDemand.add(args.path);
      return { path: `./instrumentations/${chunkName(args.path)}.js`, external: true };
    });
  },
};

/**
 * @opentelemetry/instrumentation's imports of import-in-the-middle and require-in-the-middle go
 * through vigil's stand-ins: the loader switch (esm-loader.ts) and the require gate (require-gate.ts).
 */
const STAND_INS = { 'import-in-the-middle': 'esm-loader.ts', 'require-in-the-middle': 'require-gate.ts' };
const standIns = {
  name: 'stand-ins',
  setup(b) {
    b.onResolve({ filter: /^(import|require)-in-the-middle$/ }, (args) => {
      const path = new URL(`../src/telemetry/${STAND_INS[args.path]}`, import.meta.url).pathname;
      return args.importer === path ? undefined : { path };
    });
  },
};

/** In the instrumentation files, the packages the agent shares (src/telemetry/shared-modules.ts). */
const SHARED = ['@opentelemetry/api', '@opentelemetry/api-logs', '@opentelemetry/core', '@opentelemetry/instrumentation'];
const fromAgent = {
  name: 'from-agent',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${SHARED.map((n) => n.replace('/', '\\/')).join('|')})$`) }, (args) => ({ path: args.path, namespace: 'from-agent' }));
    b.onLoad({ filter: /.*/, namespace: 'from-agent' }, (args) => ({ contents: `module.exports = require('../agent.js').sharedModules[${JSON.stringify(args.path)}];`, loader: 'js' }));
    b.onResolve({ filter: /^\.\.\/agent\.js$/ }, () => ({ path: '../agent.js', external: true }));
  },
};

const apiVersion = JSON.parse(readFileSync('node_modules/@opentelemetry/api/package.json', 'utf8')).version;
await build({ ...common, define: { ...common.define, __OTEL_API_VERSION__: JSON.stringify(apiVersion) }, entryPoints: { agent: 'src/agent-bundle.ts' }, outdir: 'dist', plugins: [vendorSplit, stubUnused, semconvShim, requireBuiltins, splitInstrumentations, standIns, shimmerToDiag, sharedDelaySampler, memoHashAttributes] });
// The SDK resolved to another build than the one the plugin rewrites: the hash would be computed on every record again.
if (!memoHashApplied) throw new Error('memo-hash-attributes: @opentelemetry/sdk-metrics/build/esm/utils.js was not bundled; update the plugin');
const onDemandBuild = await build({ ...common, entryPoints: Object.fromEntries([...onDemand].map((pkg) => [`instrumentations/${chunkName(pkg)}`, pkg])), outdir: 'dist', plugins: [fromAgent, stubUnused, semconvShim] });
// A second copy of a shared package would be a second API global and a second require hook.
const inlinedShared = Object.keys(onDemandBuild.metafile.inputs).filter((input) => SHARED.some((name) => input.includes(`node_modules/${name}/`)));
if (inlinedShared.length) throw new Error(`instrumentation files inline what they must share with the agent:\n${inlinedShared.join('\n')}`);
// import-in-the-middle: the loader (ESM, on Node's loader thread), this thread's hooks, and the
// registry both meet in, kept as a file of its own (src/telemetry/esm-loader.ts says why).
const IITM = 'node_modules/import-in-the-middle';
await build({ ...common, format: 'esm', entryPoints: { 'iitm/hook': `${IITM}/hook.mjs` }, outExtension: { '.js': '.mjs' }, outdir: 'dist',
  banner: { js: "import { createRequire as __vigilCreateRequire } from 'node:module'; const require = __vigilCreateRequire(import.meta.url);" } });
await build({ ...common, entryPoints: { 'iitm/index': `${IITM}/index.js` }, outdir: 'dist', plugins: [{
  name: 'iitm-registry',
  setup(b) {
    b.onResolve({ filter: /^\.\/lib\/register$/ }, () => ({ path: './lib/register.js', external: true }));
  },
}] });
mkdirSync('dist/iitm/lib', { recursive: true });
copyFileSync(`${IITM}/lib/register.js`, 'dist/iitm/lib/register.js');
await build({ ...common, entryPoints: Object.fromEntries(VENDOR.map((name) => [`vendor/${name}`, name])), outdir: 'dist' });
await build({ ...common, entryPoints: { register: 'src/register.ts', index: 'src/index.ts', cli: 'src/cli.ts', 'register-loader': 'src/load-agent.ts' }, outdir: 'dist', plugins: [shareAgent] });
writeThirdParty(metafiles, 'dist', pkg);

// The V8 code cache of the bundle, made by starting the agent once, so that the functions a
// start runs are in it (see src/load-agent.ts). Made with this Node and the V8 flags of
// NODE_OPTIONS (V8 rejects a cache made under other flags): build with the production
// NODE_OPTIONS, e.g. --max-old-space-size, to have a cache that matches them.
execFileSync(process.execPath, ['-e', `
  const { loadAgent } = require('./dist/register-loader.js');
  const { agent, saveCache } = loadAgent(true);
  agent.start({ env: { VIGIL_PORT: '0', VIGIL_HOST: '127.0.0.1', VIGIL_LOG_LEVEL: 'silent', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_METRICS_EXPORTER: 'none' } })
    .then(() => { saveCache(); process.exit(0); });
`], { stdio: 'inherit', env: { PATH: process.env.PATH, NODE_OPTIONS: v8Flags(process.env.NODE_OPTIONS) } });
// Type declarations for the public API: tsc writes one for every module the entry reaches; only
// those the public declarations refer to are shipped (src/types.ts says what they may name).
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
keepReferenced('dist/types', 'index.d.ts');

/** Deletes the declaration files under `dir` that TypeScript does not load from `entry`. */
function keepReferenced(dir, entry) {
  const program = ts.createProgram([join(dir, entry)], { noEmit: true, types: [], module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 });
  const reached = new Set(program.getSourceFiles().map((file) => resolve(file.fileName)));
  for (const file of readdirSync(dir, { recursive: true })) {
    if (file.endsWith('.d.ts') && !reached.has(resolve(dir, file))) rmSync(join(dir, file));
  }
  for (const file of readdirSync(dir, { recursive: true }).reverse()) {
    if (statSync(join(dir, file)).isDirectory() && readdirSync(join(dir, file)).length === 0) rmSync(join(dir, file), { recursive: true });
  }
}

/** The V8 flags of NODE_OPTIONS, without preloads (the cache must not be made under another agent). */
function v8Flags(options = '') {
  const words = options.split(/\s+/).filter(Boolean);
  return words.filter((word, i) => !/^--(require|import|loader|experimental-loader)$|^-r$/.test(word) && !/^--(require|import|loader|experimental-loader)=/.test(word)
    && !/^--(require|import|loader|experimental-loader)$|^-r$/.test(words[i - 1] ?? '')).join(' ');
}
