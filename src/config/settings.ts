// Every setting of the agent, once: its environment name, its configuration-file key, its kind
// (parser, bounds, default) and its line of documentation. The environment, the VIGIL_CONFIG
// file, `start({ env })`, the SDK and exporters, and the reference in docs/configuration.md all come from here.
import {
  boolean, duration, integer, keyValues, list, MAX_TIMER_MS, oneOf, optionalInteger, ratio, text, url, type Kind,
} from './kinds';


export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type DetailLevel = 'local' | 'always' | 'never' | 'token';
export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';
export type SignalExporter = 'otlp' | 'console' | 'none';
export type MetricExporter = SignalExporter | 'prometheus';
export type SamplerName =
  | 'always_on' | 'always_off' | 'traceidratio'
  | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';
export type CheckTraceSampler = 'informative' | 'always_on' | 'always_off';
export type OtelLogLevel = 'none' | 'error' | 'warn' | 'info' | 'debug' | 'verbose' | 'all';
export type Compression = 'none' | 'gzip';
export type Temporality = 'cumulative' | 'delta' | 'lowmemory';

interface Row<T> extends Kind<T> {
  doc: string;
  /** The key of the VIGIL_CONFIG file that sets the same value (the environment wins). */
  file?: string;
  /** Never echoed in a problem line. */
  secret?: boolean;
  /** How the reference writes the default, when the value itself does not say it. */
  shownDefault?: string;
}

function row<T>(kind: Kind<T>, doc: string, extra: Omit<Row<T>, keyof Kind<T> | 'doc'> = {}): Row<T> {
  return { ...kind, doc, ...extra };
}

const PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
const SIGNAL_PROTOCOL = oneOf<OtlpProtocol | ''>('', ['', ...PROTOCOLS]);
const EXPORTERS: readonly SignalExporter[] = ['otlp', 'console', 'none'];
const METRIC_EXPORTERS: readonly MetricExporter[] = [...EXPORTERS, 'prometheus'];
const COMPRESSION = ['none', 'gzip'] as const;
const SIGNAL_COMPRESSION = oneOf<Compression | ''>('', ['', ...COMPRESSION]);
const ENDPOINT = url(['http:', 'https:']);
const PACKAGE_SCRIPTS = ['start*', 'serve*', 'dev*', 'prod*'];

