import { defaultTimeout, type AgentConfig } from '../config';
import { VigilError } from '../errors';
import type { ResolvedOptions } from './engine';
import type { CheckOptions, Group } from './types';

/** Throws (at registration, in the caller's code) on a name or function no check can have. */
export function assertValidCheck(name: unknown, fn: unknown): void {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(name) || typeof fn !== 'function') {
    throw new VigilError('VIGIL_ERR_CHECK_DEFINITION', `registerCheck(name, fn): name must be 1-64 letters, digits or _ . : - and fn a function (got ${JSON.stringify(name)})`);
  }
}

/** Options of an application check, with the agent's defaults. */
export function resolveOptions(options: CheckOptions, config: Pick<AgentConfig, 'intervalMs' | 'explicitTimeoutMs'>): ResolvedOptions {
  const intervalMs = Math.max(100, options.intervalMs ?? config.intervalMs);
  const groups: Group[] = options.groups?.length ? [...new Set(options.groups)] : ['ready', 'startup'];
  return {
    critical: options.critical ?? true,
    intervalMs,
    timeoutMs: Math.max(1, options.timeoutMs ?? defaultTimeout(intervalMs, config.explicitTimeoutMs)),
    initialDelayMs: Math.max(0, options.initialDelayMs ?? 0),
    jitter: Math.min(1, Math.max(0, options.jitter ?? 0.1)),
    groups,
    failureThreshold: Math.max(1, options.failureThreshold ?? 1),
    successThreshold: Math.max(1, options.successThreshold ?? 1),
    componentType: options.componentType,
  };
}
