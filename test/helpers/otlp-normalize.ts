// Turns decoded OTLP export requests into plain records that tests can assert on.
//
// Input is what protobufjs' `toObject` yields with DECODED_SHAPE below, for both encodings
// (the receiver funnels OTLP/JSON through the same protobufjs types): camelCase keys,
// ids and bytes as Uint8Array, 64-bit integers as decimal strings, enums as numbers,
// the name of the set member on each oneof, and absent fields left out.
import type { IConversionOptions } from 'protobufjs';

export const DECODED_SHAPE: IConversionOptions = { longs: String, enums: Number, oneofs: true };

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
  status: { code: number; message: string };
  events: { name: string; attributes: Record<string, unknown> }[];
  resource: Record<string, unknown>;
  scope: { name: string; version: string };
}

export type MetricType = 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';

export interface ReceivedDataPoint {
  attributes: Record<string, unknown>;
  timeUnixNano: string;
  value?: number;
  count?: number;
  sum?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
}

export interface ReceivedMetric {
  name: string;
  description: string;
  unit: string;
  type: MetricType;
  isMonotonic?: boolean;
  /** Of a sum or histogram (OTLP's AggregationTemporality). */
  temporality?: 'delta' | 'cumulative';
  dataPoints: ReceivedDataPoint[];
  resource: Record<string, unknown>;
  scope: { name: string; version: string };
}

export interface ReceivedLog {
  body: unknown;
  severityText: string;
  severityNumber: number;
  attributes: Record<string, unknown>;
  traceId: string;
  spanId: string;
  resource: Record<string, unknown>;
  scope: { name: string; version: string };
}

// ---- decoded message shapes (only the fields read here) ----

type Int64 = string;

interface AnyValue {
  value?: 'stringValue' | 'boolValue' | 'intValue' | 'doubleValue' | 'arrayValue' | 'kvlistValue' | 'bytesValue';
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Int64;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: Uint8Array;
}
interface KeyValue {
  key?: string;
  value?: AnyValue;
}
interface Scoped {
  scope?: { name?: string; version?: string };
}
interface Resourced {
  resource?: { attributes?: KeyValue[] };
}

interface Span {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  parentSpanId?: Uint8Array;
  name?: string;
  kind?: number;
  startTimeUnixNano?: Int64;
  endTimeUnixNano?: Int64;
  attributes?: KeyValue[];
  status?: { code?: number; message?: string };
  events?: { name?: string; attributes?: KeyValue[] }[];
}
export interface TraceRequest {
  resourceSpans?: (Resourced & { scopeSpans?: (Scoped & { spans?: Span[] })[] })[];
}

interface NumberDataPoint {
  attributes?: KeyValue[];
  timeUnixNano?: Int64;
  value?: 'asDouble' | 'asInt';
  asDouble?: number;
  asInt?: Int64;
}
// Histogram, exponential histogram and summary points share these fields.
interface AggregatePoint {
  attributes?: KeyValue[];
  timeUnixNano?: Int64;
  count?: Int64;
  sum?: number;
  bucketCounts?: Int64[];
  explicitBounds?: number[];
}
interface Metric {
  name?: string;
  description?: string;
  unit?: string;
  data?: MetricType;
  gauge?: { dataPoints?: NumberDataPoint[] };
  sum?: { dataPoints?: NumberDataPoint[]; isMonotonic?: boolean; aggregationTemporality?: number };
  histogram?: { dataPoints?: AggregatePoint[]; aggregationTemporality?: number };
  exponentialHistogram?: { dataPoints?: AggregatePoint[] };
  summary?: { dataPoints?: AggregatePoint[] };
}
export interface MetricsRequest {
  resourceMetrics?: (Resourced & { scopeMetrics?: (Scoped & { metrics?: Metric[] })[] })[];
}

interface LogRecord {
  body?: AnyValue;
  severityText?: string;
  severityNumber?: number;
  attributes?: KeyValue[];
  traceId?: Uint8Array;
  spanId?: Uint8Array;
}
export interface LogsRequest {
  resourceLogs?: (Resourced & { scopeLogs?: (Scoped & { logRecords?: LogRecord[] })[] })[];
}

// ---- normalization ----

export function normalizeTraces(request: TraceRequest): ReceivedSpan[] {
  return (request.resourceSpans ?? []).flatMap((rs) =>
    (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((span) => ({
        traceId: hex(span.traceId),
        spanId: hex(span.spanId),
        parentSpanId: hex(span.parentSpanId),
        name: span.name ?? '',
        kind: span.kind ?? 0,
        startTimeUnixNano: span.startTimeUnixNano ?? '0',
        endTimeUnixNano: span.endTimeUnixNano ?? '0',
        attributes: attributes(span.attributes),
        status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
        events: (span.events ?? []).map((e) => ({ name: e.name ?? '', attributes: attributes(e.attributes) })),
        resource: attributes(rs.resource?.attributes),
        scope: scope(ss),
      })),
    ),
  );
}

