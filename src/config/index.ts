import type { CheckOptions, Group } from '../types';
import { redact } from '../util/redact';
import { url, withoutCredentials } from './kinds';
import { readSettings, SETTINGS, type ConfigProblem, type DetailLevel, type LogLevel, type Settings } from './settings';
import type { CheckEntry, CheckKind, FileConfig } from './file-schema';

/** The catalogue code a configuration problem is logged with. */
export function problemCode(problem: ConfigProblem): 'VIGIL_ERR_CONFIG_FILE' | 'VIGIL_ERR_CONFIG_VALUE' {
  return problem.variable === 'VIGIL_CONFIG' ? 'VIGIL_ERR_CONFIG_FILE' : 'VIGIL_ERR_CONFIG_VALUE';
}

/** A check declared by environment or file, before its driver is loaded. */
export interface CheckSpec {
  name: string;
  kind: CheckKind;
  settings: Readonly<CheckEntry>;
  options: Readonly<Required<Omit<CheckOptions, 'componentType'>>>;
}

/** The validated, frozen configuration of one agent. */
export interface AgentConfig {
  port: number;
  host: string;
  intervalMs: number;
  /** The default check timeout: VIGIL_CHECK_TIMEOUT_MS, else derived from the interval. */
  timeoutMs: number;
  /** VIGIL_CHECK_TIMEOUT_MS (or the file's timeoutMs) as set; 0 when the timeout is derived. */
  explicitTimeoutMs: number;
  shutdownDelayMs: number;
  flushTimeoutMs: number;
  historySize: number;
  details: DetailLevel;
  token: string;
  logLevel: LogLevel;
  autoChecks: boolean;
  checks: readonly CheckSpec[];
  env: Readonly<Settings>;
}

const DEPENDENCY: Partial<CheckOptions> = { groups: ['ready', 'startup'], critical: true };
// Resource checks wait a second: start-up itself is a burst of CPU and allocation.
const RESOURCE: Partial<CheckOptions> = { groups: ['ready'], critical: false, initialDelayMs: 1_000 };

/** Per-kind defaults: dependencies gate readiness and startup, never liveness (an outage must not restart pods). */
const KIND_DEFAULTS: Record<CheckKind, { options: Partial<CheckOptions>; settings: CheckEntry }> = {
  postgres: { options: DEPENDENCY, settings: {} },
  redis: { options: DEPENDENCY, settings: {} },
  amqp: { options: DEPENDENCY, settings: {} },
  http: { options: DEPENDENCY, settings: {} },
  tcp: { options: DEPENDENCY, settings: {} },
  'event-loop': { options: { groups: ['live', 'ready'], critical: true, failureThreshold: 3, initialDelayMs: 1_000 }, settings: { warn: 200, fail: 2000, utilizationWarn: 0.95 } },
  cpu: { options: { ...RESOURCE, failureThreshold: 3, successThreshold: 2 }, settings: { warn: 0.8, fail: 0.95 } },
  memory: { options: RESOURCE, settings: { warn: 0.85, fail: 0.95 } },
  disk: { options: RESOURCE, settings: { warn: 0.9, fail: 0.95 } },
  heap: { options: RESOURCE, settings: { warn: 0.85, fail: 0.95 } },
};

const HTTP_URL = url(['http:', 'https:']);

const BUILT_IN: CheckKind[] = ['event-loop', 'cpu', 'memory', 'disk', 'heap'];

