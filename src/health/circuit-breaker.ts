import type { CheckFn } from './types';

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
    try {
      const result = await fn(signal);
      const failed = result === false || (typeof result === 'object' && result?.status === 'fail');
      if (failed) throw new Error(typeof result === 'object' ? result.output ?? 'failed' : 'check returned false');
      failures = 0;
      openedAt = undefined;
      return result;
    } catch (error) {
      failures++;
      lastError = error instanceof Error ? error.message : String(error);
      // A failed half-open trial re-opens at once; otherwise open at the threshold.
      if (openedAt !== undefined || failures >= threshold) openedAt = now();
      throw error;
    }
  };
}
