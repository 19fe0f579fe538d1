// The delivery path of every OTLP signal (src/telemetry/detached-exporter.ts, otlp-transport.ts)
// against a real receiver that answers as a collector does when it is well, refusing, silent,
// slow, unavailable or throttling: the limits are the variables', retries honour Retry-After,
// and every span handed over is exported, dropped (counted by why), queued or in flight.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { readSettings } from '../../src/config/settings';
import type { DeliveryCounts } from '../../src/telemetry/detached-exporter';
import { createSpanExporter, type ExportListener } from '../../src/telemetry/exporters';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver';
import { connectionsTo, freePort } from '../helpers/silent-tcp-server';
import { agentEnv, eventually, fixture, probe, spawnAgent } from '../helpers/spawn-agent';

function spans(count: number): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] }).getTracer('delivery-test');
  for (let i = 0; i < count; i++) tracer.startSpan(`span ${i}`).end();
  return memory.getFinishedSpans();
}

function exporterFor(url: string, env: Record<string, string> = {}) {
  const results: string[] = [];
  const listener: ExportListener = (_signal, _url, result) => results.push(result.error?.name ?? 'ok');
  const { values } = readSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: url, ...env });
  const exporter = createSpanExporter(values, listener);
  const handOver = (batches: number, size: number) => {
    for (let i = 0; i < batches; i++) exporter.export(spans(size), (result) => assert.equal(result.code, 0, 'the processor is answered at once'));
  };
  return { exporter, results, handOver };
}

/** Every span handed over is accounted for. */
function assertAddsUp(counts: DeliveryCounts, handedOver: number): void {
  const dropped = Object.values(counts.dropped).reduce((a, b) => a + b, 0);
  assert.equal(counts.exported + dropped + counts.queued + counts.inFlight, handedOver, JSON.stringify(counts));
}

async function withReceiver(t: { after(fn: () => Promise<void>): void }): Promise<OtlpReceiver> {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  return receiver;
}

test('a well collector gets every span; the counts say exported', async (t) => {
  const receiver = await withReceiver(t);
  const { exporter, handOver } = exporterFor(receiver.url);
  handOver(3, 10);
  await exporter.drain();
  assert.equal(receiver.spans.length, 30);
  assert.deepEqual(exporter.counts(), { exported: 30, dropped: {}, queued: 0, inFlight: 0 });
  await exporter.shutdown();
});

test('503 with Retry-After: the export waits what the collector asks, then arrives', async (t) => {
  const receiver = await withReceiver(t);
  receiver.mode = 'unavailable';
  receiver.retryAfter = '1';
  const { exporter, handOver } = exporterFor(receiver.url);
  const started = Date.now();
  handOver(1, 5);
  await receiver.waitFor((r) => r.requests.length >= 1);
  receiver.mode = 'ok';
  await exporter.drain();
  assert.ok(Date.now() - started >= 900, `waited ${Date.now() - started} ms`);
  assert.equal(receiver.requests.length, 2);
  assert.equal(receiver.spans.length, 5);
  assert.deepEqual(exporter.counts(), { exported: 5, dropped: {}, queued: 0, inFlight: 0 });
  await exporter.shutdown();
});

test('429 without Retry-After: retried with backoff, then delivered', async (t) => {
  const receiver = await withReceiver(t);
  receiver.mode = 'throttled';
  const { exporter, handOver } = exporterFor(receiver.url);
  handOver(1, 4);
  await receiver.waitFor((r) => r.requests.length >= 1);
  receiver.mode = 'ok';
  await exporter.drain();
  assert.equal(receiver.spans.length, 4);
  assert.equal(exporter.counts().exported, 4);
  await exporter.shutdown();
});

test('a collector that stays unavailable: the retries end within OTEL_EXPORTER_OTLP_TIMEOUT, the spans are dropped as 503', async (t) => {
  const receiver = await withReceiver(t);
  receiver.mode = 'unavailable';
  const { exporter, results, handOver } = exporterFor(receiver.url, { OTEL_EXPORTER_OTLP_TIMEOUT: '2500' });
  handOver(2, 3);
  await exporter.drain();
  // Retried (a first retry waits at most 1.2 s), and cut by the deadline: without it each batch would be sent 6 times.
  assert.ok(receiver.requests.length >= 3 && receiver.requests.length <= 6, `${receiver.requests.length} attempts for 2 batches`);
  assert.deepEqual(exporter.counts(), { exported: 0, dropped: { 503: 6 }, queued: 0, inFlight: 0 });
  assert.deepEqual(results, ['503', '503']);
  await exporter.shutdown();
});

test('a refusing collector: every span dropped as ECONNREFUSED, each export tried once (a refused connection is not retried)', async (t) => {
  const port = await freePort();
  const connections = connectionsTo(port);
  t.after(() => connections.stop());
  const { exporter, handOver } = exporterFor(`http://127.0.0.1:${port}`);
  handOver(2, 5);
  await exporter.drain();
  assert.deepEqual(exporter.counts(), { exported: 0, dropped: { ECONNREFUSED: 10 }, queued: 0, inFlight: 0 });
  assert.equal(connections.count, 2, 'one connection attempt per export');
  await exporter.shutdown();
});

