import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

// Loads dist/agent.js with a V8 code cache (dist/agent.cache). Compiling the bundle is a third of
// the preload's cost; Node 20 has no module.enableCompileCache (22+), so this does the same by
// hand. A code cache keeps the file name it was made under: stack traces of a copy installed
// elsewhere would name the build machine's path. So a cache is used only where it was made
// (dist/agent.cache.for names that file), and an installed copy makes its own once it has run a
// while. A cache V8 rejects (another Node version, other V8 flags) is simply compiled past, and
// made again.

const AGENT = join(__dirname, 'agent.js');
const CACHE = join(__dirname, 'agent.cache');
const CACHE_FOR = join(__dirname, 'agent.cache.for');
/** Long enough for start-up to have run, so that its functions are compiled into the cache. */
const REFRESH_AFTER_MS = 5_000;

/** What became of the code cache in this process, for the agent's debug line. */
export type CacheState = 'used' | 'rejected' | 'made elsewhere' | 'none';

type Exports = typeof import('./agent-bundle');

/**
 * Requires the agent bundle once per process, registering it in require's cache so that
 * `require('vigil-agent')` (dist/index.js) finds the same instance. With `produceCache`, the
 * compiled code (including every function run so far) is written when `saveCache` is called.
 */
export function loadAgent(produceCache = false): { agent: Exports; cache: CacheState; saveCache(): void } {
  const known = require.cache[AGENT];
  if (known) return { agent: known.exports as Exports, cache: 'used', saveCache: () => undefined };
  let cachedData: Buffer | undefined;
  let cache: CacheState = 'none';
  if (!produceCache) {
    try {
      if (readFileSync(CACHE_FOR, 'utf8') === AGENT) cachedData = readFileSync(CACHE);
      else cache = 'made elsewhere';
    } catch {
      // No cache: compile as usual.
    }
  }
  const script = new Script(Module.wrap(readFileSync(AGENT, 'utf8')), { filename: AGENT, cachedData });
  if (cachedData) cache = script.cachedDataRejected ? 'rejected' : 'used';
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
  const saveCache = () => {
    // Written aside and renamed: processes starting at once never read half a cache.
    const tmp = `${CACHE}.${process.pid}`;
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, CACHE);
    writeFileSync(CACHE_FOR, AGENT);
  };
  if (!produceCache && cache !== 'used') {
    // An installed copy, or other flags: a cache of its own for the next start, once. A read-only
    // file system (most containers) simply keeps compiling.
    setTimeout(() => {
      try {
        saveCache();
      } catch {
        // Not writable: nothing is lost but the next start's head start.
      }
    }, REFRESH_AFTER_MS).unref();
  }
  return { agent: mod.exports as Exports, cache, saveCache };
}
