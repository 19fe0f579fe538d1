import type { CheckResult, Status } from '../types';

const SEVERITY: Record<Status, number> = { pass: 0, warn: 1, fail: 2 };

/** The worst of some statuses; `pass` when there are none. */
export function worst(statuses: Iterable<Status>): Status {
  let result: Status = 'pass';
  for (const s of statuses) if (SEVERITY[s] > SEVERITY[result]) result = s;
  return result;
}

/**
 * Turns whatever a check function gave back into a result that is safe to serialise: only
 * known fields, plain values (a BigInt or a circular object in `details` must never break a
 * probe), `output` as text.
 */
export function toResult(value: CheckResult | boolean | void): CheckResult {
  if (value === undefined || value === true) return { status: 'pass' };
  if (value === false) return { status: 'fail', output: 'check returned false' };
  if (!value || typeof value !== 'object' || !(value.status in SEVERITY)) {
    return { status: 'fail', output: 'check returned an invalid result (expected { status: "pass" | "warn" | "fail" })' };
  }
  const result: CheckResult = { status: value.status };
  const observed = plain(value.observedValue);
  if (observed !== undefined) result.observedValue = observed;
  if (typeof value.observedUnit === 'string') result.observedUnit = value.observedUnit;
  if (value.output !== undefined && value.output !== null) result.output = String(value.output);
  if (typeof value.componentType === 'string') result.componentType = value.componentType;
  if (value.details && typeof value.details === 'object') {
    const details = Object.entries(value.details).flatMap(([key, v]) => (plain(v) === undefined ? [] : [[key, plain(v)!] as const]));
    if (details.length) result.details = Object.fromEntries(details);
  }
  return result;
}

/** A value JSON and OpenTelemetry attributes can carry: finite numbers, strings, booleans (a BigInt as text). */
function plain(value: unknown): string | number | boolean | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  return undefined;
}

/** A non-critical check can only degrade: its failures count as warn. */
export function applyCriticality(result: CheckResult, critical: boolean): CheckResult {
  return !critical && result.status === 'fail' ? { ...result, status: 'warn' } : result;
}

/** Consecutive-run counters behind flap control. */
export interface FlapState {
  status: Status | undefined;
  /** Runs in a row worse than `status`. */
  worseStreak: number;
  /** Runs in a row better than `status`. */
  betterStreak: number;
}

/**
 * Flap control: a check moves to a worse state (pass -> warn -> fail) only after
 * `failureThreshold` runs in a row worse than its state, and to a better one only after
 * `successThreshold` runs in a row better than it. The first run sets the state directly.
 */
export function nextStatus(state: FlapState, run: Status, thresholds: { failureThreshold: number; successThreshold: number }): FlapState {
  if (state.status === undefined || run === state.status) return { status: run, worseStreak: 0, betterStreak: 0 };
  if (SEVERITY[run] > SEVERITY[state.status]) {
    const worseStreak = state.worseStreak + 1;
    return worseStreak >= thresholds.failureThreshold ? { status: run, worseStreak: 0, betterStreak: 0 } : { ...state, worseStreak, betterStreak: 0 };
  }
  const betterStreak = state.betterStreak + 1;
  return betterStreak >= thresholds.successThreshold ? { status: run, worseStreak: 0, betterStreak: 0 } : { ...state, betterStreak, worseStreak: 0 };
}

/** HTTP status of a probe: 200 for pass and warn, 503 for fail. */
export function httpStatusOf(status: Status): 200 | 503 {
  return status === 'fail' ? 503 : 200;
}

