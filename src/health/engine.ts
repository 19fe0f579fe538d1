import { ROOT_CONTEXT, context } from '@opentelemetry/api';
import { MAX_TIMER_MS } from '../config/kinds';
import { History, type HistoryEntry } from './history';
import { runCheck, type RunOutcome } from './run-check';
import { applyCriticality, nextStatus, worst, type FlapState } from './status';
import type { CheckDefinition } from './types';
import type { CheckOptions, CheckResult, CheckSnapshot, Group, StateChange, Status } from '../types';

/** Settled options of a registered check. */
export type ResolvedOptions = Required<Omit<CheckOptions, 'componentType'>> & { componentType?: string };

/** The ids of a run's trace, empty when that trace is not exported: nothing points at a trace that does not exist. */
function idsOf(outcome: RunOutcome): { traceId: string; spanId: string } {
  return outcome.traced === false ? { traceId: '', spanId: '' } : { traceId: outcome.traceId, spanId: outcome.spanId };
}

/** What the agent is told of as checks run. */
export interface EngineHooks {
  /** After every run, with the raw run status (metrics). */
  onRun?(check: string, result: CheckResult, durationMs: number): void;
  /**
   * After a run is recorded, with its trace: `informative` when it was the check's first run,
   * was not `pass`, or changed the check's state. Returns false when that trace is not exported
   * (then no probe body or listener points at it).
   */
  onRunTraced?(check: string, traceId: string, informative: boolean): boolean;
  /** After a change of a check's reported state (logs, listeners). */
  onChange?(change: StateChange): void;
  /** The instance was taken out of rotation, or is back in it (`by`: an operator, or the time ran out). */
  onRotation?(change: RotationChange): void;
  /** While a check stays failed, at most once per `reminderMs`; with the trace of the latest run. */
  onStillFailing?(check: string, sinceMs: number, reason: string | undefined, traceId: string, spanId: string): void;
}

export interface EngineSettings {
  /** How often a check that stays failed is said again (onStillFailing). */
  reminderMs?: number;
  /** The monotonic clock (tests). */
  now?: () => number;
  /** Results kept per check for history() (VIGIL_HISTORY_SIZE). */
  historySize?: number;
}

interface Entry {
  check: CheckDefinition;
  options: ResolvedOptions;
  flap: FlapState;
  last?: { result: CheckResult; outcome: RunOutcome; at: number; time: string };
  history: History;
  /** Wall-clock ms when the reported state last changed (the first run's time before any change). */
  stateSince?: number;
  runs: number;
  everPassed: boolean;
  failingSince?: number;
  remindedAt?: number;
  timer?: NodeJS.Timeout;
  /** A tick is under way; it schedules the next one itself when done. */
  busy: boolean;
  pending?: Promise<unknown>;
  pendingSince?: number;
}

/** Out of rotation on an operator's word: readiness fails until `until`, whatever the checks say. */
export interface OutOfService {
  /** ISO time it ends by itself. */
  until: string;
  reason: string;
}

export type RotationChange = { inService: false; by: 'operator'; outOfService: OutOfService } | { inService: true; by: 'operator' | 'expired' };

/** One check in history(): its state now, since when, and its recent results. */
export interface CheckHistory {
  name: string;
  status: Status;
  /** ISO time the current state began, and how long ago (absent before the first run). */
  since?: string;
  forMs?: number;
  /** Share of the results held that are `pass`. */
  passRatio?: number;
  /** Newest first. */
  results: HistoryEntry[];
}

/** Of a run's output, what its history keeps (the latest run keeps all of it, up to run-check's cut). */
const HISTORY_OUTPUT_CHARS = 256;

const hundredths = (ms: number) => Math.round(ms * 100) / 100;

/** How many missed runs (interval + timeout each) make a result stale. */
const STALE_AFTER_RUNS = 3;

/**
 * The registry and scheduler of checks. Each check runs on its own unref'd timer, never two runs
 * at once; probes read `snapshot()` and never trigger a run.
 */
