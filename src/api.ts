import { Agent, type AgentHooks } from './agent';
import { assertValidCheck } from './health/options';
import type { CheckSnapshot, StateChange } from './health/engine';
import { createCheck } from './checks';
import { loadConfig, problemCode } from './config';
import { runCheck } from './health/run-check';
import { applyCriticality } from './health/status';
import type { CheckFn, CheckOptions, Status } from './health/types';
import { emergencyLog } from './util/emergency-log';
import { errorMessage } from './util/redact';

export { ERROR_CODES, VigilError } from './errors';
/** For vigil's own instrumentation files (dist/instrumentations/), not for applications. */
export { sharedModules } from './telemetry/shared-modules';

// The agent is a process-wide singleton shared through globalThis, so that the preload and the
// application's `require('vigil-agent')` meet even when they resolve to different copies.
const KEY = Symbol.for('vigil-agent.state');

interface GlobalState {
  agent?: Agent;
  starting?: Promise<Agent | undefined>;
  /** Checks registered before the agent started: added when it does. */
  pending: Map<string, { fn: CheckFn; options: CheckOptions }>;
  /** State-change listeners of the application, whenever they were added. */
  listeners: Set<(change: StateChange) => void>;
}

function state(): GlobalState {
  const holder = globalThis as unknown as Record<symbol, GlobalState | undefined>;
  holder[KEY] ??= { pending: new Map(), listeners: new Set() };
  return holder[KEY]!;
}

/**
 * Starts the agent (the preload calls this). Never throws: a failed start leaves the host
 * running without the agent, with one log line saying why.
 */
export function start(options: { env?: NodeJS.ProcessEnv; hooks?: AgentHooks } = {}): Promise<Agent | undefined> {
  const s = state();
  s.starting ??= (async () => {
    try {
      const agent: Agent = new Agent(options.env ?? process.env, {
        ...options.hooks,
        onStateChange: (change) => {
          for (const listener of s.listeners) {
            try {
              listener(change);
            } catch (error) {
              agent.logger.error({ err: errorMessage(error) }, 'a state-change listener threw; ignored');
            }
          }
        },
      });
      s.agent = agent;
      // Validated when they were registered: they cannot throw here.
      for (const [name, pending] of s.pending) agent.registerCheck(name, pending.fn, pending.options);
      s.pending.clear();
      await agent.start();
      return agent;
    } catch (error) {
      emergencyLog('VIGIL_ERR_START', `vigil could not start: ${errorMessage(error)}; the application runs without it`);
      return undefined;
    }
  })();
  return s.starting;
}

/**
 * Registers a check of the application's own. `fn` receives an AbortSignal that fires at the
 * check's timeout; whatever it throws is a failed result, never a crash. Throws only at
 * registration, on a malformed name, a non-function or an option out of range.
 */
export function registerCheck(name: string, fn: CheckFn, options: CheckOptions = {}): void {
  assertValidCheck(name, fn, options);
  const s = state();
  if (s.agent) s.agent.registerCheck(name, fn, options);
  else s.pending.set(name, { fn, options });
}

/** Removes a check registered by name; true if there was one. */
export function unregisterCheck(name: string): boolean {
  const s = state();
  return s.pending.delete(name) || (s.agent?.engine.unregister(name) ?? false);
}

/** The latest result of every check (empty until the agent has started). */
export function getHealth(): CheckSnapshot[] {
  return state().agent?.snapshot() ?? [];
}

/** Calls `listener` on every change of a check's state, from now on (before or after start); returns a function that stops it. */
export function onStateChange(listener: (change: StateChange) => void): () => void {
  const { listeners } = state();
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

/** Stops the agent: checks, probe server, telemetry (flushed within VIGIL_FLUSH_TIMEOUT_MS). */
export async function stop(): Promise<void> {
  const s = state();
  const agent = s.agent;
  s.agent = undefined;
  s.starting = undefined;
  await agent?.stop();
}

/** One result of `runChecksOnce`. */
export interface OnceResult {
  name: string;
  status: Status;
  critical: boolean;
  durationMs?: number;
  output?: string;
  observedValue?: number | string | boolean;
  observedUnit?: string;
}

/**
 * Runs every configured check once, in parallel, each within its timeout, and closes them: what
 * `vigil-agent check` prints. Configuration problems are written to stderr.
 */
export async function runChecksOnce(env: NodeJS.ProcessEnv = process.env): Promise<OnceResult[]> {
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
