import { trace } from '@opentelemetry/api';
import { findPackageJson } from '../util/package-json';
import type { Logger } from 'pino';
import type { FirstLoad } from './first-load';

declare const __OTEL_API_VERSION__: string;
/** The @opentelemetry/api inside the bundle, set at build time: its version is the global's. */
const BUNDLED_API = typeof __OTEL_API_VERSION__ === 'string' ? __OTEL_API_VERSION__ : 'unknown';

/**
 * Watches the application's own @opentelemetry/api. A copy reaches vigil's providers only when
 * the API's compatibility rule accepts the global vigil registered (same major, minor not above
 * it); any other copy quietly hands out no-op tracers, so that case is said once, with a code.
 */
export function watchApplicationApi(logger: Logger): FirstLoad {
  // Every copy is checked once (a dependency may bring a copy of its own); each version said once.
  const seen = new WeakSet<object>();
  const told = new Set<string>();
  return {
    after(exports, where) {
      if (typeof exports !== 'object' || exports === null || seen.has(exports)) return;
      seen.add(exports);
      const appTrace = (exports as { trace?: { getTracerProvider?(): unknown } }).trace;
      if (typeof appTrace?.getTracerProvider !== 'function' || appTrace.getTracerProvider() === trace.getTracerProvider()) return;
      const file = where();
      const version = file ? apiVersion(file) : undefined;
      if (told.has(version ?? 'unknown')) return;
      told.add(version ?? 'unknown');
      logger.error(
        { code: 'VIGIL_ERR_OTEL_API_VERSION', appApiVersion: version ?? 'unknown', vigilApiVersion: BUNDLED_API, path: file },
        `the application's @opentelemetry/api ${version ?? '(unknown version)'} cannot use vigil's providers (vigil registers API ${BUNDLED_API}; a copy is served when its major is the same and its minor is not higher): its spans, metrics and logs are not exported`,
      );
    },
  };
}

/** The version in the package.json of the @opentelemetry/api folder that holds `file`. */
function apiVersion(file: string): string | undefined {
  return findPackageJson(file, (pkg) => (pkg.name === '@opentelemetry/api' && typeof pkg.version === 'string' ? pkg.version : undefined), 6);
}
