// Every OTLP exporter variable changes what each signal's exporter does, as docs/configuration.md
// says: the per-signal endpoint, protocol, headers, compression and timeout win over the shared
// ones for their own signal only, and the log and metric processors' limits drop what they should.
// The exporters are vigil's own (src/telemetry/exporters.ts), fed real SDK output, against real
// receivers that decode the bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoggerProvider, InMemoryLogRecordExporter, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { readSettings } from '../../src/config/settings';
import type { DetachedExporter } from '../../src/telemetry/detached-exporter';
import { createLogExporter, createMetricExporter, createSpanExporter, endpointOf } from '../../src/telemetry/exporters';
import { startOtlpGrpcReceiver } from '../helpers/otlp-grpc-receiver';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver';

type Signal = 'traces' | 'metrics' | 'logs';
const SIGNALS: Signal[] = ['traces', 'metrics', 'logs'];

/** A manual reader: one collection gives the ResourceMetrics a periodic reader would export. */
class CollectOnce extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** One batch of real SDK output for a signal, with `count` items (data points, for metrics). */
async function batch(signal: Signal, count: number): Promise<unknown> {
  if (signal === 'traces') {
    const memory = new InMemorySpanExporter();
    const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] }).getTracer('otlp-variables');
    for (let i = 0; i < count; i++) tracer.startSpan(`span ${i}`).end();
    return memory.getFinishedSpans();
  }
  if (signal === 'logs') {
    const memory = new InMemoryLogRecordExporter();
    const logger = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: memory })] }).getLogger('otlp-variables');
    for (let i = 0; i < count; i++) logger.emit({ body: `line ${i}` });
    return memory.getFinishedLogRecords();
  }
  const reader = new CollectOnce();
  const meter = new MeterProvider({ readers: [reader] }).getMeter('otlp-variables');
  for (let i = 0; i < count; i++) meter.createCounter(`counter.${i}`).add(1);
  return (await reader.collect()).resourceMetrics;
}

function exporterOf(signal: Signal, env: Record<string, string>): DetachedExporter<unknown> {
  const { values, problems } = readSettings(env);
  assert.deepEqual(problems, [], 'the variables are valid');
  const create = { traces: createSpanExporter, metrics: createMetricExporter, logs: createLogExporter }[signal];
  return create(values, () => {}) as unknown as DetachedExporter<unknown>;
}

async function send(signal: Signal, env: Record<string, string>, count = 2) {
  const exporter = exporterOf(signal, env);
  exporter.export(await batch(signal, count), () => {});
  await exporter.drain();
  const counts = exporter.counts();
  await exporter.shutdown();
  return counts;
}

async function receivers(t: { after(fn: () => Promise<void>): void }, n: number): Promise<OtlpReceiver[]> {
  const all = await Promise.all(Array.from({ length: n }, () => startOtlpReceiver()));
  t.after(async () => { await Promise.all(all.map((r) => r.close())); });
  return all;
}

const received = (receiver: OtlpReceiver, signal: Signal) => receiver.requests.filter((r) => r.path === `/v1/${signal}`);

for (const signal of SIGNALS) {
  const U = signal.toUpperCase();

  test(`${signal}: OTEL_EXPORTER_OTLP_${U}_ENDPOINT is used as given, instead of the shared endpoint`, async (t) => {
    const [shared, own] = await receivers(t, 2);
    const counts = await send(signal, { OTEL_EXPORTER_OTLP_ENDPOINT: shared.url, [`OTEL_EXPORTER_OTLP_${U}_ENDPOINT`]: `${own.url}/v1/${signal}` });
    assert.equal(counts.exported, 2);
    assert.equal(received(own, signal).length, 1);
    assert.equal(shared.requests.length, 0);
  });

  test(`${signal}: OTEL_EXPORTER_OTLP_${U}_PROTOCOL=http/json sends JSON for this signal; grpc goes to a gRPC collector`, async (t) => {
    const [receiver] = await receivers(t, 1);
    await send(signal, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, [`OTEL_EXPORTER_OTLP_${U}_PROTOCOL`]: 'http/json' });
    assert.deepEqual(received(receiver, signal).map((r) => r.contentType), ['application/json']);
    const other = SIGNALS.find((s) => s !== signal)!;
    await send(other, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, [`OTEL_EXPORTER_OTLP_${U}_PROTOCOL`]: 'http/json' });
    assert.deepEqual(received(receiver, other).map((r) => r.contentType), ['application/x-protobuf'], 'the other signals keep the shared protocol');

    const grpc = await startOtlpGrpcReceiver();
    t.after(() => grpc.close());
    const counts = await send(signal, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, [`OTEL_EXPORTER_OTLP_${U}_ENDPOINT`]: grpc.url, [`OTEL_EXPORTER_OTLP_${U}_PROTOCOL`]: 'grpc' });
    assert.equal(counts.exported, 2);
    assert.equal(grpc.requests.length, 1);
    assert.match(grpc.requests[0].service, new RegExp(`\\.${signal === 'traces' ? 'trace' : signal}\\.v1\\.`));
  });

  test(`${signal}: OTEL_EXPORTER_OTLP_${U}_HEADERS are sent with this signal only, over the shared headers`, async (t) => {
    const [receiver] = await receivers(t, 1);
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=shared,x-team=core', [`OTEL_EXPORTER_OTLP_${U}_HEADERS`]: `x-tenant=${signal}` };
    for (const s of SIGNALS) await send(s, env);
    for (const s of SIGNALS) {
      const [request] = received(receiver, s);
      assert.equal(request.headers['x-tenant'], s === signal ? signal : 'shared', s);
      assert.equal(request.headers['x-team'], 'core', s);
    }
  });

  test(`${signal}: OTEL_EXPORTER_OTLP_${U}_COMPRESSION=gzip compresses this signal only; OTEL_EXPORTER_OTLP_COMPRESSION every signal`, async (t) => {
    const [receiver] = await receivers(t, 1);
    for (const s of SIGNALS) await send(s, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, [`OTEL_EXPORTER_OTLP_${U}_COMPRESSION`]: 'gzip' });
    for (const s of SIGNALS) assert.equal(received(receiver, s)[0].headers['content-encoding'], s === signal ? 'gzip' : undefined, s);
    await send(signal, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', [`OTEL_EXPORTER_OTLP_${U}_COMPRESSION`]: 'none' });
    assert.equal(received(receiver, signal)[1].headers['content-encoding'], undefined, 'none for the signal wins over the shared gzip');
    await send(signal, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' });
    assert.equal(received(receiver, signal)[2].headers['content-encoding'], 'gzip');
    assert.equal(receiver.errors.length, 0, 'the receiver decoded every body');
  });

  test(`${signal}: OTEL_EXPORTER_OTLP_${U}_TIMEOUT bounds this signal's export against a silent collector`, async (t) => {
    const [receiver] = await receivers(t, 1);
    receiver.mode = 'hang';
    const counts = await send(signal, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, [`OTEL_EXPORTER_OTLP_${U}_TIMEOUT`]: '300' });
    assert.deepEqual(counts, { exported: 0, dropped: { timeout: 2 }, queued: 0, inFlight: 0 });
  });
}

