// Shared pieces of the health tests: an engine with small settled options, a probe server on a
// free port that the test context closes, and scripted check functions.
import type { Server } from 'node:http';
import type { TestContext } from 'node:test';
import { HealthEngine, type EngineHooks, type ResolvedOptions } from '../../src/health/engine';
import { portOf } from '../../src/probes/agent-server';
import { startProbeServer, type ProbeServerOptions } from '../../src/probes/server';
import type { CheckFn, Status } from '../../src/types';

import { eventually } from '../helpers/spawn-agent';

export { eventually, probe } from '../helpers/spawn-agent';

/** Settled options for a fast check: 20 ms apart, no jitter, one run to change state. */
export function options(overrides: Partial<ResolvedOptions> = {}): ResolvedOptions {
  return {
    critical: true,
    intervalMs: 20,
    timeoutMs: 500,
    initialDelayMs: 0,
    jitter: 0,
    groups: ['ready', 'startup'],
    failureThreshold: 1,
    successThreshold: 1,
    ...overrides,
  };
}

/** An engine whose timers stop when the test ends. */
export function engineFor(t: TestContext, hooks: EngineHooks = {}, reminderMs?: number, now?: () => number, historySize?: number): HealthEngine {
  const engine = new HealthEngine(hooks, { reminderMs, now, historySize });
  t.after(() => engine.stop());
  return engine;
}

/** Serves `engine` on 127.0.0.1 and a free port until the test ends; returns the port. */
export async function serve(t: TestContext, engine: HealthEngine, overrides: Partial<ProbeServerOptions> = {}): Promise<number> {
  return portOf(await serveServer(t, engine, overrides));
}

/** As `serve`, but returns the server itself (its connection count, its address). */
export async function serveServer(t: TestContext, engine: HealthEngine, overrides: Partial<ProbeServerOptions> = {}): Promise<Server> {
  const server = await startProbeServer(engine, {
    port: 0,
    host: '127.0.0.1',
    details: 'always',
    token: '',
    service: { serviceId: 'health-test', version: '1.2.3' },
    ...overrides,
  });
  t.after(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  return server;
}

/** A check that reports `statuses` in turn, then the last one forever; `calls` counts its runs. */
export function scripted(...statuses: Status[]): CheckFn & { calls: number } {
  const fn = Object.assign(() => {
    const status = statuses[Math.min(fn.calls, statuses.length - 1)];
    fn.calls++;
    return { status, output: status === 'pass' ? undefined : `run ${fn.calls} said ${status}` };
  }, { calls: 0 });
  return fn;
}

/** Resolves once the engine has recorded at least `runs` runs of `name`. */
export async function runsOf(engine: HealthEngine, name: string, runs: number): Promise<void> {
  await eventually(() => (engine.snapshot().find((c) => c.name === name)?.runs ?? 0) >= runs, 5_000, `${runs} runs of ${name}`);
}
