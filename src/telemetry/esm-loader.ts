// ES modules are seen through import-in-the-middle (IITM): a loader hook, registered here for
// exactly the packages vigil instruments, wraps them so that instrumentations can patch their
// exports. vigil ships IITM in dist/iitm/: the loader (hook.mjs, on Node's loader thread) and the
// wrappers it generates import dist/iitm/lib/register.js, and the hooks of this thread must be
// kept in that very file, so it is required from there, never bundled.
import { existsSync, readFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

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
  if (!active) return { unhook: () => undefined };
  // A patch that fails on an ES module's namespace must not fail the application's import.
  const guarded: HookFn = (exports, name, baseDir) => {
    try {
      return hookFn(exports, name, baseDir);
    } catch {
      return exports;
    }
  };
  return new (iitm().Hook)(modules, options, guarded);
}

/**
 * Calls `onImport` at the first import of each of `packages` that no `require` saw (a pure ES
 * module package). It runs after the package has been evaluated but before its importer gets it:
 * hooks that `onImport` adds (an instrumentation it enables) are given this import too, which
 * IITM alone would not do.
 */
export function watchFirstImports(packageOf: (url: string) => string | undefined, onImport: (name: string, namespace: unknown, baseDir: string | undefined) => void): { stop(): void } {
  if (!active) return { stop: () => undefined };
  const { addHook, removeHook } = iitm();
  const hooks = importHooks();
  const watcher: RawHook = (url, namespace, specifier, format) => {
    const path = url.startsWith('file:') ? decodeURIComponent(new URL(url).pathname) : url;
    const name = packageOf(path) ?? specifier;
    const before = hooks.length;
    onImport(name, namespace, packageDir(path, name));
    for (const added of hooks.slice(before)) added(url, namespace, specifier, format);
  };
  addHook(watcher);
  return { stop: () => removeHook(watcher) };
}

/** The folder of package `name` that holds `file`. */
function packageDir(file: string, name: string): string | undefined {
  const at = file.lastIndexOf(`/node_modules/${name}/`);
  return at < 0 ? undefined : file.slice(0, at + 14 + name.length);
}

/**
 * Whether the application is an ES module (the main script is .mjs, or .js under a package.json
 * of "type": "module"), or the agent was preloaded with --import: then the loader is needed.
 */
export function wantsEsmLoader(argv1: string | undefined, execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const preloads = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  if (preloads.some((arg, i) => /^--(import|experimental-loader|loader)(=|$)/.test(arg) && /vigil|register/.test(arg.includes('=') ? arg : preloads[i + 1] ?? ''))) return true;
  if (!argv1) return false;
  if (argv1.endsWith('.mjs') || argv1.endsWith('.mts')) return true;
  if (argv1.endsWith('.cjs') || argv1.endsWith('.cts')) return false;
  for (let dir = dirname(argv1), depth = 0; depth < 10; depth++, dir = dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: string }).type === 'module';
    } catch {
      if (dirname(dir) === dir) break;
    }
  }
  return false;
}
