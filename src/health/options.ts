import { defaultTimeout, type AgentConfig } from '../config';
import { MAX_TIMER_MS } from '../config/kinds';
import { VigilError } from '../errors';
import type { ResolvedOptions } from './engine';
import type { CheckOptions, Group } from '../types';

const GROUPS: readonly Group[] = ['live', 'ready', 'startup'];

/** Ranges of the numeric options; a value outside (or NaN) is refused at registration. */
const RANGES: Partial<Record<keyof CheckOptions, [number, number]>> = {
  intervalMs: [100, MAX_TIMER_MS], timeoutMs: [1, MAX_TIMER_MS], initialDelayMs: [0, MAX_TIMER_MS],
  jitter: [0, 1], failureThreshold: [1, 1_000_000], successThreshold: [1, 1_000_000],
};

/**
 * Throws (at registration, in the caller's code) on a name, function or option no check can
 * have: better a clear error once than a check that runs every millisecond or never degrades.
 */
export function assertValidCheck(name: unknown, fn: unknown, options: CheckOptions = {}): void {
  const refuse = (what: string) => {
    throw new VigilError('VIGIL_ERR_CHECK_DEFINITION', `registerCheck(${JSON.stringify(name)}): ${what}`);
  };
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) refuse('the name must be 1-64 letters, digits or _ . : -');
  if (typeof fn !== 'function') refuse('the check must be a function');
  for (const [key, [min, max]] of Object.entries(RANGES) as [keyof CheckOptions, [number, number]][]) {
    const value = options[key];
    if (value !== undefined && (typeof value !== 'number' || !(value >= min && value <= max))) refuse(`options.${key} must be a number from ${min} to ${max} (got ${String(value)})`);
  }
  if (options.critical !== undefined && typeof options.critical !== 'boolean') refuse('options.critical must be true or false');
  if (options.groups !== undefined && (!Array.isArray(options.groups) || !options.groups.every((g) => GROUPS.includes(g)))) {
    refuse(`options.groups must be an array of ${GROUPS.join(', ')}`);
  }
}

/** Options of an application check (validated by assertValidCheck), with the agent's defaults. */
export function resolveOptions(options: CheckOptions, config: Pick<AgentConfig, 'intervalMs' | 'explicitTimeoutMs'>): ResolvedOptions {
  const intervalMs = options.intervalMs ?? config.intervalMs;
  const groups: Group[] = options.groups ? [...new Set(options.groups)] : ['ready', 'startup'];
  return {
    critical: options.critical ?? true,
    intervalMs,
    timeoutMs: options.timeoutMs ?? defaultTimeout(intervalMs, config.explicitTimeoutMs),
    initialDelayMs: options.initialDelayMs ?? 0,
    jitter: options.jitter ?? 0.1,
    groups,
    failureThreshold: options.failureThreshold ?? 1,
    successThreshold: options.successThreshold ?? 1,
    componentType: options.componentType,
  };
}