/** Reads environment and VIGIL_CONFIG into one frozen configuration, with every problem found. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): { config: AgentConfig; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  let file: FileConfig = {};
  // The file's own path is a setting of the environment alone.
  const path = SETTINGS.VIGIL_CONFIG.parse(env.VIGIL_CONFIG ?? '');
  if (path) {
    // Loaded only when there is a file: the schema library is the largest part of the agent.
    const { readConfigFile } = require('./file') as typeof import('./file');
    const read = readConfigFile(path);
    file = read.file;
    problems.push(...read.problems);
  }
  const { values, problems: invalid } = readSettings(env, file);
  problems.unshift(...invalid);

  const intervalMs = values.VIGIL_CHECK_INTERVAL_MS;
  const explicitTimeoutMs = values.VIGIL_CHECK_TIMEOUT_MS;
  const entries = declaredChecks(values, file, problems);
  const checks = Object.entries(entries).flatMap(([name, entry]) => {
    const spec = toSpec(name, entry, { intervalMs, explicitTimeoutMs }, problems);
    return spec ? [spec] : [];
  });

  const config: AgentConfig = {
    port: values.VIGIL_PORT,
    host: values.VIGIL_HOST,
    intervalMs,
    timeoutMs: defaultTimeout(intervalMs, explicitTimeoutMs),
    explicitTimeoutMs,
    shutdownDelayMs: values.VIGIL_SHUTDOWN_DELAY_MS,
    flushTimeoutMs: values.VIGIL_FLUSH_TIMEOUT_MS,
    historySize: values.VIGIL_HISTORY_SIZE,
    details: values.VIGIL_DETAILS,
    token: values.VIGIL_TOKEN,
    logLevel: values.VIGIL_LOG_LEVEL,
    autoChecks: values.VIGIL_AUTO_CHECKS,
    checks: Object.freeze(checks),
    env: values,
  };
  if (config.details === 'token' && !config.token) {
    problems.push({ variable: 'VIGIL_TOKEN', message: 'VIGIL_DETAILS=token needs VIGIL_TOKEN; details are never shown' });
  }
  return { config: Object.freeze(config), problems };
}

/** Built-in checks, then those the environment declares, merged with the file's entries by name. */
function declaredChecks(values: Settings, file: FileConfig, problems: ConfigProblem[]): Record<string, CheckEntry> {
  const entries: Record<string, CheckEntry> = {};
  for (const kind of BUILT_IN) entries[kind] = { kind };
  if (values.VIGIL_POSTGRES_URL) entries.postgres = { kind: 'postgres', url: values.VIGIL_POSTGRES_URL };
  if (values.VIGIL_REDIS_URL) entries.redis = { kind: 'redis', url: values.VIGIL_REDIS_URL };
  if (values.VIGIL_AMQP_URL) {
    entries.rabbitmq = { kind: 'amqp', url: values.VIGIL_AMQP_URL, ...(values.VIGIL_AMQP_QUEUE ? { queue: values.VIGIL_AMQP_QUEUE } : {}) };
  }
  for (const [name, target] of namedList('VIGIL_HTTP_CHECKS', values.VIGIL_HTTP_CHECKS, problems)) {
    if (HTTP_URL.parse(target)) entries[name] = { kind: 'http', url: target };
    else problems.push({ variable: 'VIGIL_HTTP_CHECKS', message: `check "${name}": "${redact(withoutCredentials(target))}" is not an http(s) URL; the check is skipped` });
  }
  for (const [name, target] of namedList('VIGIL_TCP_CHECKS', values.VIGIL_TCP_CHECKS, problems)) {
    const match = /^(.+):(\d{1,5})$/.exec(target);
    const port = match ? Number(match[2]) : 0;
    if (match && port >= 1 && port <= 65535) entries[name] = { kind: 'tcp', host: match[1].replace(/^\[|\]$/g, ''), port };
    else problems.push({ variable: 'VIGIL_TCP_CHECKS', message: `check "${name}": "${redact(withoutCredentials(target))}" is not host:port; the check is skipped` });
  }
  for (const [name, entry] of Object.entries(file.checks ?? {})) {
    // The environment's connection settings win; the file adds options and new checks.
    entries[name] = { ...entry, ...entries[name] ? withoutUndefined(entries[name]) : {} };
    if (entry.kind && entries[name].kind !== entry.kind && entries[name].kind) {
      problems.push({ variable: 'VIGIL_CONFIG', message: `checks.${name}.kind: "${entry.kind}" conflicts with the environment's "${entries[name].kind}"; the environment wins` });
    }
  }
  return entries;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `name=value,name=value` pairs of a list variable. */
function namedList(variable: string, raw: string, problems: ConfigProblem[]): [string, string][] {
  if (!raw) return [];
  return raw.split(',').map((s) => s.trim()).filter(Boolean).flatMap((item): [string, string][] => {
    const eq = item.indexOf('=');
    const name = eq > 0 ? item.slice(0, eq).trim() : '';
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) {
      problems.push({ variable, message: `an entry is not name=target (name: letters, digits, _ . : -); it is skipped` });
      return [];
    }
    return [[name, item.slice(eq + 1).trim()]];
  });
}

/**
 * A check's timeout when it sets none: VIGIL_CHECK_TIMEOUT_MS if set, else well under the
 * check's own interval (half of it, at most 5 s), so a run always ends before the next is due.
 */
export function defaultTimeout(intervalMs: number, explicitTimeoutMs: number): number {
  return explicitTimeoutMs || Math.max(1, Math.min(5_000, Math.floor(intervalMs / 2)));
}

function toSpec(name: string, entry: CheckEntry, global: { intervalMs: number; explicitTimeoutMs: number }, problems: ConfigProblem[]): CheckSpec | undefined {
  if (entry.enabled === false) return undefined;
  if (!entry.kind) {
    problems.push({ variable: 'VIGIL_CONFIG', message: `checks.${name}: needs a "kind" (one of postgres, redis, amqp, http, tcp); the check is skipped` });
    return undefined;
  }
  const defaults = KIND_DEFAULTS[entry.kind];
  const options = {
    critical: entry.critical ?? defaults.options.critical ?? true,
    intervalMs: entry.intervalMs ?? global.intervalMs,
    timeoutMs: entry.timeoutMs ?? defaultTimeout(entry.intervalMs ?? global.intervalMs, global.explicitTimeoutMs),
    initialDelayMs: entry.initialDelayMs ?? defaults.options.initialDelayMs ?? 0,
    jitter: entry.jitter ?? 0.1,
    groups: [...new Set<Group>(entry.groups ?? defaults.options.groups ?? ['ready', 'startup'])],
    failureThreshold: entry.failureThreshold ?? defaults.options.failureThreshold ?? 1,
    successThreshold: entry.successThreshold ?? defaults.options.successThreshold ?? 1,
  };
  return Object.freeze({ name, kind: entry.kind, settings: Object.freeze({ ...defaults.settings, ...withoutUndefined(entry) }), options: Object.freeze(options) });
}