test('a silent collector: exports end at the timeout, and past OTEL_BSP_MAX_QUEUE_SIZE a batch is dropped as queue_full', async (t) => {
  const receiver = await withReceiver(t);
  receiver.mode = 'hang';
  const { exporter, handOver } = exporterFor(receiver.url, { OTEL_EXPORTER_OTLP_TIMEOUT: '400', OTEL_BSP_MAX_QUEUE_SIZE: '50' });
  handOver(8, 10);
  // 50 spans fit (4 batches in flight, 1 waiting); the other 3 batches do not.
  const during = exporter.counts();
  assert.deepEqual(during, { exported: 0, dropped: { queue_full: 30 }, queued: 10, inFlight: 40 });
  assertAddsUp(during, 80);
  await exporter.drain();
  assert.deepEqual(exporter.counts(), { exported: 0, dropped: { queue_full: 30, timeout: 50 }, queued: 0, inFlight: 0 });
  await exporter.shutdown();
});

test('a slow collector: OTEL_BSP_EXPORT_TIMEOUT bounds an export, and one within it arrives', async (t) => {
  const receiver = await withReceiver(t);
  receiver.delayMs = 600;
  const slow = exporterFor(receiver.url, { OTEL_BSP_EXPORT_TIMEOUT: '200' });
  slow.handOver(1, 3);
  await slow.exporter.drain();
  assert.deepEqual(slow.exporter.counts(), { exported: 0, dropped: { timeout: 3 }, queued: 0, inFlight: 0 });
  await slow.exporter.shutdown();
  receiver.delayMs = 100;
  const patient = exporterFor(receiver.url, { OTEL_BSP_EXPORT_TIMEOUT: '5000' });
  patient.handOver(1, 3);
  await patient.exporter.drain();
  assert.deepEqual(patient.exporter.counts(), { exported: 3, dropped: {}, queued: 0, inFlight: 0 });
  await patient.exporter.shutdown();
});

test("a refusing collector in the agent: OpenTelemetry's self-metrics count the refused spans, /health warns with the endpoint and the drops, the probes stay 200, one log line", async (t) => {
  const receiver = await withReceiver(t);
  const refusing = await freePort();
  const agent = spawnAgent(fixture('idle-service.js'), agentEnv({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${refusing}/v1/traces`,
    VIGIL_CHECK_INTERVAL_MS: '200',
    VIGIL_CHECK_TRACES_SAMPLER: 'always_on',
  }));
  t.after(() => agent.kill());
  const spans = await receiver.waitFor((r) => r.metrics.find((m) => m.name === 'otel.sdk.exporter.span.exported' && m.dataPoints.some((p) => p.attributes['error.type'] === 'ECONNREFUSED' && (p.value ?? 0) > 0)), 15_000);
  assert.equal(spans.type, 'sum');
  const point = spans.dataPoints.find((p) => p.attributes['error.type'] === 'ECONNREFUSED')!;
  assert.equal(point.attributes['otel.component.type'], 'otlp_http_span_exporter');
  assert.equal(point.attributes['server.port'], refusing);
  const metrics = await receiver.waitFor((r) => r.metrics.find((m) => m.name === 'otel.sdk.exporter.metric_data_point.exported' && m.dataPoints.some((p) => p.attributes['error.type'] === undefined && (p.value ?? 0) > 0)), 15_000);
  assert.ok(metrics.dataPoints.every((p) => p.attributes['error.type'] === undefined), 'no metric export failed');
  const processed = await receiver.waitFor((r) => r.metrics.find((m) => m.name === 'otel.sdk.processor.span.processed' && m.dataPoints.some((p) => (p.value ?? 0) > 0)), 15_000);
  assert.equal(processed.dataPoints[0].attributes['otel.component.type'], 'batching_span_processor');
  assert.ok(receiver.metrics.some((m) => m.name === 'otel.sdk.processor.span.queue.capacity'));
  const lost = await receiver.waitFor((r) => r.metrics.find((m) => m.name === 'vigil.telemetry.dropped' && m.dataPoints.some((p) => p.attributes['vigil.telemetry.signal'] === 'traces' && p.attributes['error.type'] === 'ECONNREFUSED' && (p.value ?? 0) > 0)), 15_000);
  assert.equal(lost.type, 'sum');
  assert.ok(!lost.dataPoints.some((p) => p.attributes['vigil.telemetry.signal'] === 'metrics'), 'no metric point was lost');

  // The same failure in the report: a warning in /health, nothing in the probes.
  const port = await agent.probePort();
  const entry = await eventually(async () => {
    const [telemetry] = (await probe(port, '/health')).body.checks.telemetry ?? [];
    return telemetry?.status === 'warn' && telemetry;
  }, 15_000, 'the telemetry entry warns');
  assert.match(entry.output, new RegExp(`exports of traces to http://127\\.0\\.0\\.1:${refusing}/v1/traces are failing \\(connect ECONNREFUSED[^)]*\\); \\d+ spans dropped since start`));
  assert.ok(entry.details['traces.dropped.ECONNREFUSED'] > 0);
  assert.ok(entry.details['metrics.exported'] > 0);
  assert.deepEqual(entry.groups, []);
  assert.equal((await probe(port, '/health/ready')).status, 200);
  assert.equal((await probe(port, '/health/live')).status, 200);
  assert.equal((await probe(port, '/health/ready')).body.checks?.telemetry, undefined);
  // One line when the exports start failing, none per failed batch.
  assert.equal(agent.stderr.filter((l) => l.code === 'VIGIL_ERR_EXPORT' && l.signal === 'traces').length, 1);
});
