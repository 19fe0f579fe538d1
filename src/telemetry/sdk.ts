import { DiagLogLevel, diag, logs as apiLogs, metrics, trace, type Meter } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { ExportResultCode } from '@opentelemetry/core';
import { hostDetector, detectResources, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, ConsoleLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, ConsoleSpanExporter, ParentBasedSampler,
  SimpleSpanProcessor, TraceIdRatioBasedSampler, type Sampler, type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Logger } from 'pino';
import { SETTINGS, type Settings, type OtelLogLevel } from '../config/settings';
import { errorMessage, redact } from '../util/redact';
import { baseAttributes } from './resource';
import type { DeliveryStatus } from './detached-exporter';
import { createLogExporter, createMetricExporter, createSpanExporter, endpointOf, type ExportListener, type Signal } from './exporters';
import { RedactingExporter } from './redacting-exporter';
import { watchApplicationApi } from './app-api';
import { CheckTraces } from './check-traces';
import { createInstrumentations } from './instrumentations';
import type { PrometheusEndpoint } from './prometheus-endpoint';

/** One OTLP signal's delivery: where it goes (redacted) and how it stands. */
export interface DeliveryReport extends DeliveryStatus {
  signal: Signal;
  endpoint: string;
}

/** What the agent asks of an OTLP exporter beyond the SDK's interface. */
interface Delivering {
  drain(): Promise<void>;
  status(): DeliveryStatus;
}

export interface Telemetry {
  meter: Meter;
  /** Hands every buffered span, metric and log to its exporter; resolves by `timeoutMs` at the latest. */
  flush(timeoutMs: number): Promise<boolean>;
  /** The engine recorded a run of a check; resolves whether its trace is exported (src/telemetry/check-traces.ts). */
  onCheckRun(check: string, traceId: string, informative: boolean): boolean;
  /** How each OTLP signal's delivery stands (src/checks/telemetry.ts reports it). */
  delivery(): DeliveryReport[];
  /** Flushes, then stops every provider and instrumentation; bounded by `timeoutMs`. */
  shutdown(timeoutMs: number): Promise<boolean>;
  /** With OTEL_METRICS_EXPORTER=prometheus in the process that serves: what /metrics renders. */
  prometheus?: PrometheusEndpoint;
}

export interface TelemetryOptions {
  /** Which incoming requests are the agent's own (never traced). */
  isProbeRequest(req: unknown): boolean;
  /** This process serves probes (and so /metrics); a traces-only one does not. */
  serves: boolean;
}

/**
 * Starts tracing, metrics and logs with the standard OTEL_* variables. Everything the host's
 * modules need (providers, context manager, instrumentation hooks) is set up synchronously, so
 * the application's first require is already instrumented; exporters are built at first export.
 */
export function startTelemetry(env: Settings, logger: Logger, options: TelemetryOptions): Telemetry {
  try {
    return composeTelemetry(env, logger, options);
  } catch (error) {
    // A failed start is a no-op: no half-registered provider is left for the application to meet.
    removeGlobals();
    throw error;
  }
}

/** The global providers the agent registers, removed at shutdown or after a failed start. */
function removeGlobals(): void {
  trace.disable();
  metrics.disable();
  logs.disable();
  apiLogs.disable();
}

