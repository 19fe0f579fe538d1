// Proves the test OTLP receiver against OpenTelemetry's own serializers and exporters:
// telemetry comes from real SDK providers, is encoded by @opentelemetry/otlp-transformer
// (protobuf and JSON) and must come out of the receiver as the plain records tests rely on.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, ValueType, trace, type HrTime } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import {
  JsonLogsSerializer,
  JsonMetricsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { AggregationType, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { startOtlpReceiver, type OtlpReceiver, type OtlpReceiverOptions } from './helpers/otlp-receiver';

const RESOURCE = { 'service.name': 'otlp-receiver-test', 'service.instance.id': 'i-1' };
const SPAN_ATTRIBUTES = { 'a.string': 'x', 'a.int': 42, 'a.double': 1.5, 'a.bool': true, 'a.array': ['p', 'q'] };

const ENCODINGS = {
  protobuf: {
    contentType: 'application/x-protobuf',
    traces: ProtobufTraceSerializer,
    metrics: ProtobufMetricsSerializer,
    logs: ProtobufLogsSerializer,
  },
  json: { contentType: 'application/json', traces: JsonTraceSerializer, metrics: JsonMetricsSerializer, logs: JsonLogsSerializer },
} as const;
type Encoding = keyof typeof ENCODINGS;

let spans: ReadableSpan[];
let resourceMetrics: ResourceMetrics;
let logs: ReadableLogRecord[];

before(async () => {
  spans = await recordSpans();
  resourceMetrics = await recordMetrics();
  logs = await recordLogs();
});

async function recordSpans(): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(RESOURCE),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('receiver-test', '1.2.3');
  const parent = tracer.startSpan('parent', { kind: SpanKind.SERVER });
  // Explicit parent context: no context manager is registered in this test process.
  const child = tracer.startSpan('child', { attributes: SPAN_ATTRIBUTES }, trace.setSpan(ROOT_CONTEXT, parent));
  child.addEvent('retry', { attempt: 2 });
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  child.end();
  parent.end();
  const finished = exporter.getFinishedSpans().slice();
  await provider.shutdown();
  return finished;
}

// Collects on demand, so the test decides when metrics are read.
class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

