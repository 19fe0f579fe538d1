// One typed table of every environment variable the agent reads. A bad value gives a
// problem naming the variable and the default is used (OpenTelemetry JS style: warn, fall back).

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type DetailLevel = 'always' | 'never' | 'token';
export type OtlpProtocol = 'http/protobuf' | 'http/json';
export type SignalExporter = 'otlp' | 'console' | 'none';
export type SamplerName =
  | 'always_on' | 'always_off' | 'traceidratio'
  | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';
export type OtelLogLevel = 'none' | 'error' | 'warn' | 'info' | 'debug' | 'verbose' | 'all';

/** The longest delay a Node timer takes; a longer one fires at once (with a warning on the host's stderr). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

interface Spec<T> {
  parse(raw: string): T | undefined;
  expected: string;
  fallback: T;
}

function integer(fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): Spec<number> {
  return {
    fallback,
    expected: `an integer from ${min} to ${max}`,
    parse: (raw) => {
      if (!/^\s*\d+\s*$/.test(raw)) return undefined;
      const n = Number(raw);
      return n >= min && n <= max ? n : undefined;
    },
  };
}

/** Milliseconds, bounded to what a Node timer can hold. */
function duration(fallback: number, min: number): Spec<number> {
  return integer(fallback, min, MAX_TIMER_MS);
}

function ratio(fallback: number): Spec<number> {
  return {
    fallback,
    expected: 'a number from 0 to 1',
    parse: (raw) => {
      const n = Number(raw);
      return raw.trim() !== '' && n >= 0 && n <= 1 ? n : undefined;
    },
  };
}

function boolean(fallback: boolean): Spec<boolean> {
  return {
    fallback,
    expected: 'true or false',
    parse: (raw) => {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off', ''].includes(v)) return false;
      return undefined;
    },
  };
}

function oneOf<T extends string>(fallback: T, values: readonly T[]): Spec<T> {
  return {
    fallback,
    expected: `one of ${values.join(', ')}`,
    parse: (raw) => {
      const v = raw.trim().toLowerCase() as T;
      return values.includes(v) ? v : undefined;
    },
  };
}

function text(fallback = ''): Spec<string> {
  return { fallback, expected: 'a string', parse: (raw) => raw.trim() };
}

function exporterList(): Spec<SignalExporter[]> {
  const allowed: readonly SignalExporter[] = ['otlp', 'console', 'none'];
  return {
    fallback: ['otlp'],
    expected: `a comma-separated list of ${allowed.join(', ')}`,
    parse: (raw) => {
      const items = raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
      if (items.length === 0 || !items.every((i) => allowed.includes(i as SignalExporter))) return undefined;
      return [...new Set(items)] as SignalExporter[];
    },
  };
}

