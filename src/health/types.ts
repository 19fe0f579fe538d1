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

/** Options of one check; every field has a default (see `src/health/defaults.ts`). */
export interface CheckOptions {
  /** A failing critical check fails its groups; a non-critical one can only warn. Default true. */
  critical?: boolean;
  /** Time between the end of one run and the start of the next, ms. Default `VIGIL_CHECK_INTERVAL_MS`. */
  intervalMs?: number;
  /** A run is abandoned and reported fail after this many ms. Default `VIGIL_CHECK_TIMEOUT_MS`. */
  timeoutMs?: number;
  /** Delay before the first run, ms. Default 0. */
  initialDelayMs?: number;
  /** Random extra delay added to each interval, as a fraction of it (0..1). Default 0.1. */
  jitter?: number;
  /** Groups the check counts in. Default `['ready', 'startup']`. */
  groups?: Group[];
  /** Consecutive failed runs before the check turns fail. Default 1. */
  failureThreshold?: number;
  /** Consecutive passing runs before a failed check turns pass again. Default 1. */
  successThreshold?: number;
  /** IETF `componentType` reported for the check. */
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
