import { createNoopMeter, type MeterProvider } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { EnvValues, OtlpProtocol } from '../config/env';
import { DetachedExporter, type InnerExporter } from './detached-exporter';
import { UnrefHttpTransport } from './otlp-transport';

export type Signal = 'traces' | 'metrics' | 'logs';

/** Reports the outcome of exports (throttled logging lives with the caller). */
export type ExportListener = (signal: Signal, url: string, result: ExportResult) => void;

const NOOP_METER_PROVIDER: MeterProvider = { getMeter: () => createNoopMeter() };

const COMPONENT: Record<Signal, string> = {
  traces: 'otlp_http_span_exporter',
  metrics: 'otlp_http_metric_exporter',
  logs: 'otlp_http_log_exporter',
};

/** The protocol of a signal: its own variable, else the shared one. */
export function protocolOf(env: EnvValues, signal: Signal): OtlpProtocol {
  const own = { traces: env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, metrics: env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, logs: env.OTEL_EXPORTER_OTLP_LOGS_PROTOCOL }[signal];
  return own || env.OTEL_EXPORTER_OTLP_PROTOCOL;
}

/**
 * An OTLP/HTTP export delegate for one signal: endpoint, headers, timeout and compression come
 * from the standard OTEL_EXPORTER_OTLP_* variables (read by OpenTelemetry's own configuration
 * code); the transport is ours (unref'd).
 */
function otlpDelegate(env: EnvValues, signal: Signal) {
  const base = require('@opentelemetry/otlp-exporter-base') as typeof import('@opentelemetry/otlp-exporter-base');
  const http = require('@opentelemetry/otlp-exporter-base/node-http') as typeof import('@opentelemetry/otlp-exporter-base/node-http');
  const transformer = require('@opentelemetry/otlp-transformer') as typeof import('@opentelemetry/otlp-transformer');
  const json = protocolOf(env, signal) === 'http/json';
  const upper = signal.toUpperCase() as 'TRACES' | 'METRICS' | 'LOGS';
  const options = http.convertLegacyHttpOptions({}, upper, `v1/${signal}`, { 'Content-Type': json ? 'application/json' : 'application/x-protobuf' });
  const serializer = {
    traces: json ? transformer.JsonTraceSerializer : transformer.ProtobufTraceSerializer,
    metrics: json ? transformer.JsonMetricsSerializer : transformer.ProtobufMetricsSerializer,
    logs: json ? transformer.JsonLogsSerializer : transformer.ProtobufLogsSerializer,
  }[signal];
  const helper = { traces: transformer.TraceExporterMetricsHelper, metrics: transformer.MetricsExporterMetricsHelper, logs: transformer.LogsExporterMetricsHelper }[signal];
  const metrics = http.createOtlpHttpExporterMetrics(COMPONENT[signal], helper as never, options.url, NOOP_METER_PROVIDER);
  // One delegate type per signal; the union of serializers is not inferable, hence the casts.
  const delegate = base.createOtlpNetworkExportDelegate(options, serializer as never, metrics as never, new UnrefHttpTransport(options));
  return { base, delegate, url: options.url };
}

type Delegate = ReturnType<typeof otlpDelegate>;

/** A detached exporter of one signal, built at its first export; results are reported with the endpoint. */
function detached<T, E extends DetachedExporter<T>>(
  Kind: new (create: () => InnerExporter<T>, onResult: (result: ExportResult) => void) => E,
  env: EnvValues, signal: Signal, onResult: ExportListener, wrap: (otlp: Delegate) => unknown,
): E {
  let url = '';
  return new Kind(() => {
    const otlp = otlpDelegate(env, signal);
    url = otlp.url;
    return wrap(otlp) as InnerExporter<T>;
  }, (result) => onResult(signal, url, result));
}

export function createSpanExporter(env: EnvValues, onResult: ExportListener): SpanExporter & DetachedExporter<ReadableSpan[]> {
  return detached<ReadableSpan[], DetachedExporter<ReadableSpan[]>>(DetachedExporter, env, 'traces', onResult, ({ base, delegate }) => new base.OTLPExporterBase(delegate));
}

export function createLogExporter(env: EnvValues, onResult: ExportListener): LogRecordExporter & DetachedExporter<ReadableLogRecord[]> {
  return detached<ReadableLogRecord[], DetachedExporter<ReadableLogRecord[]>>(DetachedExporter, env, 'logs', onResult, ({ base, delegate }) => new base.OTLPExporterBase(delegate));
}

/** Metric exporter: also answers the reader's questions on temporality and aggregation. */
class DetachedMetricExporter extends DetachedExporter<ResourceMetrics> implements PushMetricExporter {
  selectAggregationTemporality: PushMetricExporter['selectAggregationTemporality'] = (type) =>
    (this.exporter as unknown as PushMetricExporter).selectAggregationTemporality!(type);
}

export function createMetricExporter(env: EnvValues, onResult: ExportListener): DetachedMetricExporter {
  return detached(DetachedMetricExporter, env, 'metrics', onResult, ({ delegate }) => {
    const { OTLPMetricExporterBase } = require('@opentelemetry/exporter-metrics-otlp-http') as typeof import('@opentelemetry/exporter-metrics-otlp-http');
    return new OTLPMetricExporterBase(delegate);
  });
}
