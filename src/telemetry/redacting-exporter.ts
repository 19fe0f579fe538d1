// The one redaction step for telemetry that leaves the process. Every exporter the agent builds
// (OTLP through DetachedExporter, console through RedactingExporter) hands its batch through
// `redactExport` first: spans, log records and metric data points come out with every string
// value passed through `redact`, which knows the shape rules and the agent's known secrets.
// Instrumentation puts raw driver errors into status messages and events (instrumentation-pg's
// `pg.connect`), the application's logs carry what they carry: nothing of it is trusted.
//
// Cost: this runs on the export path (a batch timer), never on the request path. A string that
// holds no known secret and no hint of a shape rule is left after a few `includes` and one short
// regular expression test, and an item whose strings are all unchanged is passed on as it is,
// never copied.
import type { Attributes, AttributeValue, Link, SpanStatus } from '@opentelemetry/api';
import type { AnyValue, AnyValueMap } from '@opentelemetry/api-logs';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { AggregationOption, AggregationTemporality, InstrumentType, MetricData, PushMetricExporter, ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import { redact } from '../util/redact';

/**
 * Attributes the agent itself sets from a closed vocabulary (check names chosen by the operator,
 * pass / warn / fail): a password that happens to read "pass" must not turn the health state-set
 * metrics into "***".
 */
const VERBATIM = new Set(['health.check.name', 'health.check.status', 'health.check.state']);

/** Nesting depth of log bodies and attributes that is looked into (deeper values are dropped as unsafe). */
const MAX_DEPTH = 8;

/** `items` (a span or log batch, or one ResourceMetrics) with every string redacted; the same object when nothing changed. */
export function redactExport<T>(items: T): T {
  if (Array.isArray(items)) {
    if (items.length === 0) return items;
    const first = items[0] as object;
    if (isSpan(first)) return mapList(items as ReadableSpan[], redactSpan) as T;
    if (isLogRecord(first)) return mapList(items as ReadableLogRecord[], redactLogRecord) as T;
    return items;
  }
  if (items !== null && typeof items === 'object' && Array.isArray((items as Partial<ResourceMetrics>).scopeMetrics)) {
    return redactMetrics(items as unknown as ResourceMetrics) as T;
  }
  return items;
}

function isSpan(item: object): item is ReadableSpan {
  return typeof (item as ReadableSpan).spanContext === 'function' && 'kind' in item;
}

function isLogRecord(item: object): item is ReadableLogRecord {
  return 'hrTimeObserved' in item;
}

export function redactSpan(span: ReadableSpan): ReadableSpan {
  const name = redact(span.name);
  const attributes = redactAttributes(span.attributes);
  const status = redactStatus(span.status);
  const events = mapList(span.events, redactEvent);
  const links = mapList(span.links, redactLink);
  if (name === span.name && attributes === span.attributes && status === span.status && events === span.events && links === span.links) return span;
  // A plain copy of what ReadableSpan promises: the SDK's span stays untouched for other processors.
  return {
    name,
    kind: span.kind,
    spanContext: () => span.spanContext(),
    parentSpanContext: span.parentSpanContext,
    startTime: span.startTime,
    endTime: span.endTime,
    status,
    attributes,
    links,
    events,
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

function redactStatus(status: SpanStatus): SpanStatus {
  if (!status.message) return status;
  const message = redact(status.message);
  return message === status.message ? status : { ...status, message };
}

function redactEvent(event: TimedEvent): TimedEvent {
  const name = redact(event.name);
  const attributes = event.attributes && redactAttributes(event.attributes);
  return name === event.name && attributes === event.attributes ? event : { ...event, name, attributes };
}

function redactLink(link: Link): Link {
  const attributes = link.attributes && redactAttributes(link.attributes);
  return attributes === link.attributes ? link : { ...link, attributes };
}

export function redactLogRecord(record: ReadableLogRecord): ReadableLogRecord {
  const body = redactAny(record.body, 0);
  const attributes = redactAttributes(record.attributes);
  const eventName = record.eventName && redact(record.eventName);
  if (body === record.body && attributes === record.attributes && eventName === record.eventName) return record;
  return {
    hrTime: record.hrTime,
    hrTimeObserved: record.hrTimeObserved,
    spanContext: record.spanContext,
    severityText: record.severityText,
    severityNumber: record.severityNumber,
    body,
    eventName,
    resource: record.resource,
    instrumentationScope: record.instrumentationScope,
    attributes,
    droppedAttributesCount: record.droppedAttributesCount,
  };
}

export function redactMetrics(metrics: ResourceMetrics): ResourceMetrics {
  const scopeMetrics = mapList(metrics.scopeMetrics, redactScopeMetrics);
  return scopeMetrics === metrics.scopeMetrics ? metrics : { ...metrics, scopeMetrics };
}

function redactScopeMetrics(scope: ScopeMetrics): ScopeMetrics {
  const metrics = mapList(scope.metrics, redactMetricData);
  return metrics === scope.metrics ? scope : { ...scope, metrics };
}

function redactMetricData(metric: MetricData): MetricData {
  const dataPoints = mapList(metric.dataPoints as { attributes: Attributes }[], (point) => {
    const attributes = redactAttributes(point.attributes);
    return attributes === point.attributes ? point : { ...point, attributes };
  });
  return dataPoints === metric.dataPoints ? metric : { ...metric, dataPoints } as MetricData;
}

/** Attributes (of a span, event, link, log record or data point) with every string value redacted; the same object when none changed. */
export function redactAttributes<T extends Attributes | AnyValueMap>(attributes: T, depth = 0): T {
  let copy: Record<string, unknown> | undefined;
  // Attribute maps are plain objects (the SDK's and the log API's own): for...in sees their own keys.
  for (const key in attributes) {
    const value = attributes[key];
    const next = redactAny(value as AnyValue, depth + 1);
    if (next !== value && !VERBATIM.has(key) && Object.hasOwn(attributes, key)) {
      copy ??= { ...attributes };
      copy[key] = next;
    }
  }
  return (copy ?? attributes) as T;
}

/** An attribute or log value with every string in it redacted; the same value when nothing changed. */
function redactAny<V extends AnyValue | AttributeValue>(value: V, depth: number): V {
  if (typeof value === 'string') return redact(value) as V;
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  if (depth > MAX_DEPTH) return '[nested too deep]' as V;
  if (Array.isArray(value)) return mapList(value as AnyValue[], (item) => redactAny(item, depth + 1)) as V;
  return redactAttributes(value as AnyValueMap, depth) as V;
}

/** `list` mapped by `each`; the same array when every item came back unchanged. */
function mapList<T>(list: readonly T[], each: (item: T) => T): T[] {
  let copy: T[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const next = each(list[i]);
    if (next !== list[i]) {
      copy ??= list.slice();
      copy[i] = next;
    }
  }
  return (copy ?? list) as T[];
}

/** The part of an SDK exporter (span, log or metric) that is wrapped. */
interface Exporter<T> {
  export(items: T, resultCallback: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
  selectAggregationTemporality?(instrumentType: InstrumentType): AggregationTemporality;
  selectAggregation?(instrumentType: InstrumentType): AggregationOption;
}

/**
 * Redacts every batch before `inner` sees it: for the exporters that do not pass through
 * DetachedExporter (console). A batch that cannot be redacted is not exported.
 */
export class RedactingExporter<T> {
  readonly selectAggregationTemporality?: PushMetricExporter['selectAggregationTemporality'];
  readonly selectAggregation?: PushMetricExporter['selectAggregation'];

  constructor(private readonly inner: Exporter<T>) {
    // A metric reader asks its exporter these at construction: answered by the inner exporter.
    if (inner.selectAggregationTemporality) this.selectAggregationTemporality = (type) => inner.selectAggregationTemporality!(type);
    if (inner.selectAggregation) this.selectAggregation = (type) => inner.selectAggregation!(type);
  }

  export(items: T, resultCallback: (result: ExportResult) => void): void {
    let safe: T;
    try {
      safe = redactExport(items);
    } catch (error) {
      resultCallback({ code: ExportResultCode.FAILED, error: error as Error });
      return;
    }
    this.inner.export(safe, resultCallback);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