export class HealthEngine {
  private readonly entries = new Map<string, Entry>();
  private running = false;
  private shuttingDown = false;
  private startupComplete = false;
  private rotation: { state: OutOfService; timer: NodeJS.Timeout } | undefined;
  /** Bumped by every change of what snapshot() and status() return, except staleness (time). */
  private changes = 0;

  private readonly reminderMs: number;
  private readonly now: () => number;
  private readonly historySize: number;

  constructor(private readonly hooks: EngineHooks = {}, settings: EngineSettings = {}) {
    this.reminderMs = settings.reminderMs ?? 300_000;
    this.now = settings.now ?? (() => performance.now());
    this.historySize = settings.historySize ?? 60;
  }

  /** Adds a check; a check of the same name is replaced (its connections closed). */
  register(check: CheckDefinition, options: ResolvedOptions): void {
    const previous = this.entries.get(check.name);
    if (previous) this.retire(previous);
    const entry: Entry = { check, options, flap: { status: undefined, worseStreak: 0, betterStreak: 0 }, history: new History(this.historySize), runs: 0, everPassed: false, busy: false };
    this.entries.set(check.name, entry);
    this.changes++;
    if (this.running) this.schedule(entry, options.initialDelayMs);
  }

  /** Removes a check and closes what it holds. */
  unregister(name: string): boolean {
    const entry = this.entries.get(name);
    if (!entry) return false;
    this.retire(entry);
    this.entries.delete(name);
    this.changes++;
    return true;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.changes++;
    // A check still in a run from before a stop() reschedules itself: a second timer would overlap it.
    for (const entry of this.entries.values()) if (!entry.busy) this.schedule(entry, entry.options.initialDelayMs);
  }

