import { errorMessage } from '../util/redact';
import { toResult } from './status';
import type { CheckFn } from '../types';

/** Circuit-breaker settings for checks of external dependencies. */
export interface BreakerOptions {
  /** Consecutive failed calls that open the circuit. Default 5. */
  failures?: number;
  /** How long an open circuit stays open before one trial call, ms. Default 30000. */
  cooldownMs?: number;
  /** Clock, injectable for tests. */
  now?: () => number;
}

/**
 * Wraps a check so that a dependency that keeps failing is left alone for a cool-down instead of
 * being hammered every interval; the first call after the cool-down is the half-open trial.
 */
export function withCircuitBreaker(fn: CheckFn, options: BreakerOptions = {}): CheckFn {
  const threshold = options.failures ?? 5;
  const cooldownMs = options.cooldownMs ?? 30_000;
  const now = options.now ?? Date.now;
  let failures = 0;
  let openedAt: number | undefined;
  let lastError = '';

  return async (signal) => {
    if (openedAt !== undefined && now() - openedAt < cooldownMs) {
      const retryIn = Math.ceil((cooldownMs - (now() - openedAt)) / 1000);
      return { status: 'fail', output: `circuit open after ${failures} consecutive failures (last: ${lastError}); next trial in ${retryIn} s` };
    }
    let result;
    try {
      result = await fn(signal);
    } catch (error) {
      failed(errorMessage(error));
      throw error;
    }
    // A failed result goes back as it is: its figures (latency, status code) are worth showing.
    const { status, output } = toResult(result);
    if (status === 'fail') failed(output ?? 'failed');
    else {
      failures = 0;
      openedAt = undefined;
    }
    return result;
  };

  function failed(reason: string): void {
    failures++;
    lastError = reason;
    // A failed half-open trial re-opens at once; otherwise open at the threshold.
    if (openedAt !== undefined || failures >= threshold) openedAt = now();
  }
}
