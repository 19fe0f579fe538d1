import { createRequire } from 'node:module';
import path from 'node:path';

/** Database and broker clients the checks use; optional peer dependencies of the agent. */
export type DriverName = 'pg' | 'ioredis' | 'amqplib';

const CHECK_KIND: Record<DriverName, string> = { pg: 'postgres', ioredis: 'redis', amqplib: 'rabbitmq' };

/**
 * Loads a driver the way the application would see it: from the application's own
 * node_modules first (the agent may be installed elsewhere, e.g. globally or preloaded from
 * a shared path), then next to the agent. A plain `require` (never `import()`) lets
 * OpenTelemetry's require hooks patch the driver, so its client spans nest under the check span.
 */
export function loadDriver<T>(name: DriverName): T {
  for (const load of requirers()) {
    try {
      load.resolve(name);
    } catch {
      continue;
    }
    // Resolved: load errors from here on are real faults of the driver and propagate.
    return load(name) as T;
  }
  throw new Error(
    `VIGIL_ERR_DRIVER_MISSING: the ${CHECK_KIND[name]} check needs the '${name}' package; ` +
      `install it in the application (npm i ${name})`,
  );
}

/** `loadDriver` deferred to first use and remembered, so a check that never runs never loads its driver. */
export function lazyDriver<T>(name: DriverName): () => T {
  let driver: T | undefined;
  return () => (driver ??= loadDriver<T>(name));
}

function requirers(): NodeJS.Require[] {
  const found = [createRequire(path.join(process.cwd(), 'noop.js'))];
  if (require.main?.filename) found.push(createRequire(require.main.filename));
  found.push(require);
  return found;
}

/** How the agent's own connections name themselves (pg application_name, Redis client name). */
export const INTERNAL_CLIENT_NAME = 'vigil-health';
