import Module from 'node:module';

/** What to run when a watched package loads. */
export interface FirstLoad {
  /** Once, just before the first load of the package that resolves (a failed probe is not one). */
  before?(): void;
  /** After every load of the package, cached ones too: its exports, and (on demand) its file. */
  after?(exports: unknown, where: () => string | undefined): void;
}

type Load = (request: string, parent: unknown, isMain: boolean) => unknown;
const loader = Module as unknown as { _load: Load; _resolveFilename(request: string, parent: unknown): string };

/**
 * The package a `require()` request (or an ES module's import of CommonJS, which Node 20 loads
 * through Module._load by absolute path) belongs to; undefined for relative paths and builtins.
 */
export function packageOf(request: string): string | undefined {
  const first = request.charCodeAt(0);
  if (first === 46 /* . */) return undefined;
  if (first === 47 /* / */ || /^[A-Za-z]:[\\/]/.test(request)) return packageRoot(request)?.name;
  if (request.startsWith('node:')) return undefined;
  const slash = request.indexOf('/');
  if (slash < 0) return request;
  if (request.charCodeAt(0) !== 64 /* @ */) return request.slice(0, slash);
  const second = request.indexOf('/', slash + 1);
  return second < 0 ? request : request.slice(0, second);
}

/** The package that holds an absolute file path, and its folder (in the last node_modules). */
export function packageRoot(file: string): { name: string; dir: string } | undefined {
  const at = Math.max(file.lastIndexOf('/node_modules/'), file.lastIndexOf('\\node_modules\\'));
  if (at < 0) return undefined;
  const parts = file.slice(at + 14).split(/[\\/]/);
  const name = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  return { name, dir: file.slice(0, at + 14 + name.length) };
}

/**
 * Runs the watchers of a package just before its first load by CommonJS `require` or by an ES
 * module's import of a CommonJS package (Node 20 loads those through Module._load by path): early
 * enough for an instrumentation enabled in `before` to see the package's own files load. A
 * package loaded before the agent started is handled at once (its next require is patched).
 * Costs one Map lookup per `require` while any watcher is left.
 */
export function watchFirstLoads(watchers: ReadonlyMap<string, FirstLoad>): {
  /** An ES module of package `name` that no `require` saw was imported (see esm-loader.ts). */
  imported(name: string, namespace: unknown, where: () => string | undefined): void;
  stop(): void;
} {
  const pending = new Map(watchers);
  const original = loader._load;
  const fire = (name: string, watcher: FirstLoad, where: () => string | undefined, load: () => unknown) => {
    if (watcher.before) {
      // A request that does not resolve (an optional package probed) is not the first load.
      if (where() === undefined) return load();
      const { before, after } = watcher;
      if (after) pending.set(name, { after });
      else pending.delete(name);
      safely(before);
    }
    const exports = load();
    if (watcher.after) safely(() => watcher.after!(exports, where));
    return exports;
  };
  const watching: Load = function (this: unknown, request, parent, isMain) {
    const name = pending.size && typeof request === 'string' ? packageOf(request) : undefined;
    const watcher = name === undefined ? undefined : pending.get(name);
    if (!watcher) return original.call(this, request, parent, isMain);
    return fire(name!, watcher, once(() => resolved(request, parent)), () => original.call(this, request, parent, isMain));
  };
  loader._load = watching;
  for (const file of Object.keys(require.cache)) {
    const name = packageOf(file);
    const watcher = name === undefined ? undefined : pending.get(name);
    if (watcher) fire(name!, watcher, () => file, () => require.cache[file]?.exports);
  }
  return {
    imported: (name, namespace, where) => {
      const watcher = pending.get(name);
      if (watcher) fire(name, watcher, where, () => namespace);
    },
    stop: () => {
      pending.clear();
      if (loader._load === watching) loader._load = original;
    },
  };
}

function once<T>(fn: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = fn();
      done = true;
    }
    return value;
  };
}

function resolved(request: string, parent: unknown): string | undefined {
  try {
    return loader._resolveFilename(request, parent);
  } catch {
    return undefined;
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // A watcher's failure is its own to report; the host's require goes on.
  }
}

/**
 * Runs `fire` once, on the first read of a global (e.g. `fetch`, whose client Node loads only
 * then), and puts the original property back first. `stop()` puts it back unread.
 */
export function watchFirstUse(target: object, property: string, fire: () => void): { stop(): void } {
  const descriptor = Object.getOwnPropertyDescriptor(target, property);
  if (!descriptor?.configurable || !('value' in descriptor)) {
    safely(fire);
    return { stop: () => undefined };
  }
  let watching = true;
  // A frozen global (a hardened runtime) cannot be redefined: the value is still the original.
  const restore = () => {
    watching = false;
    safely(() => Object.defineProperty(target, property, descriptor));
  };
  Object.defineProperty(target, property, {
    configurable: true,
    enumerable: descriptor.enumerable,
    get() {
      if (watching) {
        restore();
        safely(fire);
      }
      return descriptor.value;
    },
    set(value) {
      watching = false;
      safely(() => Object.defineProperty(target, property, { ...descriptor, value }));
    },
  });
  return { stop: () => { if (watching) restore(); } };
}
