// ES modules are seen through import-in-the-middle (IITM): a loader hook, registered here for
// exactly the packages vigil instruments, wraps them so that instrumentations can patch their
// exports. vigil ships IITM in dist/iitm/: the loader (hook.mjs, on Node's loader thread) and the
// wrappers it generates import dist/iitm/lib/register.js, and the hooks of this thread must be
// kept in that very file, so it is required from there, never bundled.
import { existsSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findPackageJson } from '../util/package-json';
import { packageRoot } from './first-load';

const IITM_DIR = join(__dirname, 'iitm');

type HookFn = (exports: unknown, name: string, baseDir: string | undefined) => unknown;
type RawHook = (url: string, namespace: unknown, specifier: string, format?: string) => void;
interface Iitm {
  Hook: new (modules: string[] | null, options: { internals?: boolean } | null, hookFn: HookFn) => { unhook(): void };
  addHook(hook: RawHook): void;
  removeHook(hook: RawHook): void;
}

let active = false;

/** Registers the loader for `include` (bare specifiers); false when this Node or build cannot. */
export function registerEsmLoader(include: readonly string[]): boolean {
  const hook = join(IITM_DIR, 'hook.mjs');
  const register = (Module as unknown as { register?: (url: string, options: object) => void }).register;
  if (active || !register || !existsSync(hook)) return active;
  register(pathToFileURL(hook).href, { data: { include: [...include] } });
  active = true;
  return true;
}

function iitm(): Iitm {
  return require(join(IITM_DIR, 'index.js')) as Iitm;
}

/** The hooks registered on this thread, in the order the wrappers call them. */
function importHooks(): RawHook[] {
  return (require(join(IITM_DIR, 'lib', 'register.js')) as { importHooks: RawHook[] }).importHooks;
}

/**
 * Stands in for IITM's `Hook` inside @opentelemetry/instrumentation: the real one while the
 * loader runs, an inert one otherwise (a CommonJS app then never loads IITM at all).
 */
export function Hook(modules: string[] | null, options: { internals?: boolean } | null, hookFn: HookFn): { unhook(): void } {
  return active ? new (iitm().Hook)(modules, options, hookFn) : { unhook: () => undefined };
}

/**
 * Calls `onImport` with the package of every module the loader wraps (those of the include list),
 * to start what no `require` brought in: a pure ES module package. It runs once the module has
 * been evaluated, before its importer gets it; hooks that `onImport` adds (an instrumentation it
 * enables) are given this import too, which IITM alone would not do.
 */
export function watchFirstImports(onImport: (name: string, namespace: unknown, baseDir: string | undefined) => void): { stop(): void } {
  if (!active) return { stop: () => undefined };
  const { addHook, removeHook } = iitm();
  const hooks = importHooks();
  const watcher: RawHook = (url, namespace, specifier, format) => {
    const before = hooks.length;
    try {
      const root = url.startsWith('file:') ? packageRoot(fileURLToPath(url)) : undefined;
      onImport(root?.name ?? specifier, namespace, root?.dir);
    } catch {
      // Watching is the agent's business: the application's import goes on.
    }
    for (const added of hooks.slice(before)) added(url, namespace, specifier, format);
  };
  addHook(watcher);
  return { stop: () => removeHook(watcher) };
}

/**
 * Whether the application's main script is an ES module (.mjs, or .js under a package.json of
 * "type": "module"): only then is the loader worth its cost (a thread of Node's own, ~70 ms at
 * start-up), whichever way the agent was preloaded.
 */
export function isEsmEntry(main: string | undefined): boolean {
  if (!main) return false;
  if (/\.m[jt]s$/.test(main)) return true;
  if (/\.c[jt]s$/.test(main)) return false;
  // Node's rule: the nearest package.json decides.
  return findPackageJson(dirname(main), (pkg) => pkg.type === 'module') ?? false;
}