export function normalizeMetrics(request: MetricsRequest): ReceivedMetric[] {
  return (request.resourceMetrics ?? []).flatMap((rm) =>
    (rm.scopeMetrics ?? []).flatMap((sm) =>
      (sm.metrics ?? []).map((metric) => ({
        name: metric.name ?? '',
        description: metric.description ?? '',
        unit: metric.unit ?? '',
        ...metricData(metric),
        resource: attributes(rm.resource?.attributes),
        scope: scope(sm),
      })),
    ),
  );
}

export function normalizeLogs(request: LogsRequest): ReceivedLog[] {
  return (request.resourceLogs ?? []).flatMap((rl) =>
    (rl.scopeLogs ?? []).flatMap((sl) =>
      (sl.logRecords ?? []).map((log) => ({
        body: log.body === undefined ? undefined : flatten(log.body),
        severityText: log.severityText ?? '',
        severityNumber: log.severityNumber ?? 0,
        attributes: attributes(log.attributes),
        traceId: hex(log.traceId),
        spanId: hex(log.spanId),
        resource: attributes(rl.resource?.attributes),
        scope: scope(sl),
      })),
    ),
  );
}

const TEMPORALITY: Record<number, ReceivedMetric['temporality']> = { 1: 'delta', 2: 'cumulative' };

function metricData(metric: Metric): Pick<ReceivedMetric, 'type' | 'isMonotonic' | 'temporality' | 'dataPoints'> {
  switch (metric.data) {
    case 'gauge':
      return { type: 'gauge', dataPoints: (metric.gauge?.dataPoints ?? []).map(numberPoint) };
    case 'sum':
      return {
        type: 'sum',
        isMonotonic: metric.sum?.isMonotonic ?? false,
        temporality: TEMPORALITY[metric.sum?.aggregationTemporality ?? 0],
        dataPoints: (metric.sum?.dataPoints ?? []).map(numberPoint),
      };
    case 'histogram':
      return { type: 'histogram', temporality: TEMPORALITY[metric.histogram?.aggregationTemporality ?? 0], dataPoints: (metric.histogram?.dataPoints ?? []).map(aggregatePoint) };
    case 'exponentialHistogram':
    case 'summary':
      return { type: metric.data, dataPoints: (metric[metric.data]?.dataPoints ?? []).map(aggregatePoint) };
    case undefined:
      // A metric without data is malformed; failing makes the receiver answer 400 and say so.
      throw new Error(`metric ${JSON.stringify(metric.name)} carries no data`);
  }
}

function numberPoint(point: NumberDataPoint): ReceivedDataPoint {
  const value = point.value === 'asInt' ? Number(point.asInt) : point.asDouble;
  return { attributes: attributes(point.attributes), timeUnixNano: point.timeUnixNano ?? '0', value };
}

function aggregatePoint(point: AggregatePoint): ReceivedDataPoint {
  const normalized: ReceivedDataPoint = {
    attributes: attributes(point.attributes),
    timeUnixNano: point.timeUnixNano ?? '0',
    count: Number(point.count ?? 0),
  };
  // Only set what the point carries, so deepEqual in tests is not tripped by undefined keys.
  if (point.sum !== undefined) normalized.sum = point.sum;
  if (point.bucketCounts) normalized.bucketCounts = point.bucketCounts.map(Number);
  if (point.explicitBounds) normalized.explicitBounds = point.explicitBounds;
  return normalized;
}

function scope(scoped: Scoped): { name: string; version: string } {
  return { name: scoped.scope?.name ?? '', version: scoped.scope?.version ?? '' };
}

function attributes(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key ?? '', kv.value ? flatten(kv.value) : undefined]));
}

// AnyValue to the JS value an SDK user would have passed (int64 becomes a number).
function flatten(any: AnyValue): unknown {
  switch (any.value) {
    case 'stringValue':
      return any.stringValue;
    case 'boolValue':
      return any.boolValue;
    case 'intValue':
      return Number(any.intValue);
    case 'doubleValue':
      return any.doubleValue;
    case 'arrayValue':
      return (any.arrayValue?.values ?? []).map(flatten);
    case 'kvlistValue':
      return attributes(any.kvlistValue?.values);
    case 'bytesValue':
      return Uint8Array.from(any.bytesValue ?? []);
    case undefined:
      return undefined;
  }
}

function hex(id: Uint8Array | undefined): string {
  return id ? Buffer.from(id).toString('hex') : '';
}