/** The order is the order of the reference in docs/configuration.md. */
export const SETTINGS = {
  VIGIL_DISABLED: row(boolean(false), '`true` / `1` / `yes` / `on`: the preload does not load the agent at all'),
  VIGIL_PORT: row(integer(9000, 0, 65535), 'port of the probe server; `0` = a free port, reported in the `port` field of the "listening" line', { file: 'port' }),
  VIGIL_HOST: row(text('0.0.0.0'), 'address the probe server binds', { file: 'host' }),
  VIGIL_CONFIG: row(text(), 'path of a JSON or YAML (`.yaml` / `.yml`) [configuration file](#configuration-file-vigil_config): a regular file of at most 1 MiB (a FIFO, a device or a larger file is refused with `VIGIL_ERR_CONFIG_FILE`)'),
  VIGIL_CHECK_INTERVAL_MS: row(duration(10_000, 100), 'ms between the end of one run of a check and the start of the next, plus up to 10 % jitter', { file: 'intervalMs' }),
  VIGIL_CHECK_TIMEOUT_MS: row(duration(0, 0), 'ms after which a run is aborted and counts as fail; `0`: min(5000, interval ÷ 2)', { file: 'timeoutMs' }),
  VIGIL_HISTORY_SIZE: row(integer(60, 1, 1000), 'results kept per check for `/health/history` (and the status page): the latest ones, oldest dropped first', { file: 'historySize' }),
  VIGIL_SHUTDOWN_DELAY_MS: row(duration(0, 0, 600_000), 'on SIGTERM / SIGINT, ms readiness stays 503 while the process keeps serving, before checks stop', { file: 'shutdownDelayMs' }),
  VIGIL_FLUSH_TIMEOUT_MS: row(duration(1_000, 0, 60_000), 'ms allowed for flushing telemetry at shutdown and at exit', { file: 'flushTimeoutMs' }),
  VIGIL_DETAILS: row(oneOf<DetailLevel>('local', ['local', 'always', 'never', 'token']), 'who sees check details in probe bodies: `local` (loopback callers and holders of the token), `always`, `never`, `token` (holders of the token only); everyone else gets the status alone', { file: 'details' }),
  VIGIL_TOKEN: row(text(), 'bearer token (`Authorization: Bearer <token>`) that shows details to a caller from anywhere', { file: 'token', secret: true }),
  VIGIL_LOG_LEVEL: row(oneOf<LogLevel>('info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), "level of the agent's own log lines", { file: 'logLevel' }),
  VIGIL_AUTO_CHECKS: row(boolean(true), "check the application's own `pg` pool and `ioredis` client once it uses them (`app-postgres`, `app-redis`)", { file: 'autoChecks' }),
  VIGIL_SERVE_SCRIPTS: row(list(PACKAGE_SCRIPTS), 'under a package manager (`npm run`, `npx`, yarn, pnpm), the scripts whose process serves probes and runs checks (`*` ends a prefix: `start*` is `start`, `start:prod`, `start-prod` ...); any other script (`build`, `test`, `npx tsc` ...) is traced only, and says so once', { file: 'serveScripts' }),
  VIGIL_POSTGRES_URL: row(url(['postgres:', 'postgresql:']), 'registers the `postgres` check: `postgres://user:password@host:5432/db`'),
  VIGIL_REDIS_URL: row(url(['redis:', 'rediss:']), 'registers the `redis` check: `redis://[:password@]host:6379[/db]` or `rediss://...`'),
  VIGIL_AMQP_URL: row(url(['amqp:', 'amqps:']), 'registers the `rabbitmq` check: `amqp://user:password@host:5672[/vhost]` or `amqps://...`'),
  VIGIL_AMQP_QUEUE: row(text(), 'with `VIGIL_AMQP_URL`: a queue whose depth and consumers the `rabbitmq` check watches'),
  VIGIL_HTTP_CHECKS: row(text(), 'one HTTP check each: `name=http(s)://url[,name=url...]`'),
  VIGIL_TCP_CHECKS: row(text(), 'one TCP check each: `name=host:port[,name=host:port...]` (IPv6: `name=[::1]:5432`)'),
  OTEL_SDK_DISABLED: row(boolean(false), '`true`: no tracing, metrics or log export; checks and probes still run'),
  OTEL_LOG_LEVEL: row(oneOf<OtelLogLevel>('info', ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all']), 'OpenTelemetry\'s own diagnostics, written as agent lines with `"source":"opentelemetry"` (also filtered by `VIGIL_LOG_LEVEL`)'),
  OTEL_SERVICE_NAME: row(text(), '`service.name` of all telemetry and `serviceId` of the probe bodies', { shownDefault: 'the `name` in the application\'s `package.json`, else `unknown_service:node`' }),
  OTEL_RESOURCE_ATTRIBUTES: row(keyValues(), 'resource attributes; they win over the agent\'s own (`service.instance.id=$(POD_NAME)` works)'),
  OTEL_EXPORTER_OTLP_PROTOCOL: row(oneOf<OtlpProtocol>('http/protobuf', PROTOCOLS), 'OTLP over HTTP as protobuf or JSON, or over gRPC (then the endpoint is used as given, and its default is `http://localhost:4317`)'),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: row(SIGNAL_PROTOCOL, 'protocol of traces; unset: `OTEL_EXPORTER_OTLP_PROTOCOL`'),
  OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: row(SIGNAL_PROTOCOL, 'protocol of metrics; unset: `OTEL_EXPORTER_OTLP_PROTOCOL`'),
  OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: row(SIGNAL_PROTOCOL, 'protocol of logs; unset: `OTEL_EXPORTER_OTLP_PROTOCOL`'),
  OTEL_EXPORTER_OTLP_ENDPOINT: row({ ...ENDPOINT, fallback: 'http://localhost:4318' }, 'base URL of the OTLP receiver; over HTTP `/v1/traces`, `/v1/metrics`, `/v1/logs` are appended; over gRPC it is used as given (and `http://localhost:4317` takes the place of this default)'),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: row(ENDPOINT, 'full URL for traces, used as given'),
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: row(ENDPOINT, 'full URL for metrics, used as given'),
  OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: row(ENDPOINT, 'full URL for logs, used as given'),
  OTEL_EXPORTER_OTLP_HEADERS: row(keyValues(), 'request headers of every export (e.g. `authorization=Bearer%20abc`); the values of credential-named headers (`authorization`, `*key*`, `*token*` ...) and every value of 16 characters or more are secrets, masked wherever they appear', { secret: true }),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: row(keyValues(), 'headers of trace exports, merged over the shared ones', { secret: true }),
  OTEL_EXPORTER_OTLP_METRICS_HEADERS: row(keyValues(), 'headers of metric exports, merged over the shared ones', { secret: true }),
  OTEL_EXPORTER_OTLP_LOGS_HEADERS: row(keyValues(), 'headers of log exports, merged over the shared ones', { secret: true }),
  OTEL_EXPORTER_OTLP_TIMEOUT: row(duration(10_000, 1), 'ms for one export, retries included (with the processor\'s export timeout, the shorter bounds it)'),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: row(optionalInteger(1, MAX_TIMER_MS), 'ms for one trace export; unset: `OTEL_EXPORTER_OTLP_TIMEOUT`'),
  OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: row(optionalInteger(1, MAX_TIMER_MS), 'ms for one metric export; unset: `OTEL_EXPORTER_OTLP_TIMEOUT`'),
  OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: row(optionalInteger(1, MAX_TIMER_MS), 'ms for one log export; unset: `OTEL_EXPORTER_OTLP_TIMEOUT`'),
  OTEL_EXPORTER_OTLP_COMPRESSION: row(oneOf<Compression>('none', COMPRESSION), 'compression of export bodies'),
  OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: row(SIGNAL_COMPRESSION, 'compression of trace exports; unset: `OTEL_EXPORTER_OTLP_COMPRESSION`'),
  OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: row(SIGNAL_COMPRESSION, 'compression of metric exports; unset: `OTEL_EXPORTER_OTLP_COMPRESSION`'),
  OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: row(SIGNAL_COMPRESSION, 'compression of log exports; unset: `OTEL_EXPORTER_OTLP_COMPRESSION`'),
  OTEL_EXPORTER_OTLP_CERTIFICATE: row(text(), 'PEM file of the CA that signs an `https://` collector\'s certificate'),
  OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: row(text(), 'CA file for trace exports; unset: `OTEL_EXPORTER_OTLP_CERTIFICATE`'),
  OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE: row(text(), 'CA file for metric exports; unset: `OTEL_EXPORTER_OTLP_CERTIFICATE`'),
  OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE: row(text(), 'CA file for log exports; unset: `OTEL_EXPORTER_OTLP_CERTIFICATE`'),
  OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: row(text(), 'PEM file of a client certificate for mutual TLS'),
  OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: row(text(), 'client certificate for trace exports; unset: `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`'),
  OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE: row(text(), 'client certificate for metric exports; unset: `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`'),
  OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE: row(text(), 'client certificate for log exports; unset: `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`'),
  OTEL_EXPORTER_OTLP_CLIENT_KEY: row(text(), 'PEM file of the client certificate\'s private key'),
  OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: row(text(), 'client key for trace exports; unset: `OTEL_EXPORTER_OTLP_CLIENT_KEY`'),
  OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY: row(text(), 'client key for metric exports; unset: `OTEL_EXPORTER_OTLP_CLIENT_KEY`'),
  OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY: row(text(), 'client key for log exports; unset: `OTEL_EXPORTER_OTLP_CLIENT_KEY`'),
  OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: row(oneOf<Temporality>('cumulative', ['cumulative', 'delta', 'lowmemory']), 'aggregation temporality of exported metrics'),
  OTEL_TRACES_EXPORTER: row(list<SignalExporter>(['otlp'], EXPORTERS), 'where spans go'),
  OTEL_METRICS_EXPORTER: row(list<MetricExporter>(['otlp'], METRIC_EXPORTERS), 'where metrics go; `prometheus` serves them for scraping at `/metrics` on `OTEL_EXPORTER_PROMETHEUS_HOST`:`OTEL_EXPORTER_PROMETHEUS_PORT`, under the names the Collector\'s Prometheus exporter gives them (by the process that serves the probes)'),
  OTEL_EXPORTER_PROMETHEUS_HOST: row(text('localhost'), 'address the `/metrics` endpoint binds (with `OTEL_METRICS_EXPORTER=prometheus`); `0.0.0.0` for a scraper on another host'),
  OTEL_EXPORTER_PROMETHEUS_PORT: row(integer(9464, 0, 65535), 'port of the `/metrics` endpoint; `0` = a free port, reported in the "listening" line'),
  OTEL_LOGS_EXPORTER: row(list<SignalExporter>(['otlp'], EXPORTERS), 'where log records go'),
  OTEL_METRIC_EXPORT_INTERVAL: row(duration(60_000, 100), 'ms between metric exports'),
  OTEL_METRIC_EXPORT_TIMEOUT: row(duration(30_000, 100), 'ms that collecting the metrics may take (never more than the interval), and then their export, retries included; past it the data points are dropped as `timeout`'),
  OTEL_BSP_SCHEDULE_DELAY: row(duration(5_000, 0), 'ms between span batches'),
  OTEL_BSP_EXPORT_TIMEOUT: row(duration(30_000, 0), 'ms a span export may take, retries included; past it the spans are dropped as `timeout`; 0: bounded by `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` alone'),
  OTEL_BSP_MAX_QUEUE_SIZE: row(integer(2_048, 1), 'spans waiting or being exported at most; a batch that would pass it is dropped as `queue_full`'),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: row(integer(512, 1), 'spans per export'),
  OTEL_BLRP_SCHEDULE_DELAY: row(duration(1_000, 0), 'ms between log-record batches'),
  OTEL_BLRP_EXPORT_TIMEOUT: row(duration(30_000, 0), 'ms a log export may take, retries included; past it the records are dropped as `timeout`; 0: bounded by `OTEL_EXPORTER_OTLP_LOGS_TIMEOUT` alone'),
  OTEL_BLRP_MAX_QUEUE_SIZE: row(integer(2_048, 1), 'log records waiting or being exported at most; a batch that would pass it is dropped as `queue_full`'),
  OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: row(integer(512, 1), 'log records per export'),
  OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: row(optionalInteger(0), 'longest string attribute value of a span or log record; longer ones are cut', { shownDefault: '(no limit)' }),
  OTEL_ATTRIBUTE_COUNT_LIMIT: row(integer(128, 0), 'attributes per span or log record; more are dropped'),
  OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: row(optionalInteger(0), 'longest span attribute value; unset: `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`'),
  OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: row(optionalInteger(0), 'attributes per span; unset: `OTEL_ATTRIBUTE_COUNT_LIMIT`'),
  OTEL_SPAN_EVENT_COUNT_LIMIT: row(integer(128, 0), 'events per span'),
  OTEL_SPAN_LINK_COUNT_LIMIT: row(integer(128, 0), 'links per span'),
  OTEL_SPAN_ATTRIBUTE_PER_EVENT_COUNT_LIMIT: row(integer(128, 0), 'attributes per span event'),
  OTEL_SPAN_ATTRIBUTE_PER_LINK_COUNT_LIMIT: row(integer(128, 0), 'attributes per span link'),
  OTEL_TRACES_SAMPLER: row(oneOf<SamplerName>('parentbased_always_on', [
    'always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio',
  ]), 'which traces are recorded'),
  OTEL_TRACES_SAMPLER_ARG: row(ratio(1), 'ratio for the `*traceidratio` samplers'),
  VIGIL_CHECK_TRACES_SAMPLER: row(oneOf<CheckTraceSampler>('informative', ['informative', 'always_on', 'always_off']),
    'which runs of a check are traced (check spans follow this, not `OTEL_TRACES_SAMPLER`): `informative` exports the first run, every run that is not `pass`, every change of state and the runs just before and after it, and `VIGIL_CHECK_TRACES_SAMPLER_ARG` of the other runs; `always_on` every run; `always_off` none', { file: 'checkTracesSampler' }),
  VIGIL_CHECK_TRACES_SAMPLER_ARG: row(ratio(0.01), 'with `informative`, the ratio of the other runs (healthy, no change) traced', { file: 'checkTracesSamplerArg' }),
  OTEL_NODE_ENABLED_INSTRUMENTATIONS: row(text(), 'comma-separated [instrumentation](telemetry.md#instrumentations) names: only these', { shownDefault: '(unset: all of them)' }),
  OTEL_NODE_DISABLED_INSTRUMENTATIONS: row(text(), 'comma-separated instrumentation names to turn off'),
} satisfies Record<string, Row<unknown>>;

export type SettingName = keyof typeof SETTINGS;
export type Settings = { -readonly [K in SettingName]: (typeof SETTINGS)[K]['fallback'] };

/** A setting that was given but could not be used. */
export interface ConfigProblem {
  variable: string;
  message: string;
}

/** The settings a configuration file can hold, by their file key. */
export const FILE_KEYS: ReadonlyMap<string, SettingName> = new Map(
  (Object.entries(SETTINGS) as [SettingName, Row<unknown>][]).flatMap(([name, setting]) => (setting.file ? [[setting.file, name]] : [])),
);

/**
 * Every setting from the environment, else from the file's values (already checked by their
 * kind, see ./file), else its default. A bad environment value gives one problem naming the
 * variable, and the next source is used.
 */
export function readSettings(env: NodeJS.ProcessEnv, file: Partial<Record<string, unknown>> = {}): { values: Settings; problems: ConfigProblem[] } {
  const values = {} as Record<string, unknown>;
  const problems: ConfigProblem[] = [];
  for (const [name, setting] of Object.entries(SETTINGS) as [SettingName, Row<unknown>][]) {
    const fromFile = setting.file ? file[setting.file] : undefined;
    const next = fromFile === undefined ? setting.fallback : fromFile;
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') {
      values[name] = next;
      continue;
    }
    const parsed = setting.parse(raw);
    if (parsed !== undefined) {
      values[name] = parsed;
      continue;
    }
    values[name] = next;
    const given = setting.secret ? `(${raw.length} characters, not shown)` : JSON.stringify(shown(setting.show?.(raw) ?? raw));
    const using = fromFile === undefined ? `the default ${JSON.stringify(setting.fallback)}` : `the value of ${env.VIGIL_CONFIG}`;
    problems.push({ variable: name, message: `${name}=${given} is not ${setting.expected}; using ${using}` });
  }
  return { values: Object.freeze(values) as Settings, problems };
}

/** A value as a line can show it: a long one cut, with its length. */
function shown(raw: string): string {
  return raw.length <= 64 ? raw : `${raw.slice(0, 64)}… (${raw.length} characters)`;
}
