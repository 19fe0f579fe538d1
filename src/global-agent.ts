import { Agent } from './agent';
import type { CheckFn, CheckOptions, StateChange } from './types';
import { emergencyLog } from './util/emergency-log';
import { errorMessage } from './util/redact';

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

export function globalAgent(): GlobalState {
  const holder = globalThis as unknown as Record<symbol, GlobalState | undefined>;
  holder[KEY] ??= { pending: new Map(), listeners: new Set() };
  return holder[KEY]!;
}

/**
 * Starts the process's agent once (later calls get the same one), or undefined when it could
 * not start: never throws. The preload calls this; applications call `start()` (src/api.ts).
 */
export function startAgent(env: NodeJS.ProcessEnv = process.env): Promise<Agent | undefined> {
  const s = globalAgent();
  s.starting ??= (async () => {
    let agent: Agent | undefined;
    try {
      agent = new Agent(env, {
        onStateChange: (change) => {
          for (const listener of s.listeners) {
            try {
              listener(change);
            } catch (error) {
              agent?.logger.error({ err: errorMessage(error) }, 'a state-change listener threw; ignored');
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
      // What a half-started agent holds (a listening probe server, timers) is let go.
      if (s.agent === agent) s.agent = undefined;
      void agent?.stop().catch(() => undefined);
      emergencyLog('VIGIL_ERR_START', `vigil could not start: ${errorMessage(error)}; the application runs without it`);
      return undefined;
    }
  })();
  return s.starting;
}
