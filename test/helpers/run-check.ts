// Runs a check function once, the way the engine does, for tests of single checks.
import assert from 'node:assert/strict';
import type { CheckDefinition } from '../../src/health/types';
import type { CheckResult } from '../../src/types';

/**
 * One run of `check`. The agent's timers and sockets never hold a process, so the test holds
 * it while the run is under way.
 */
export async function runOnce(check: CheckDefinition, signal: AbortSignal = AbortSignal.timeout(5_000)): Promise<CheckResult> {
  const hold = setInterval(() => undefined, 1_000);
  try {
    return (await check.fn(signal)) as CheckResult;
  } finally {
    clearInterval(hold);
  }
}

/** The message of the error a failing run throws; fails the test if the run passes. */
export async function failureOf(check: CheckDefinition, signal?: AbortSignal): Promise<string> {
  const error = await runOnce(check, signal).then(
    () => assert.fail('the check passed'),
    (e: unknown) => e as Error,
  );
  return error.message;
}
