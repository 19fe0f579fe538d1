// Stands in for require-in-the-middle (RITM) inside @opentelemetry/instrumentation (see
// scripts/build.mjs). OpenTelemetry hooks every `require` of the process through one RITM hook
// that, for each file of every package, resolves the request a second time and the package's
// entry a third (require.resolve): a cost that grows with the application's module count, paid
// for packages no instrumentation patches. The gate lets through to RITM only what an
// instrumentation can patch: builtins, the entry of an admitted package, and those of its own
// files that an instrumentation names (pg/lib/client.js); everything else goes straight to Node.
import Module from 'node:module';
import { dirname, join, relative } from 'node:path';
import { Hook as RitmHook } from 'require-in-the-middle';
import { packageOf, packageRoot } from './first-load';

const admitted = new Set<string>();
/** Module-relative names of the files instrumentations patch, with and without extension. */
const files = new Set<string>();

/** From now on, requires of these packages reach the instrumentations (their entry only). */
export function admit(packages: Iterable<string>): void {
  for (const name of packages) admitted.add(name);
}

/** Admits what an instrumentation patches: its packages and the files of theirs it names. */
export function admitInstrumentation(instrumentation: object): void {
  const { getModuleDefinitions } = instrumentation as { getModuleDefinitions?(): { name: string; files?: { name: string }[] }[] };
  for (const definition of getModuleDefinitions?.call(instrumentation) ?? []) {
    admitted.add(definition.name);
    for (const file of definition.files ?? []) {
      const name = file.name.replace(/\\/g, '/');
      files.add(name);
      files.add(name.replace(/\.c?js$/, ''));
      files.add(name.replace(/\/index\.c?js$/, ''));
    }
  }
}

type Require = (this: Module, id: string) => unknown;
const proto = Module.prototype as unknown as { require: Require };

function concerned(id: string, parent: Module | undefined): boolean {
  if (typeof id !== 'string' || Module.isBuiltin(id)) return true;
  if (id.charCodeAt(0) !== 46 /* . */) {
    const name = packageOf(id);
    return name !== undefined && admitted.has(name);
  }
  // A package's own file: only one that an instrumentation names.
  const root = files.size && parent?.filename ? packageRoot(parent.filename) : undefined;
  if (!root || !admitted.has(root.name)) return false;
  return files.has(`${root.name}/${relative(root.dir, join(dirname(parent!.filename), id)).replace(/\\/g, '/')}`);
}

/** RITM's Hook; the one for all modules (OpenTelemetry's singleton) behind the gate. */
export function Hook(modules: string[] | null, options: { internals?: boolean } | null, onRequire: (...args: never[]) => unknown): RitmHook {
  const hook = new RitmHook(modules as string[], options as { internals: boolean }, onRequire as never);
  if (modules !== null) return hook;
  const hooked = proto.require;
  const direct = (hook as unknown as { _origRequire: Require })._origRequire;
  proto.require = function gated(this: Module, id: string) {
    // eslint-disable-next-line prefer-rest-params
    return (concerned(id, this) ? hooked : direct).apply(this, arguments as unknown as [string]);
  };
  return hook;
}