/** Every variable, its parser and default. The order is the order of the reference in README.md. */
export const ENV_TABLE = {
  VIGIL_DISABLED: boolean(false),
  VIGIL_PORT: integer(9000, 0, 65535),
  VIGIL_HOST: text('0.0.0.0'),
  VIGIL_CONFIG: text(),
  VIGIL_CHECK_INTERVAL_MS: duration(10_000, 100),
  // 0: derived from the interval.
  VIGIL_CHECK_TIMEOUT_MS: duration(0, 0),
  VIGIL_SHUTDOWN_DELAY_MS: integer(0, 0, 600_000),
  VIGIL_FLUSH_TIMEOUT_MS: integer(1_000, 0, 60_000),
  VIGIL_DETAILS: oneOf<DetailLevel>('always', ['always', 'never', 'token']),
  VIGIL_TOKEN: text(),
  VIGIL_LOG_LEVEL: oneOf<LogLevel>('info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  VIGIL_AUTO_CHECKS: boolean(true),
  VIGIL_POSTGRES_URL: text(),
  VIGIL_REDIS_URL: text(),
  VIGIL_AMQP_URL: text(),
  VIGIL_AMQP_QUEUE: text(),
  VIGIL_HTTP_CHECKS: text(),
  VIGIL_TCP_CHECKS: text(),
  OTEL_SDK_DISABLED: boolean(false),
  OTEL_LOG_LEVEL: oneOf<OtelLogLevel>('info', ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all']),
  OTEL_EXPORTER_OTLP_PROTOCOL: oneOf<OtlpProtocol>('http/protobuf', ['http/protobuf', 'http/json']),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: oneOf<OtlpProtocol | ''>('', ['http/protobuf', 'http/json']),
  OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: oneOf<OtlpProtocol | ''>('', ['http/protobuf', 'http/json']),
  OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: oneOf<OtlpProtocol | ''>('', ['http/protobuf', 'http/json']),
  OTEL_TRACES_EXPORTER: exporterList(),
  OTEL_METRICS_EXPORTER: exporterList(),
  OTEL_LOGS_EXPORTER: exporterList(),
  OTEL_METRIC_EXPORT_INTERVAL: duration(60_000, 100),
  OTEL_METRIC_EXPORT_TIMEOUT: duration(30_000, 100),
  // The SDK's batch processors read no variables themselves in this version: these are passed on.
  OTEL_BSP_SCHEDULE_DELAY: duration(5_000, 0),
  OTEL_BSP_EXPORT_TIMEOUT: duration(30_000, 0),
  OTEL_BSP_MAX_QUEUE_SIZE: integer(2_048, 1),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: integer(512, 1),
  OTEL_BLRP_SCHEDULE_DELAY: duration(1_000, 0),
  OTEL_BLRP_EXPORT_TIMEOUT: duration(30_000, 0),
  OTEL_BLRP_MAX_QUEUE_SIZE: integer(2_048, 1),
  OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: integer(512, 1),
  OTEL_TRACES_SAMPLER: oneOf<SamplerName>('parentbased_always_on', [
    'always_on', 'always_off', 'traceidratio',
    'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio',
  ]),
  OTEL_TRACES_SAMPLER_ARG: ratio(1),
  OTEL_NODE_ENABLED_INSTRUMENTATIONS: text(),
  OTEL_NODE_DISABLED_INSTRUMENTATIONS: text(),
} satisfies Record<string, Spec<unknown>>;

export type EnvName = keyof typeof ENV_TABLE;
export type EnvValues = { -readonly [K in EnvName]: (typeof ENV_TABLE)[K]['fallback'] };

/** A setting that was given but could not be used. */
export interface ConfigProblem {
  variable: string;
  message: string;
}

/** Reads every variable of the table; unset or empty means the default. */
export function readEnv(env: NodeJS.ProcessEnv): { values: EnvValues; problems: ConfigProblem[] } {
  const values = {} as Record<string, unknown>;
  const problems: ConfigProblem[] = [];
  for (const [name, spec] of Object.entries(ENV_TABLE) as [EnvName, Spec<unknown>][]) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') {
      values[name] = spec.fallback;
      continue;
    }
    const parsed = spec.parse(raw);
    if (parsed === undefined) {
      values[name] = spec.fallback;
      problems.push({
        variable: name,
        message: `${name}=${JSON.stringify(shown(raw))} is not ${spec.expected}; using the default ${JSON.stringify(spec.fallback)}`,
      });
    } else {
      values[name] = parsed;
    }
  }
  return { values: values as EnvValues, problems };
}

/** A value as a line can show it: a long one cut, with its length. */
function shown(raw: string): string {
  return raw.length <= 64 ? raw : `${raw.slice(0, 64)}… (${raw.length} characters)`;
}

/** True when the agent must not start at all; read before anything heavy is loaded. */
export function isDisabled(env: NodeJS.ProcessEnv): boolean {
  const v = (env.VIGIL_DISABLED ?? '').trim().toLowerCase();
  return v === 'true' || v === '1' || v === 'yes' || v === 'on';
}
