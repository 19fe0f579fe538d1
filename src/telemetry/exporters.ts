import { createNoopMeter, type MeterProvider } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { AggregationTemporalitySelector, PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { resolve } from 'node:path';
import { SETTINGS, type OtlpProtocol, type SettingName, type Settings } from '../config/settings';
import { readRegularFile } from '../util/read-file';
import { errorMessage } from '../util/redact';
import { DetachedExporter, type DeliveryLimits, type InnerExporter } from './detached-exporter';
import { UnrefHttpTransport } from './otlp-transport';

export type Signal = 'traces' | 'metrics' | 'logs';

/** Reports the outcome of exports (throttled logging lives with the caller). */
export type ExportListener = (signal: Signal, url: string, result: ExportResult) => void;

/** The provider OpenTelemetry's exporter self-metrics (`otel.sdk.exporter.*`) are recorded with, asked for at the first export. */
export type SelfMetrics = () => MeterProvider;
const NO_SELF_METRICS: SelfMetrics = () => NOOP_METER_PROVIDER;

const NOOP_METER_PROVIDER: MeterProvider = { getMeter: () => createNoopMeter() };

/** Far more than a certificate chain or key takes. */
const MAX_PEM_BYTES = 1024 * 1024;

/** Exports of one signal under way at once; the rest wait in the signal's bounded queue. */
const MAX_IN_FLIGHT = 4;

/** Metric data points waiting or in flight at most (no variable sets it; a cumulative point lost is sent again by the next export). */
const MAX_QUEUED_METRIC_POINTS = 100_000;

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `otel.component.type` of each exporter (the semantic conventions' values). */
const COMPONENT: Record<'http' | 'grpc', Record<Signal, string>> = {
  http: { traces: 'otlp_http_span_exporter', metrics: 'otlp_http_metric_exporter', logs: 'otlp_http_log_exporter' },
  grpc: { traces: 'otlp_grpc_span_exporter', metrics: 'otlp_grpc_metric_exporter', logs: 'otlp_grpc_log_exporter' },
};

/** The OTLP services, one per signal: the path of a unary Export call. */
const GRPC_PATHS = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
} as const;

/** The collector's gRPC port, where OTEL_EXPORTER_OTLP_ENDPOINT keeps its (HTTP) default. */
const DEFAULT_GRPC_ENDPOINT = 'http://localhost:4317';

type Upper = 'TRACES' | 'METRICS' | 'LOGS';

/** The protocol of a signal: its own variable, else the shared one. */
export function protocolOf(env: Settings, signal: Signal): OtlpProtocol {
  return env[`OTEL_EXPORTER_OTLP_${upperOf(signal)}_PROTOCOL`] || env.OTEL_EXPORTER_OTLP_PROTOCOL;
}

function upperOf(signal: Signal): Upper {
  return signal.toUpperCase() as Upper;
}

/**
 * Where and how one signal is exported, from the settings alone (OpenTelemetry's own
 * configuration code would read process.env, which `start({ env })` does not replace): a
 * signal's own variable wins, else the shared one, else the specification's default.
 */
export function otlpOptions(env: Settings, signal: Signal) {
  const upper = upperOf(signal);
  const json = protocolOf(env, signal) === 'http/json';
  return {
    url: endpointOf(env, signal),
    headers: { ...env.OTEL_EXPORTER_OTLP_HEADERS, ...env[`OTEL_EXPORTER_OTLP_${upper}_HEADERS`], 'Content-Type': json ? 'application/json' : 'application/x-protobuf' },
    timeoutMillis: env[`OTEL_EXPORTER_OTLP_${upper}_TIMEOUT`] ?? env.OTEL_EXPORTER_OTLP_TIMEOUT,
    compression: env[`OTEL_EXPORTER_OTLP_${upper}_COMPRESSION`] || env.OTEL_EXPORTER_OTLP_COMPRESSION,
    tls: {
      ca: pem(env, `OTEL_EXPORTER_OTLP_${upper}_CERTIFICATE`, 'OTEL_EXPORTER_OTLP_CERTIFICATE'),
      cert: pem(env, `OTEL_EXPORTER_OTLP_${upper}_CLIENT_CERTIFICATE`, 'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE'),
      key: pem(env, `OTEL_EXPORTER_OTLP_${upper}_CLIENT_KEY`, 'OTEL_EXPORTER_OTLP_CLIENT_KEY'),
    },
  };
}

/** Where a signal goes: its own variable as given, else the shared base (with `/v1/<signal>` over HTTP; as given over gRPC, which names its service in the call). */
export function endpointOf(env: Settings, signal: Signal): string {
  const own = env[`OTEL_EXPORTER_OTLP_${upperOf(signal)}_ENDPOINT`];
  if (own) return own;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (protocolOf(env, signal) === 'grpc') return base === SETTINGS.OTEL_EXPORTER_OTLP_ENDPOINT.fallback ? DEFAULT_GRPC_ENDPOINT : base;
  return new URL(`v1/${signal}`, base.endsWith('/') ? base : `${base}/`).href;
}

/** The file a TLS variable names, read at the first export; an error names the variable and the path. */
function pem(env: Settings, own: SettingName, shared: SettingName): Buffer | undefined {
  const variable = env[own] ? own : shared;
  const path = env[variable] as string;
  if (!path) return undefined;
  try {
    return readRegularFile(resolve(path), MAX_PEM_BYTES);
  } catch (error) {
    throw new Error(`${variable}=${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? errorMessage(error)}); nothing is exported until it can`);
  }
}

/** An OTLP export delegate for one signal, over vigil's own (unref'd) HTTP or gRPC transport. */
function otlpDelegate(env: Settings, signal: Signal, meterProvider: MeterProvider) {
  const base = require('@opentelemetry/otlp-exporter-base') as typeof import('@opentelemetry/otlp-exporter-base');
  const http = require('@opentelemetry/otlp-exporter-base/node-http') as typeof import('@opentelemetry/otlp-exporter-base/node-http');
  const transformer = require('@opentelemetry/otlp-transformer') as typeof import('@opentelemetry/otlp-transformer');
  const { url, headers, timeoutMillis, compression, tls } = otlpOptions(env, signal);
  const json = protocolOf(env, signal) === 'http/json';
  const serializer = {
    traces: json ? transformer.JsonTraceSerializer : transformer.ProtobufTraceSerializer,
    metrics: json ? transformer.JsonMetricsSerializer : transformer.ProtobufMetricsSerializer,
    logs: json ? transformer.JsonLogsSerializer : transformer.ProtobufLogsSerializer,
  }[signal];
  const helper = { traces: transformer.TraceExporterMetricsHelper, metrics: transformer.MetricsExporterMetricsHelper, logs: transformer.LogsExporterMetricsHelper }[signal];
  const grpc = protocolOf(env, signal) === 'grpc';
  // OpenTelemetry's exporter self-metrics; over gRPC without the HTTP status its HTTP variant adds.
  const metrics = grpc
    ? new base.ExporterMetrics({ componentType: COMPONENT.grpc[signal], metricsHelper: helper as never, url, meterProvider, responseAttributesFromError: () => ({}) })
    : http.createOtlpHttpExporterMetrics(COMPONENT.http[signal], helper as never, url, meterProvider);
  // Loaded only when chosen.
  const transport = grpc
    ? new (require('./otlp-grpc-transport') as typeof import('./otlp-grpc-transport')).UnrefGrpcTransport({ url, path: GRPC_PATHS[signal], headers, compression, tls: withoutUndefined(tls) })
    : new UnrefHttpTransport({
      url,
      headers: async () => headers,
      compression,
      // Connections are kept alive between exports (Node's agent unrefs the idle ones).
      agentFactory: http.httpAgentFactoryFromOptions({ keepAlive: true, ...withoutUndefined(tls) }),
    });
  // One delegate type per signal; the union of serializers is not inferable, hence the casts.
  // The delivery queue (./detached-exporter.ts) keeps at most MAX_IN_FLIGHT exports under way: the delegate's own limit is never met.
  // The transport's deadline is the delivery's (the shorter of the two timeouts), so that a request never outlives the export it belongs to.
  const { exportTimeoutMs } = limitsOf(env, signal);
  const deadline = exportTimeoutMs > 0 ? Math.min(timeoutMillis, exportTimeoutMs) : timeoutMillis;
  const delegate = base.createOtlpNetworkExportDelegate({ timeoutMillis: deadline, compression, concurrencyLimit: MAX_IN_FLIGHT + 1 }, serializer as never, metrics as never, transport);
  return { base, delegate, url };
}

type Delegate = ReturnType<typeof otlpDelegate>;

/** What each signal's delivery may hold and how long an export may take: the processor's variables, as the specification names them. */
function limitsOf(env: Settings, signal: Signal): DeliveryLimits {
  switch (signal) {
    case 'traces': return { maxQueuedItems: env.OTEL_BSP_MAX_QUEUE_SIZE, maxInFlight: MAX_IN_FLIGHT, exportTimeoutMs: env.OTEL_BSP_EXPORT_TIMEOUT };
    case 'logs': return { maxQueuedItems: env.OTEL_BLRP_MAX_QUEUE_SIZE, maxInFlight: MAX_IN_FLIGHT, exportTimeoutMs: env.OTEL_BLRP_EXPORT_TIMEOUT };
    case 'metrics': return { maxQueuedItems: MAX_QUEUED_METRIC_POINTS, maxInFlight: MAX_IN_FLIGHT, exportTimeoutMs: env.OTEL_METRIC_EXPORT_TIMEOUT };
  }
}

/** Spans and log records count one each; a metric export counts its data points. */
function countItems(signal: Signal, items: unknown): number {
  if (signal !== 'metrics') return (items as unknown[]).length;
  let points = 0;
  for (const scope of (items as ResourceMetrics).scopeMetrics) for (const metric of scope.metrics) points += metric.dataPoints.length;
  return points;
}

type DetachedKind<T, E> = new (create: () => InnerExporter<T>, onResult: (result: ExportResult) => void, limits: DeliveryLimits, count: (items: T) => number) => E;

/** A detached exporter of one signal, built at its first export; results are reported with the endpoint. */
function detached<T, E extends DetachedExporter<T>>(Kind: DetachedKind<T, E>, env: Settings, signal: Signal, onResult: ExportListener, selfMetrics: SelfMetrics, wrap: (otlp: Delegate) => unknown): E {
  let url = '';
  return new Kind(() => {
    const otlp = otlpDelegate(env, signal, selfMetrics());
    url = otlp.url;
    return wrap(otlp) as InnerExporter<T>;
  }, (result) => onResult(signal, url, result), limitsOf(env, signal), (items) => countItems(signal, items));
}
export function createSpanExporter(env: Settings, onResult: ExportListener, selfMetrics = NO_SELF_METRICS): SpanExporter & DetachedExporter<ReadableSpan[]> {
  return detached<ReadableSpan[], DetachedExporter<ReadableSpan[]>>(DetachedExporter, env, 'traces', onResult, selfMetrics, ({ base, delegate }) => new base.OTLPExporterBase(delegate));
}

export function createLogExporter(env: Settings, onResult: ExportListener, selfMetrics = NO_SELF_METRICS): LogRecordExporter & DetachedExporter<ReadableLogRecord[]> {
  return detached<ReadableLogRecord[], DetachedExporter<ReadableLogRecord[]>>(DetachedExporter, env, 'logs', onResult, selfMetrics, ({ base, delegate }) => new base.OTLPExporterBase(delegate));
}

/** Metric exporter: also answers the reader's question on temporality. */
class DetachedMetricExporter extends DetachedExporter<ResourceMetrics> implements PushMetricExporter {
  selectAggregationTemporality!: AggregationTemporalitySelector;
}

export function createMetricExporter(env: Settings, onResult: ExportListener, selfMetrics = NO_SELF_METRICS): DetachedMetricExporter {
  const otlp = () => require('@opentelemetry/exporter-metrics-otlp-http') as typeof import('@opentelemetry/exporter-metrics-otlp-http');
  const exporter = detached(DetachedMetricExporter, env, 'metrics', onResult, selfMetrics, ({ delegate }) => new (otlp().OTLPMetricExporterBase)(delegate));
  // From the setting alone, OpenTelemetry's selectors: the reader asks as the first instruments are
  // made, before any export builds the exporter (which fails, and is reported, on a TLS file it cannot read).
  const preference = env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE;
  exporter.selectAggregationTemporality = (type) => {
    const { CumulativeTemporalitySelector, DeltaTemporalitySelector, LowMemoryTemporalitySelector } = otlp();
    return { cumulative: CumulativeTemporalitySelector, delta: DeltaTemporalitySelector, lowmemory: LowMemoryTemporalitySelector }[preference](type);
  };
  return exporter;
}