function composeTelemetry(env: Settings, logger: Logger, { isProbeRequest, serves }: TelemetryOptions): Telemetry {
  diag.setLogger(diagToPino(logger), { logLevel: DIAG_LEVEL[env.OTEL_LOG_LEVEL], suppressOverrideMessage: true });
  const onExport = exportLogger(logger);
  // Asked for at the first export.
  const selfMetrics = (): MeterProvider => meterProvider;
  const resource = detectResources({ detectors: [hostDetector] }).merge(resourceFromAttributes(baseAttributes(env)));

  // The OTLP exporters, whose exports under way a flush waits for (see DetachedExporter).
  const detached: { signal: Signal; exporter: Delivering }[] = [];
  const keep = <T extends Delivering>(signal: Signal, exporter: T): T => {
    detached.push({ signal, exporter });
    return exporter;
  };
  // First: the processors and exporters record their self-metrics with it.
  const readers: MetricReader[] = env.OTEL_METRICS_EXPORTER.flatMap((name) => {
    const exporter = name === 'otlp' ? keep('metrics', createMetricExporter(env, onExport, selfMetrics)) : name === 'console' ? new RedactingExporter(new ConsoleMetricExporter()) : undefined;
    return exporter ? [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: env.OTEL_METRIC_EXPORT_INTERVAL, exportTimeoutMillis: Math.min(env.OTEL_METRIC_EXPORT_TIMEOUT, env.OTEL_METRIC_EXPORT_INTERVAL) })] : [];
  });
  // Loaded only when chosen; a traces-only process has no server to be scraped at.
  const prometheus = serves && env.OTEL_METRICS_EXPORTER.includes('prometheus')
    ? (require('./prometheus-endpoint') as typeof import('./prometheus-endpoint')).createPrometheusEndpoint()
    : undefined;
  if (prometheus) readers.push(prometheus.reader);
  const meterProvider = new MeterProvider({ resource, readers });
  metrics.setGlobalMeterProvider(meterProvider);

  // The batch processors' otel.sdk.processor.{span,log}.*, recorded per batch and per dropped item
  // (the shim's types do not declare the option; the tracer's per-span otel.sdk.span.* would cost every request).
  const selfObservation = { selfObsMeterProvider: meterProvider };
  const spanProcessors: SpanProcessor[] = env.OTEL_TRACES_EXPORTER.flatMap((name): SpanProcessor[] => {
    if (name === 'otlp') {
      return [new BatchSpanProcessor(keep('traces', createSpanExporter(env, onExport, selfMetrics)), {
        scheduledDelayMillis: env.OTEL_BSP_SCHEDULE_DELAY,
        exportTimeoutMillis: env.OTEL_BSP_EXPORT_TIMEOUT,
        maxQueueSize: env.OTEL_BSP_MAX_QUEUE_SIZE,
        maxExportBatchSize: env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
        ...selfObservation,
      })];
    }
    if (name === 'console') return [new SimpleSpanProcessor(new RedactingExporter(new ConsoleSpanExporter()))];
    return [];
  });
  const checkTraces = new CheckTraces(spanProcessors, env.VIGIL_CHECK_TRACES_SAMPLER, env.VIGIL_CHECK_TRACES_SAMPLER_ARG);
  const tracerProvider = new NodeTracerProvider({ resource, sampler: checkTraces.sampler(samplerOf(env)), spanProcessors: [checkTraces, ...spanProcessors], ...limitsOf(env) });
  tracerProvider.register();

  const logProcessors: LogRecordProcessor[] = env.OTEL_LOGS_EXPORTER.flatMap((name): LogRecordProcessor[] => {
    if (name === 'otlp') {
      return [new BatchLogRecordProcessor({
        exporter: keep('logs', createLogExporter(env, onExport, selfMetrics)),
        scheduledDelayMillis: env.OTEL_BLRP_SCHEDULE_DELAY,
        exportTimeoutMillis: env.OTEL_BLRP_EXPORT_TIMEOUT,
        maxQueueSize: env.OTEL_BLRP_MAX_QUEUE_SIZE,
        maxExportBatchSize: env.OTEL_BLRP_MAX_EXPORT_BATCH_SIZE,
        ...selfObservation,
      })];
    }
    if (name === 'console') return [new SimpleLogRecordProcessor({ exporter: new RedactingExporter(new ConsoleLogRecordExporter()) })];
    return [];
  });
  // The general limits hold for log records too (there are no OTEL_LOGRECORD_* rows).
  const loggerProvider = new LoggerProvider({ resource, processors: logProcessors, logRecordLimits: limitsOf(env).generalLimits });
  logs.setGlobalLoggerProvider(loggerProvider);
  // Since API 1.10, `require('@opentelemetry/api').logs` is a global of its own (beside api-logs'):
  // the application's log records reach the provider through it too.
  apiLogs.setGlobalLoggerProvider(loggerProvider);

  countDrops(meterProvider, detached);
  // Computed once: the telemetry check asks on every run.
  const endpoints = { traces: redact(endpointOf(env, 'traces')), metrics: redact(endpointOf(env, 'metrics')), logs: redact(endpointOf(env, 'logs')) };

  const instrumentations = createInstrumentations(env, { tracerProvider, meterProvider, loggerProvider }, isProbeRequest, logger, new Map([['@opentelemetry/api', watchApplicationApi(logger)]]));

  const flushAll = async () => {
    await Promise.allSettled([tracerProvider.forceFlush(), meterProvider.forceFlush(), loggerProvider.forceFlush()]);
    // The processors are answered at once (see DetachedExporter): wait for the real exports too.
    await Promise.allSettled(detached.map(({ exporter }) => exporter.drain()));
  };
  return {
    meter: meterProvider.getMeter('vigil-agent'),
    prometheus,
    flush: (timeoutMs) => withDeadline(flushAll(), timeoutMs),
    onCheckRun: (check, traceId, informative) => checkTraces.onRun(check, traceId, informative),
    delivery: () => detached.map(({ signal, exporter }) => ({ signal, endpoint: endpoints[signal], ...exporter.status() })),
    shutdown: (timeoutMs) => withDeadline((async () => {
      instrumentations.disable();
      await flushAll();
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown(), loggerProvider.shutdown()]);
      removeGlobals();
    })(), timeoutMs),
  };
}

/**
 * `vigil.telemetry.dropped`: every item a signal's delivery lost since start, by `error.type`
 * (`queue_full` too, which no OpenTelemetry self-metric sees), read at collection: nothing per drop.
 */
