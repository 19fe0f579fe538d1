import { readFileSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

// Loads dist/agent.js with a V8 code cache made at build time (dist/agent.cache). Compiling the
// bundle is a third of the preload's cost; Node 20 has no module.enableCompileCache (22+), so
// this does the same by hand. A cache from another Node version is rejected by V8 and the bundle
// is simply compiled, as `require` would.

const AGENT = join(__dirname, 'agent.js');
const CACHE = join(__dirname, 'agent.cache');

type Exports = typeof import('./api');

/**
 * Requires the agent bundle once per process, registering it in require's cache so that
 * `require('vigil-agent')` (dist/index.js) finds the same instance. With `produceCache`, the
 * compiled code (including every function run so far) is written when `saveCache` is called.
 */
export function loadAgent(produceCache = false): { agent: Exports; saveCache(): void } {
  const known = require.cache[AGENT];
  if (known) return { agent: known.exports as Exports, saveCache: () => undefined };
  let cachedData: Buffer | undefined;
  if (!produceCache) {
    try {
      cachedData = readFileSync(CACHE);
    } catch {
      // No cache: compile as usual.
    }
  }
  const script = new Script(Module.wrap(readFileSync(AGENT, 'utf8')), { filename: AGENT, cachedData });
  const mod = new Module(AGENT, module);
  mod.filename = AGENT;
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(AGENT));
  require.cache[AGENT] = mod;
  try {
    (script.runInThisContext() as (...args: unknown[]) => void)(mod.exports, createRequire(AGENT), mod, AGENT, dirname(AGENT));
    mod.loaded = true;
  } catch (error) {
    delete require.cache[AGENT];
    throw error;
  }
  return { agent: mod.exports as Exports, saveCache: () => writeFileSync(CACHE, script.createCachedData()) };
}