test('OTEL_BLRP_MAX_QUEUE_SIZE and OTEL_BLRP_EXPORT_TIMEOUT: log records past the queue are dropped as queue_full, a silent export as timeout', async (t) => {
  const [receiver] = await receivers(t, 1);
  receiver.mode = 'hang';
  const exporter = exporterOf('logs', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BLRP_MAX_QUEUE_SIZE: '5', OTEL_BLRP_EXPORT_TIMEOUT: '300' });
  for (let i = 0; i < 3; i++) exporter.export(await batch('logs', 2), () => {});
  await exporter.drain();
  assert.deepEqual(exporter.counts(), { exported: 0, dropped: { timeout: 4, queue_full: 2 }, queued: 0, inFlight: 0 });
  await exporter.shutdown();
});

test('OTEL_METRIC_EXPORT_TIMEOUT bounds a metric export against a silent collector', async (t) => {
  const [receiver] = await receivers(t, 1);
  receiver.mode = 'hang';
  const counts = await send('metrics', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRIC_EXPORT_TIMEOUT: '300' }, 3);
  assert.deepEqual(counts, { exported: 0, dropped: { timeout: 3 }, queued: 0, inFlight: 0 });
});

test('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: the temporality a collector receives, per instrument kind', async (t) => {
  const [receiver] = await receivers(t, 1);
  const expected = { cumulative: ['cumulative', 'cumulative', 'cumulative'], delta: ['delta', 'cumulative', 'delta'], lowmemory: ['delta', 'cumulative', 'delta'] };
  for (const [preference, [counter, upDown, histogram]] of Object.entries(expected)) {
    const exporter = createMetricExporter(readSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: preference }).values, () => {});
    const reader = new CollectOnce({ aggregationTemporalitySelector: exporter.selectAggregationTemporality });
    const meter = new MeterProvider({ readers: [reader] }).getMeter(preference);
    meter.createCounter('t.counter').add(1);
    meter.createUpDownCounter('t.updown').add(1);
    meter.createHistogram('t.histogram').record(1);
    exporter.export((await reader.collect()).resourceMetrics, () => {});
    await exporter.drain();
    const got = (name: string) => receiver.metrics.find((m) => m.scope.name === preference && m.name === name)?.temporality;
    assert.deepEqual([got('t.counter'), got('t.updown'), got('t.histogram')], [counter, upDown, histogram], preference);
  }
});

test('OTEL_EXPORTER_OTLP_PROTOCOL=grpc: the endpoint defaults to the collector\'s gRPC port 4317, used as given', () => {
  const of = (env: Record<string, string>) => SIGNALS.map((signal) => endpointOf(readSettings(env).values, signal));
  assert.deepEqual(of({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), Array(3).fill('http://localhost:4317'));
  assert.deepEqual(of({}), SIGNALS.map((s) => `http://localhost:4318/v1/${s}`));
  assert.deepEqual(of({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4317' }), Array(3).fill('https://collector:4317'));
  assert.deepEqual(of({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf' }), ['http://localhost:4317', 'http://localhost:4317', 'http://localhost:4318/v1/logs']);
});