async function recordMetrics(): Promise<ResourceMetrics> {
  const reader = new ManualReader();
  const provider = new MeterProvider({
    resource: resourceFromAttributes(RESOURCE),
    readers: [reader],
    views: [{ instrumentName: 'payload.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  const meter = provider.getMeter('receiver-test-meter', '0.0.1');
  const requests = meter.createCounter('requests', { valueType: ValueType.INT });
  requests.add(3, { route: '/a' });
  requests.add(2, { route: '/a' });
  meter.createUpDownCounter('inflight', { valueType: ValueType.INT }).add(-2); // a negative as_int
  meter.createGauge('temperature', { unit: 'Cel', description: 'room temperature' }).record(21.5);
  const latency = meter.createHistogram('latency', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 1, 10] } });
  for (const seconds of [0.05, 0.5, 0.5, 5, 50]) latency.record(seconds);
  const size = meter.createHistogram('payload.size');
  for (const bytes of [1, 2, 4]) size.record(bytes);
  const { resourceMetrics: collected, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  await provider.shutdown();
  return collected;
}

async function recordLogs(): Promise<ReadableLogRecord[]> {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(RESOURCE),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('receiver-test-logger', '0.0.2');
  logger.emit({
    body: 'check failed',
    severityNumber: SeverityNumber.ERROR,
    severityText: 'ERROR',
    attributes: { 'health.check.name': 'db', code: 503 },
    context: trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext(spanNamed('child').spanContext())),
  });
  logger.emit({ body: { check: 'db', tries: [1, 2.5] }, severityNumber: SeverityNumber.INFO, severityText: 'INFO' });
  const finished = exporter.getFinishedLogRecords().slice();
  await provider.shutdown();
  return finished;
}

function spanNamed(name: string): ReadableSpan {
  const span = spans.find((s) => s.name === name);
  assert.ok(span, `fixture span ${name}`);
  return span;
}

function nanos([seconds, ns]: HrTime): string {
  return (BigInt(seconds) * 1_000_000_000n + BigInt(ns)).toString();
}

function serialized(bytes: Uint8Array | undefined): Uint8Array {
  assert.ok(bytes, 'the serializer produced a body');
  return bytes;
}

async function receiver(t: { after(fn: () => Promise<void>): void }, options?: OtlpReceiverOptions): Promise<OtlpReceiver> {
  const started = await startOtlpReceiver(options);
  t.after(() => started.close());
  return started;
}

function post(r: OtlpReceiver, path: string, body: Uint8Array, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
  return fetch(r.url + path, { method: 'POST', body, headers, signal });
}

for (const encoding of Object.keys(ENCODINGS) as Encoding[]) {
  const { contentType, traces: traceSerializer, metrics: metricsSerializer, logs: logsSerializer } = ENCODINGS[encoding];

  test(`${encoding}: spans keep names, hex ids, parentage, attributes, status, events, resource and scope`, async (t) => {
    const r = await receiver(t);
    const body = serialized(traceSerializer.serializeRequest(spans));
    const res = await post(r, '/v1/traces', body, { 'content-type': contentType });

    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), contentType);
    // The real exporter's response parser must accept the empty ExportTraceServiceResponse.
    assert.deepEqual(traceSerializer.deserializeResponse(new Uint8Array(await res.arrayBuffer())), {});
    assert.equal(r.requests.length, 1);
    const { headers, ...request } = r.requests[0];
    assert.deepEqual(request, { path: '/v1/traces', contentType, encoding, bytes: body.length });
    assert.equal(headers['content-type'], contentType);
    assert.deepEqual(r.errors, []);

    const parent = spanNamed('parent');
    const child = spanNamed('child');
    const received = (name: string) => {
      const span = r.spans.find((s) => s.name === name);
      assert.ok(span, `span ${name} in [${r.spans.map((s) => s.name).join(', ')}]`);
      return span;
    };
    assert.deepEqual(received('child'), {
      traceId: parent.spanContext().traceId,
      spanId: child.spanContext().spanId,
      parentSpanId: parent.spanContext().spanId,
      name: 'child',
      kind: 1, // SPAN_KIND_INTERNAL: OTLP numbers kinds one above the API's SpanKind
      startTimeUnixNano: nanos(child.startTime),
      endTimeUnixNano: nanos(child.endTime),
      attributes: SPAN_ATTRIBUTES,
      status: { code: 2, message: 'boom' }, // STATUS_CODE_ERROR
      events: [{ name: 'retry', attributes: { attempt: 2 } }],
      resource: RESOURCE,
      scope: { name: 'receiver-test', version: '1.2.3' },
    });
    assert.equal(received('parent').kind, 2); // SPAN_KIND_SERVER
    assert.equal(received('parent').parentSpanId, '');
    assert.deepEqual(received('parent').status, { code: 0, message: '' });
  });

  test(`${encoding}: metrics keep type, monotonicity and points of counter, gauge and histograms`, async (t) => {
    const r = await receiver(t);
    const body = serialized(metricsSerializer.serializeRequest(resourceMetrics));
    const res = await post(r, '/v1/metrics', body, { 'content-type': contentType });

    assert.equal(res.status, 200);
    assert.deepEqual(metricsSerializer.deserializeResponse(new Uint8Array(await res.arrayBuffer())), {});
    const metric = (name: string) => {
      const found = r.metrics.find((m) => m.name === name);
      assert.ok(found, `metric ${name} in [${r.metrics.map((m) => m.name).join(', ')}]`);
      return found;
    };
    const requests = metric('requests');
    assert.equal(requests.type, 'sum');
    assert.equal(requests.isMonotonic, true);
    assert.deepEqual(requests.scope, { name: 'receiver-test-meter', version: '0.0.1' });
    assert.deepEqual(requests.resource, RESOURCE);
    assert.equal(requests.dataPoints.length, 1);
    assert.deepEqual(requests.dataPoints[0].attributes, { route: '/a' });
    assert.equal(requests.dataPoints[0].value, 5); // sent as as_int
    assert.match(requests.dataPoints[0].timeUnixNano, /^\d{19}$/);

    assert.equal(metric('inflight').type, 'sum');
    assert.equal(metric('inflight').isMonotonic, false);
    assert.equal(metric('inflight').dataPoints[0].value, -2);

    const temperature = metric('temperature');
    assert.equal(temperature.type, 'gauge');
    assert.equal(temperature.unit, 'Cel');
    assert.equal(temperature.description, 'room temperature');
    assert.equal(temperature.isMonotonic, undefined);
    assert.equal(temperature.dataPoints[0].value, 21.5); // sent as as_double

    const latency = metric('latency');
    assert.equal(latency.type, 'histogram');
    assert.equal(latency.unit, 's');
    const { attributes, count, sum, bucketCounts, explicitBounds } = latency.dataPoints[0];
    assert.deepEqual({ attributes, count, bucketCounts, explicitBounds }, {
      attributes: {},
      count: 5,
      bucketCounts: [1, 2, 1, 1],
      explicitBounds: [0.1, 1, 10],
    });
    assert.ok(Math.abs((sum ?? NaN) - 56.05) < 1e-9, `histogram sum ${sum}`);

    const size = metric('payload.size');
    assert.equal(size.type, 'exponentialHistogram');
    assert.equal(size.dataPoints[0].count, 3);
    assert.equal(size.dataPoints[0].sum, 7);
  });

  test(`${encoding}: logs keep body, severity, attributes and trace correlation`, async (t) => {
    const r = await receiver(t);
    const body = serialized(logsSerializer.serializeRequest(logs));
    const res = await post(r, '/v1/logs', body, { 'content-type': contentType });

    assert.equal(res.status, 200);
    assert.deepEqual(logsSerializer.deserializeResponse(new Uint8Array(await res.arrayBuffer())), {});
    const child = spanNamed('child').spanContext();
    assert.deepEqual(
      r.logs,
      [
        {
          body: 'check failed',
          severityText: 'ERROR',
          severityNumber: 17,
          attributes: { 'health.check.name': 'db', code: 503 },
          traceId: child.traceId,
          spanId: child.spanId,
          scope: { name: 'receiver-test-logger', version: '0.0.2' },
          resource: RESOURCE,
        },
        {
          body: { check: 'db', tries: [1, 2.5] },
          severityText: 'INFO',
          severityNumber: 9,
          attributes: {},
          traceId: '',
          spanId: '',
          scope: { name: 'receiver-test-logger', version: '0.0.2' },
          resource: RESOURCE,
        },
      ],
    );
  });

  test(`${encoding}: gzip bodies decode the same as plain ones`, async (t) => {
    const r = await receiver(t);
    const body = serialized(traceSerializer.serializeRequest(spans));
    await post(r, '/v1/traces', body, { 'content-type': contentType });
    const gzipped = gzipSync(body);
    const res = await post(r, '/v1/traces', gzipped, { 'content-type': contentType, 'content-encoding': 'gzip' });

    assert.equal(res.status, 200);
    assert.equal(r.spans.length, 4);
    assert.deepEqual(r.spans.slice(2), r.spans.slice(0, 2));
    assert.equal(r.requests[1].bytes, gzipped.length);
  });
}

