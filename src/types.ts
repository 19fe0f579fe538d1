// The public types: everything the published declarations (dist/types) describe. Nothing here
// may name a type of the agent's internals or of a bundled library (pino, zod, OpenTelemetry):
// an application compiles against these with only @types/node installed
// (test/package/types.test.ts fails when one leaks).

/** The three states of the IETF health-check draft, in order of severity. */
export type Status = 'pass' | 'warn' | 'fail';

/** Probe groups a check can belong to: `/health/live`, `/health/ready`, `/health/startup`. */
export type Group = 'live' | 'ready' | 'startup';

/**
 * What one run of a check reports. A check may also return `undefined` or `true`
 * (pass) or `false` (fail); a thrown error or rejection is a fail with its message.
 */
export interface CheckResult {
  /** The run's status. */
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
 * Options of one check. Every field has a default, the same for checks from code and checks from
 * the environment or the config file; the built-in checks have defaults of their own, given per field.
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
  groups?: readonly Group[];
  /** Runs in a row worse than the current state before the check takes the worse state. Default 1 (event-loop and cpu: 3). */
  failureThreshold?: number;
  /** Runs in a row better than the current state before the check takes the better state. Default 1 (cpu: 2). */
  successThreshold?: number;
  /** IETF `componentType` reported for the check. Default: the check kind's own (`datastore`, `system`, ...), none for checks from code. */
  componentType?: string;
}

/** The latest state of one check, as `getHealth()` returns it. */
export interface CheckSnapshot {
  /** The check's name. */
  name: string;
  /** Its reported state: the latest run's, after criticality and the thresholds. */
  status: Status;
  /** Whether a failure fails its groups (see `CheckOptions.critical`). */
  critical: boolean;
  /** The groups it counts in. */
  groups: readonly Group[];
  /** IETF `componentType`. */
  componentType?: string;
  /** The latest run's measured figure. */
  observedValue?: number | string | boolean;
  /** Unit of `observedValue`. */
  observedUnit?: string;
  /** The latest run's reason, redacted. */
  output?: string;
  /** Extra facts of the latest run. */
  details?: Record<string, string | number | boolean>;
  /** ISO time the result was produced; undefined before the first run. */
  time?: string;
  /** How long the latest run took, ms. */
  durationMs?: number;
  /** Runs so far. */
  runs: number;
  /** Trace id of the latest run's span (32 hex digits), when tracing is on. */
  traceId?: string;
  /** Span id of the latest run's span (16 hex digits). */
  spanId?: string;
}

/** A check changed state: one log line and one `onStateChange` call each. */
export interface StateChange {
  /** The check's name. */
  check: string;
  /** The state before; undefined for the first result. */
  from: Status | undefined;
  /** The new state. */
  to: Status;
  /** The run's output, when it gave one. */
  reason?: string;
  /** Trace id of the run that made the change (32 hex digits); empty when its trace was not exported (`VIGIL_CHECK_TRACES_SAMPLER=always_off`). */
  traceId: string;
  /** Span id of that run; empty with the trace id. */
  spanId: string;
}

/** One result of `runChecksOnce`. */
export interface OnceResult {
  /** The check's name. */
  name: string;
  /** Its status after criticality: a failing non-critical check is `warn`. */
  status: Status;
  /** Whether the check is critical. */
  critical: boolean;
  /** How long the run took, ms; undefined when the check could not be created. */
  durationMs?: number;
  /** The run's reason, or why the check could not be created. */
  output?: string;
  /** The run's measured figure. */
  observedValue?: number | string | boolean;
  /** Unit of `observedValue`. */
  observedUnit?: string;
}

/** Options of `start()`. */
export interface StartOptions {
  /**
   * The variables to configure the agent from (VIGIL_*, OTEL_*), instead of `process.env`.
   * Every setting of the agent and of its OpenTelemetry SDK and exporters is read from here.
   */
  env?: Record<string, string | undefined>;
}