  /** Stops scheduling and closes every check's connections. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.rotation) clearTimeout(this.rotation.timer);
    this.rotation = undefined;
    this.changes++;
    await Promise.all([...this.entries.values()].map((entry) => this.retire(entry)));
  }

  /** From now on readiness is 503, whatever the checks say. */
  beginShutdown(): void {
    this.shuttingDown = true;
    this.changes++;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Readiness fails for `durationMs` (or until returnToService), with the reason; replaces a period under way. */
  takeOutOfService(durationMs: number, reason: string): OutOfService {
    if (this.rotation) clearTimeout(this.rotation.timer);
    const state = { until: new Date(Date.now() + durationMs).toISOString(), reason };
    const timer = setTimeout(() => this.endOutOfService('expired'), Math.min(durationMs, MAX_TIMER_MS));
    timer.unref();
    this.rotation = { state, timer };
    this.changes++;
    this.notify(() => this.hooks.onRotation?.({ inService: false, by: 'operator', outOfService: state }));
    return state;
  }

  /** Back in rotation; false when it was not out. */
  returnToService(): boolean {
    return this.endOutOfService('operator');
  }

  get outOfService(): OutOfService | undefined {
    return this.rotation?.state;
  }

  private endOutOfService(by: 'operator' | 'expired'): boolean {
    if (!this.rotation) return false;
    clearTimeout(this.rotation.timer);
    this.rotation = undefined;
    this.changes++;
    this.notify(() => this.hooks.onRotation?.({ inService: true, by }));
    return true;
  }

  /**
   * A counter that grows whenever a check is added, removed or records a run, and at start, stop
   * and shutdown: while it stays the same, snapshot() and status() say the same, except that a
   * result can turn stale with time alone (readers that cache must also expire by time).
   */
  get version(): number {
    return this.changes;
  }

  /** The latest state of every check. */
  snapshot(): CheckSnapshot[] {
    const now = this.now();
    return [...this.entries.values()].map((entry) => this.view(entry, now));
  }

  /** Each check's recent results, newest first, with how long it has been in its state and its pass ratio. */
  history(): CheckHistory[] {
    const now = this.now();
    return [...this.entries.values()].map((entry) => {
      const { status } = this.view(entry, now);
      // A stale check's state began when it went stale, which no result records: no age is given.
      const since = entry.stateSince === undefined || this.isStale(entry, now) ? {} : { since: new Date(entry.stateSince).toISOString(), forMs: Date.now() - entry.stateSince };
      const passRatio = entry.history.passRatio();
      return { name: entry.check.name, status, ...since, ...(passRatio === undefined ? {} : { passRatio }), results: entry.history.newestFirst() };
    });
  }

  /** Overall status of a group (or of all checks), and the checks in it. */
  status(group?: Group): { status: Status; checks: CheckSnapshot[] } {
    const checks = this.snapshot().filter((c) => !group || c.groups.includes(group));
    // Liveness restarts pods: only a check that has run and failed may turn it, never a pending one.
    let status = worst(checks.filter((c) => group !== 'live' || c.runs > 0).map((c) => c.status));
    if (group === 'ready' && (this.shuttingDown || this.rotation)) status = 'fail';
    if (group === 'startup') {
      // Startup latches: once every startup check has succeeded once, it stays done. With none
      // registered yet it passes without latching: a check the application registers later
      // (from code, after the first probe) still gates startup.
      const startup = [...this.entries.values()].filter((e) => e.options.groups.includes('startup'));
      this.startupComplete ||= startup.length > 0 && startup.every((e) => e.everPassed);
      status = this.startupComplete || startup.length === 0 ? 'pass' : 'fail';
    }
    return { status, checks };
  }

  private view(entry: Entry, now: number): CheckSnapshot {
    const { check, options, last } = entry;
    const base = { name: check.name, critical: options.critical, groups: options.groups, componentType: options.componentType, runs: entry.runs };
    if (!last) return { ...base, status: withoutResult(options), output: this.running ? 'pending: no run has completed yet' : 'not started' };
    const { result, outcome } = last;
    const age = now - last.at;
    const stale = this.isStale(entry, now);
    return {
      ...base,
      status: stale ? withoutResult(options) : entry.flap.status ?? 'fail',
      observedValue: result.observedValue,
      observedUnit: result.observedUnit,
      output: stale ? `stale: no result for ${Math.round(age)} ms (expected one every ${options.intervalMs} ms)` : result.output,
      details: result.details,
      componentType: result.componentType ?? options.componentType,
      time: last.time,
      durationMs: hundredths(outcome.durationMs),
      ...(outcome.traced === false ? {} : idsOf(outcome)),
    };
  }

  /** No result for STALE_AFTER_RUNS runs while the engine runs. */
  private isStale(entry: Entry, now: number): boolean {
    const { intervalMs, timeoutMs } = entry.options;
    return this.running && entry.last !== undefined && now - entry.last.at > STALE_AFTER_RUNS * (intervalMs + timeoutMs);
  }

  private schedule(entry: Entry, delayMs: number): void {
    if (!this.running || this.entries.get(entry.check.name) !== entry) return;
    // Nothing a run does may become an unhandled rejection in the host. The timer is made in the
    // root context: a check registered inside a request (a client found at its first use, a
    // registerCheck in a handler) would otherwise run, and log, in that request forever after.
    // An interval near the largest a timer holds, plus its jitter, would overflow it (Node then fires at once).
    entry.timer = context.with(ROOT_CONTEXT, () => setTimeout(() => void this.tick(entry).catch(() => undefined), Math.min(delayMs, MAX_TIMER_MS)));
    entry.timer.unref();
  }

  private async tick(entry: Entry): Promise<void> {
    entry.busy = true;
    try {
      const hung = entry.pending !== undefined;
      const outcome = hung ? this.stillHung(entry) : await runCheck(entry.check, entry.options.timeoutMs);
      if (outcome.abandoned) this.track(entry, outcome.abandoned);
      if (this.entries.get(entry.check.name) !== entry) return;
      // A tick that started no call is no run: it has no span and no duration to record.
      if (!hung) this.notify(() => this.hooks.onRun?.(entry.check.name, outcome.result, outcome.durationMs));
      this.record(entry, outcome, !hung);
    } finally {
      entry.busy = false;
      const { intervalMs, jitter } = entry.options;
      this.schedule(entry, intervalMs + intervalMs * jitter * Math.random());
    }
  }

  /**
   * The previous call ignored its abort signal and is still running: never start a second one.
   * The check stays failed, with the duration and trace of the run that timed out.
   */
  private stillHung(entry: Entry): RunOutcome {
    const since = Math.round(this.now() - (entry.pendingSince ?? 0));
    const output = `timed out after ${entry.options.timeoutMs} ms; still unsettled ${since} ms later, so no new call is started`;
    const { durationMs = 0, traceId = '', spanId = '' } = entry.last?.outcome ?? {};
    return { result: { status: 'fail', output }, durationMs, traceId, spanId };
  }

  private track(entry: Entry, call: Promise<unknown>): void {
    entry.pending = call;
    entry.pendingSince = this.now();
    const settled = () => {
      if (entry.pending === call) entry.pending = undefined;
    };
    call.then(settled, settled);
  }

  /** `fresh`: the outcome of a new run (not a tick that found the previous call still hung). */
  private record(entry: Entry, outcome: RunOutcome, fresh: boolean): void {
    const result = applyCriticality(outcome.result, entry.options.critical);
    const now = this.now();
    const from = entry.flap.status;
    entry.flap = nextStatus(entry.flap, result.status, entry.options);
    // Whether the run's trace is exported, asked before anything reports the run.
    const informative = entry.runs === 0 || outcome.result.status !== 'pass' || from !== entry.flap.status;
    outcome.traced = fresh ? this.traced(entry.check.name, outcome.traceId, informative) : entry.last?.outcome.traced;
    entry.runs++;
    const time = new Date().toISOString();
    entry.last = { result, outcome, at: now, time };
    this.changes++;
    const to = entry.flap.status!;
    const { traceId } = idsOf(outcome);
    entry.history.add({ time, status: to, durationMs: hundredths(outcome.durationMs), ...(result.output ? { output: result.output.slice(0, HISTORY_OUTPUT_CHARS) } : {}), ...(traceId ? { traceId } : {}) });
    if (to !== 'fail') entry.everPassed = true;
    if (from !== to) {
      entry.stateSince = Date.now();
      entry.failingSince = to === 'fail' ? now : undefined;
      entry.remindedAt = now;
      this.notify(() => this.hooks.onChange?.({ check: entry.check.name, from, to, reason: result.output, ...idsOf(outcome) }));
    } else if (to === 'fail' && now - (entry.remindedAt ?? now) >= this.reminderMs) {
      entry.remindedAt = now;
      const { traceId, spanId } = idsOf(outcome);
      this.notify(() => this.hooks.onStillFailing?.(entry.check.name, now - (entry.failingSince ?? now), result.output, traceId, spanId));
    }
  }

  private traced(check: string, traceId: string, informative: boolean): boolean {
    try {
      return this.hooks.onRunTraced?.(check, traceId, informative) ?? true;
    } catch {
      return true;
    }
  }

  /** A hook that throws (a metric, a log line) must neither stop the checks nor reach the host. */
  private notify(call: () => void): void {
    try {
      call();
    } catch {
      // Dropped: the engine has nowhere safer to report it.
    }
  }

  private async retire(entry: Entry): Promise<void> {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    try {
      await entry.check.close?.();
    } catch {
      // Closing is best effort: a connection that cannot close cleanly is dropped anyway.
    }
  }
}

/** Without a current result a critical check fails; a non-critical one can only warn. */
function withoutResult(options: ResolvedOptions): Status {
  return options.critical ? 'fail' : 'warn';
}