test('protobuf and JSON encodings of the same telemetry decode to identical records', async (t) => {
  const fromProtobuf = await receiver(t);
  const fromJson = await receiver(t);
  for (const [r, encoding] of [[fromProtobuf, ENCODINGS.protobuf], [fromJson, ENCODINGS.json]] as const) {
    const headers = { 'content-type': encoding.contentType };
    await post(r, '/v1/traces', serialized(encoding.traces.serializeRequest(spans)), headers);
    await post(r, '/v1/metrics', serialized(encoding.metrics.serializeRequest(resourceMetrics)), headers);
    await post(r, '/v1/logs', serialized(encoding.logs.serializeRequest(logs)), headers);
  }
  assert.equal(fromProtobuf.spans.length, 2);
  assert.deepEqual(fromJson.spans, fromProtobuf.spans);
  assert.deepEqual(fromJson.metrics, fromProtobuf.metrics);
  assert.deepEqual(fromJson.logs, fromProtobuf.logs);
});

test('OTLP/JSON that other senders write (enum names, int64 numbers, summaries) is accepted', async (t) => {
  const r = await receiver(t);
  const summaryPoint = { timeUnixNano: 1700000000000000000, count: '3', sum: 1.5, quantileValues: [{ quantile: 0.5, value: 0.4 }] };
  const metricsRequest = {
    resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'rpc.latency', summary: { dataPoints: [summaryPoint] } }] }] }],
  };
  const span = {
    traceId: '0AF7651916CD43DD8448EB211C80319C',
    spanId: 'B7AD6B7169203331',
    name: 's',
    kind: 'SPAN_KIND_CLIENT',
    status: { code: 'STATUS_CODE_OK' },
  };
  const traceRequest = { resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] };
  const headers = { 'content-type': 'application/json; charset=utf-8' };
  assert.equal((await post(r, '/v1/metrics', Buffer.from(JSON.stringify(metricsRequest)), headers)).status, 200);
  assert.equal((await post(r, '/v1/traces', Buffer.from(JSON.stringify(traceRequest)), headers)).status, 200);

  assert.equal(r.metrics[0].type, 'summary');
  assert.deepEqual(r.metrics[0].dataPoints, [{ attributes: {}, timeUnixNano: '1700000000000000000', count: 3, sum: 1.5 }]);
  assert.equal(r.spans[0].traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(r.spans[0].kind, 3);
  assert.equal(r.spans[0].status.code, 1);
});

