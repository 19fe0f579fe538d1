/** The three states of the IETF health-check draft, in order of severity. */
export type Status = 'pass' | 'warn' | 'fail';

/** Probe groups a check can belong to. */
export type Group = 'live' | 'ready' | 'startup';

/**
 * What one run of a check reports. A check may also return `undefined` or `true`
 * (pass) or `false` (fail); a thrown error or rejection is a fail with its message.
 */
export interface CheckResult {
  status: Status;
  /** The measured figure, e.g. a latency or a utilisation ratio. */
  observedValue?: number | string | boolean;
  /** Unit of `observedValue`, e.g. `ms`, `percent`, `bytes`. */
  observedUnit?: string;
  /** Human-readable reason; required in spirit for warn and fail. */
  output?: string;
  /** IETF draft `componentType`, e.g. `datastore`, `system`, `component`. */
  componentType?: string;
  /** Extra facts worth showing (server version, role, ...). Never secrets. */
  details?: Record<string, string | number | boolean>;
}

/** The function behind a check: handed an AbortSignal that fires at the check's timeout. */
export type CheckFn = (signal: AbortSignal) => Promise<CheckResult | boolean | void> | CheckResult | boolean | void;

/**
 * Options of one check. Every field has a default, applied by `resolveOptions` (src/health/options.ts) to
 * checks from code and by `loadConfig` (src/config/index.ts) to checks from the environment or
 * the config file; the built-in checks have defaults of their own, given per field.
 */
export interface CheckOptions {
  /** A failing critical check fails its groups; a non-critical one can only warn. Default true (false for cpu, memory, disk, heap). */
  critical?: boolean;
  /** Time from the end of one run to the start of the next, ms (at least 100). Default `VIGIL_CHECK_INTERVAL_MS`, 10000. */
  intervalMs?: number;
  /**
   * A run is aborted (its AbortSignal fires) and reported fail after this many ms. Default
   * `VIGIL_CHECK_TIMEOUT_MS`; when that is unset, min(5000, the check's interval / 2), i.e. 5000.
   */
  timeoutMs?: number;
  /** Delay before the first run, ms. Default 0 (1000 for the built-in checks: start-up is a burst of work). */
  initialDelayMs?: number;
  /** Random extra delay added to each interval, as a fraction of it (0..1). Default 0.1. */
  jitter?: number;
  /** Groups the check counts in. Default `['ready', 'startup']` (event-loop: live and ready; cpu, memory, disk, heap: ready). */
  groups?: Group[];
  /** Runs in a row worse than the current state before the check takes the worse state. Default 1 (event-loop and cpu: 3). */
  failureThreshold?: number;
  /** Runs in a row better than the current state before the check takes the better state. Default 1 (cpu: 2). */
  successThreshold?: number;
  /** IETF `componentType` reported for the check. Default: the check kind's own (`datastore`, `system`, ...), none for checks from code. */
  componentType?: string;
}

/** A check as the engine holds it: a name, a function and settled options. */
export interface CheckDefinition {
  name: string;
  fn: CheckFn;
  options: CheckOptions;
  /** Called once when the engine stops, to close connections the check holds. */
  close?: () => Promise<void> | void;
}