function countDrops(meterProvider: MeterProvider, detached: readonly { signal: Signal; exporter: Delivering }[]): void {
  const dropped = meterProvider.getMeter('vigil-agent').createObservableCounter('vigil.telemetry.dropped', {
    unit: '{item}',
    description: 'Spans, log records and metric data points the agent did not deliver, by signal and error.type.',
  });
  dropped.addCallback((result) => {
    for (const { signal, exporter } of detached) {
      for (const [type, count] of Object.entries(exporter.status().dropped)) result.observe(count, { 'vigil.telemetry.signal': signal, 'error.type': type });
    }
  });
}

/**
 * Waits for `work` at most `timeoutMs`. The deadline timer is ref'd on purpose: it keeps the
 * process alive just long enough for the unref'd export sockets to finish, and no longer.
 */
export function withDeadline(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, false);
  });
  return Promise.race([work.then(() => true, () => false), deadline]).finally(() => clearTimeout(timer));
}

/** Every limit given explicitly: the SDK would otherwise read its own from process.env. */
function limitsOf(env: Settings) {
  const valueLength = env.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT ?? Infinity;
  return {
    generalLimits: { attributeValueLengthLimit: valueLength, attributeCountLimit: env.OTEL_ATTRIBUTE_COUNT_LIMIT },
    spanLimits: {
      attributeValueLengthLimit: env.OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT ?? valueLength,
      attributeCountLimit: env.OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT ?? env.OTEL_ATTRIBUTE_COUNT_LIMIT,
      eventCountLimit: env.OTEL_SPAN_EVENT_COUNT_LIMIT,
      linkCountLimit: env.OTEL_SPAN_LINK_COUNT_LIMIT,
      attributePerEventCountLimit: env.OTEL_SPAN_ATTRIBUTE_PER_EVENT_COUNT_LIMIT,
      attributePerLinkCountLimit: env.OTEL_SPAN_ATTRIBUTE_PER_LINK_COUNT_LIMIT,
    },
  };
}

function samplerOf(env: Settings): Sampler {
  const ratio = new TraceIdRatioBasedSampler(env.OTEL_TRACES_SAMPLER_ARG);
  switch (env.OTEL_TRACES_SAMPLER) {
    case 'always_on': return new AlwaysOnSampler();
    case 'always_off': return new AlwaysOffSampler();
    case 'traceidratio': return ratio;
    case 'parentbased_always_off': return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio': return new ParentBasedSampler({ root: ratio });
    default: return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

const DIAG_LEVEL: Record<OtelLogLevel, DiagLogLevel> = {
  none: DiagLogLevel.NONE, error: DiagLogLevel.ERROR, warn: DiagLogLevel.WARN, info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG, verbose: DiagLogLevel.VERBOSE, all: DiagLogLevel.ALL,
};

/** Longer diagnostics (a whole value, a payload) are cut: a line is for reading. */
const MAX_DIAG_CHARACTERS = 1_000;

/** OpenTelemetry's own diagnostics, as vigil log lines; a repeated message at most once a minute. */
function diagToPino(logger: Logger) {
  const lastSeen = new Map<string, number>();
  const write = (level: 'error' | 'warn' | 'info' | 'debug' | 'trace') => (message: string, ...args: unknown[]) => {
    // A variable vigil validates itself has had its one line already (with a code, and the case
    // rules vigil accepts): OpenTelemetry's own complaint about it would be a second, and wrong.
    // (The SDK reads process.env itself while it builds its defaults, in several phrasings.)
    if ((String(message).match(/\bOTEL_[A-Z_]+/g) ?? []).some((variable) => variable in SETTINGS)) return;
    const now = Date.now();
    if (now - (lastSeen.get(message) ?? -Infinity) < 60_000) return;
    lastSeen.set(message, now);
    if (lastSeen.size > 500) lastSeen.clear();
    const detail = args.map((a) => (a instanceof Error ? errorMessage(a) : typeof a === 'string' ? a : '')).filter(Boolean).join(' ');
    const line = detail ? `${message} ${detail}` : String(message);
    logger[level]({ source: 'opentelemetry' }, line.length > MAX_DIAG_CHARACTERS ? `${line.slice(0, MAX_DIAG_CHARACTERS)}… (cut from ${line.length} characters)` : line);
  };
  return { error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug'), verbose: write('trace') };
}

/** One warning when a signal's exports start failing, one line when they recover: no spam. */
function exportLogger(logger: Logger): ExportListener {
  const failing = new Map<Signal, number>();
  return (signal, url, result) => {
    const since = failing.get(signal);
    if (result.code === ExportResultCode.SUCCESS) {
      if (since !== undefined) {
        failing.delete(signal);
        logger.info({ signal, endpoint: url }, `telemetry export of ${signal} recovered`);
      }
      return;
    }
    if (since !== undefined && Date.now() - since < 300_000) return;
    failing.set(signal, Date.now());
    logger.warn({ code: 'VIGIL_ERR_EXPORT', signal, endpoint: url, err: errorMessage(result.error ?? 'unknown') }, `telemetry export of ${signal} to ${url} failed; will retry with the next batch`);
  };
}