test("mode 'unavailable' answers 503 without recording telemetry, and can be switched back", async (t) => {
  const r = await receiver(t);
  const body = serialized(ProtobufTraceSerializer.serializeRequest(spans));
  const headers = { 'content-type': 'application/x-protobuf' };
  r.mode = 'unavailable';
  assert.equal((await post(r, '/v1/traces', body, headers)).status, 503);
  assert.equal(r.requests.length, 1);
  assert.deepEqual(r.spans, []);

  r.mode = 'ok';
  assert.equal((await post(r, '/v1/traces', body, headers)).status, 200);
  assert.equal(r.spans.length, 2);
});

test("mode 'hang' never answers, and close() still completes", { timeout: 30_000 }, async (t) => {
  const r = await receiver(t, { mode: 'hang' });
  const body = serialized(JsonTraceSerializer.serializeRequest(spans));
  const pending = post(r, '/v1/traces', body, { 'content-type': 'application/json' }, AbortSignal.timeout(300));

  await r.waitFor((x) => x.requests.length === 1);
  await assert.rejects(pending, { name: 'TimeoutError' });
  assert.deepEqual(r.spans, []);
  // A second hanging request is still open on the server when close() runs.
  void post(r, '/v1/traces', body, { 'content-type': 'application/json' }).catch(() => undefined);
  await r.waitFor((x) => x.requests.length === 2);
  await r.close();
});

test('undecodable bodies get 400 and are recorded in errors', async (t) => {
  const r = await receiver(t);
  const cases: [string, string | Uint8Array, Record<string, string>][] = [
    ['/v1/traces', Uint8Array.of(0x0a, 0xff), { 'content-type': 'application/x-protobuf' }], // truncated length
    ['/v1/traces', 'not json', { 'content-type': 'application/json' }],
    ['/v1/metrics', '{"resourceMetrics":5}', { 'content-type': 'application/json' }],
    ['/v1/traces', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}', { 'content-type': 'application/json' }],
    ['/v1/logs', 'plain', { 'content-type': 'application/json', 'content-encoding': 'gzip' }],
  ];
  for (const [path, body, headers] of cases) {
    const res = await fetch(r.url + path, { method: 'POST', body, headers });
    assert.equal(res.status, 400, `${path} ${String(body)}`);
  }
  assert.equal(r.errors.length, cases.length);
  assert.match(r.errors[3], /^\/v1\/traces: undecodable json body: traceId is not hex/);
  assert.deepEqual([r.spans, r.metrics, r.logs], [[], [], []]);
});

