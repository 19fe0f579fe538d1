import type { CheckResult, Status } from '../types';

/** Grades a measured value against warn and fail thresholds (fail wins). */
export function grade(value: number, warn: number | undefined, fail: number | undefined): Status {
  if (fail !== undefined && value >= fail) return 'fail';
  if (warn !== undefined && value >= warn) return 'warn';
  return 'pass';
}

/** A utilisation result in percent, with a reason whenever it is not a pass. */
export function utilisation(what: string, ratio: number, warn: number | undefined, fail: number | undefined, details?: CheckResult['details']): CheckResult {
  const status = grade(ratio, warn, fail);
  const percent = Math.round(ratio * 1000) / 10;
  const limit = status === 'fail' ? fail : warn;
  return {
    status,
    observedValue: percent,
    observedUnit: 'percent',
    componentType: 'system',
    ...(status !== 'pass' && limit !== undefined ? { output: `${what} at ${percent} % (threshold ${Math.round(limit * 100)} %)` } : {}),
    ...(details ? { details } : {}),
  };
}
