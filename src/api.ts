// The public API: what `require('vigil-agent')` gives an application. Every type in these
// signatures comes from src/types.ts, so the published declarations name nothing internal.
import { assertValidCheck } from './health/options';
import { createCheck } from './checks';
import { loadConfig, problemCode } from './config';
import { globalAgent, startAgent } from './global-agent';
import { runCheck } from './health/run-check';
import { applyCriticality } from './health/status';
import type { CheckFn, CheckOptions, CheckSnapshot, OnceResult, StartOptions, StateChange } from './types';
import { emergencyLog } from './util/emergency-log';
import { errorMessage } from './util/redact';

export { ERROR_CODES, VigilError } from './errors';

/**
 * Starts the agent, when the application did not preload it (`--require vigil-agent/register`
 * does this). Safe to call more than once: later calls resolve to the first call's outcome.
 * Never throws: a failed start leaves the host running without the agent, with one log line
 * saying why, and resolves to false.
 */
export async function start(options: StartOptions = {}): Promise<boolean> {
  return (await startAgent(options.env ?? process.env)) !== undefined;
}

/**
 * Registers a check of the application's own. `fn` receives an AbortSignal that fires at the
 * check's timeout; whatever it throws is a failed result, never a crash. Throws only at
 * registration, on a malformed name, a non-function or an option out of range.
 */
export function registerCheck(name: string, fn: CheckFn, options: CheckOptions = {}): void {
  assertValidCheck(name, fn, options);
  const s = globalAgent();
  if (s.agent) s.agent.registerCheck(name, fn, options);
  else s.pending.set(name, { fn, options });
}

/** Removes a check registered by name; true if there was one. */
export function unregisterCheck(name: string): boolean {
  const s = globalAgent();
  return s.pending.delete(name) || (s.agent?.engine.unregister(name) ?? false);
}

/** The latest result of every check (empty until the agent has started). */
export function getHealth(): CheckSnapshot[] {
  return globalAgent().agent?.snapshot() ?? [];
}

/** Calls `listener` on every change of a check's state, from now on (before or after start); returns a function that stops it. */
export function onStateChange(listener: (change: StateChange) => void): () => void {
  const { listeners } = globalAgent();
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

/** Stops the agent: checks, probe server, telemetry (flushed within VIGIL_FLUSH_TIMEOUT_MS). */
export async function stop(): Promise<void> {
  const s = globalAgent();
  // A start under way finishes first: its probe server must not outlive this stop.
  await s.starting;
  const agent = s.agent;
  s.agent = undefined;
  s.starting = undefined;
  await agent?.stop();
}

/**
 * Runs every configured check once, in parallel, each within its timeout, and closes them: what
 * `vigil-agent check` prints. Configuration problems are written to stderr.
 */
export async function runChecksOnce(env: Record<string, string | undefined> = process.env): Promise<OnceResult[]> {
  const { config, problems } = loadConfig(env);
  for (const problem of problems) emergencyLog(problemCode(problem), problem.message, { variable: problem.variable });
  // Checks never hold the process (their timers and sockets are unref'd): here the caller waits for them.
  const hold = setInterval(() => undefined, 1_000);
  return Promise.all(config.checks.map(async (spec): Promise<OnceResult> => {
    let check;
    try {
      check = createCheck(spec);
    } catch (error) {
      return { name: spec.name, status: 'fail', critical: spec.options.critical, output: errorMessage(error) };
    }
    const { result, durationMs } = await runCheck(check, spec.options.timeoutMs);
    await Promise.resolve(check.close?.()).catch(() => undefined);
    const { status, output, observedValue, observedUnit } = applyCriticality(result, spec.options.critical);
    return { name: spec.name, status, critical: spec.options.critical, durationMs, output, observedValue, observedUnit };
  })).finally(() => clearInterval(hold));
}