test('unknown paths get 404 and unsupported content types 415', async (t) => {
  const r = await receiver(t);
  assert.equal((await fetch(r.url + '/v1/profiles', { method: 'POST', body: '{}' })).status, 404);
  assert.equal((await fetch(r.url + '/v1/traces')).status, 404);
  assert.equal((await fetch(r.url + '/v1/traces', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } })).status, 415);
  assert.equal(r.errors.length, 3);
  assert.deepEqual(r.requests, []);
});

test('waitFor resolves with the picked value and times out listing what arrived', async (t) => {
  const r = await receiver(t);
  const picked = r.waitFor((x) => x.spans.find((s) => s.name === 'child'));
  await post(r, '/v1/traces', serialized(ProtobufTraceSerializer.serializeRequest(spans)), { 'content-type': 'application/x-protobuf' });
  assert.equal((await picked).name, 'child');
  await assert.rejects(r.waitFor((x) => x.spans.find((s) => s.name === 'missing'), 50), /spans \[child, parent\]; metrics \[\]; logs \[\]/);
});

function exported<T>(exporter: { export(items: T, done: (result: ExportResult) => void): void }, items: T): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(items, resolve));
}

test('exporter-trace-otlp-proto: exported spans arrive decoded', async (t) => {
  const r = await receiver(t);
  const exporter = new ProtoTraceExporter({ url: `${r.url}/v1/traces` });
  t.after(() => exporter.shutdown());

  assert.equal((await exported(exporter, spans)).code, ExportResultCode.SUCCESS);
  const child = await r.waitFor((x) => x.spans.find((s) => s.name === 'child'));
  assert.equal(child.parentSpanId, spanNamed('parent').spanContext().spanId);
  assert.deepEqual(child.attributes, SPAN_ATTRIBUTES);
  assert.equal(r.requests[0].encoding, 'protobuf');
});

test('exporter-trace-otlp-http (JSON, gzip): exported spans arrive decoded', async (t) => {
  const r = await receiver(t);
  const exporter = new JsonTraceExporter({ url: `${r.url}/v1/traces`, compression: CompressionAlgorithm.GZIP });
  t.after(() => exporter.shutdown());

  assert.equal((await exported(exporter, spans)).code, ExportResultCode.SUCCESS);
  const child = await r.waitFor((x) => x.spans.find((s) => s.name === 'child'));
  assert.equal(child.traceId, spanNamed('child').spanContext().traceId);
  assert.deepEqual(child.status, { code: 2, message: 'boom' });
  assert.equal(r.requests[0].encoding, 'json');
  // Proof the exporter really gzipped: the wire body is smaller than the JSON it carries.
  assert.ok(r.requests[0].bytes < serialized(JsonTraceSerializer.serializeRequest(spans)).length);
});

test('exporter-metrics-otlp-proto and exporter-logs-otlp-http: exports arrive decoded', async (t) => {
  const r = await receiver(t);
  const metricExporter = new ProtoMetricExporter({ url: `${r.url}/v1/metrics` });
  const logExporter = new JsonLogExporter({ url: `${r.url}/v1/logs` });
  t.after(async () => {
    await metricExporter.shutdown();
    await logExporter.shutdown();
  });

  assert.equal((await exported(metricExporter, resourceMetrics)).code, ExportResultCode.SUCCESS);
  assert.equal((await exported(logExporter, logs)).code, ExportResultCode.SUCCESS);
  const latency = await r.waitFor((x) => x.metrics.find((m) => m.name === 'latency'));
  assert.deepEqual(latency.dataPoints[0].bucketCounts, [1, 2, 1, 1]);
  const failed = await r.waitFor((x) => x.logs.find((l) => l.body === 'check failed'));
  assert.equal(failed.spanId, spanNamed('child').spanContext().spanId);
  assert.deepEqual(r.requests.map((q) => q.encoding), ['protobuf', 'json']);
});

test('a real exporter gives up on a hanging receiver, which still closes', { timeout: 30_000 }, async (t) => {
  const r = await receiver(t, { mode: 'hang' });
  const exporter = new ProtoTraceExporter({ url: `${r.url}/v1/traces`, timeoutMillis: 500 });
  t.after(() => exporter.shutdown());

  assert.equal((await exported(exporter, spans)).code, ExportResultCode.FAILED);
  assert.ok(r.requests.length >= 1);
  await r.close();
});
