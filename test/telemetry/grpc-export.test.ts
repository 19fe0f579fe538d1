// OTLP over gRPC (OTEL_EXPORTER_OTLP_PROTOCOL=grpc, src/telemetry/otlp-grpc-transport.ts) against a
// real gRPC receiver (@grpc/grpc-js's server) that decodes what arrives: spans, metrics and logs
// arrive, with the headers as metadata and gzip when asked; UNAVAILABLE is retried; a short job
// exits by itself while the receiver never answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { readSettings } from '../../src/config/settings';
import { createSpanExporter } from '../../src/telemetry/exporters';
import { startOtlpGrpcReceiver } from '../helpers/otlp-grpc-receiver';
import { connectionsTo, freePort } from '../helpers/silent-tcp-server';
import { agentEnv, fixture, spawnAgent } from '../helpers/spawn-agent';

function spans(count: number): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] }).getTracer('grpc-test');
  for (let i = 0; i < count; i++) tracer.startSpan(`span ${i}`).end();
  return memory.getFinishedSpans();
}

test('spans reach a gRPC collector decoded, with the headers as metadata, plain and gzipped', async (t) => {
  const receiver = await startOtlpGrpcReceiver();
  t.after(() => receiver.close());
  for (const compression of ['none', 'gzip']) {
    const { values } = readSettings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=blue', OTEL_EXPORTER_OTLP_COMPRESSION: compression });
    const exporter = createSpanExporter(values, () => {});
    exporter.export(spans(3), () => {});
    await exporter.drain();
    assert.deepEqual(exporter.counts(), { exported: 3, dropped: {}, queued: 0, inFlight: 0 }, compression);
    await exporter.shutdown();
  }
  assert.deepEqual(receiver.spans.map((s) => s.name), ['span 0', 'span 1', 'span 2', 'span 0', 'span 1', 'span 2']);
  assert.deepEqual(receiver.requests.map((r) => r.service), Array(2).fill('opentelemetry.proto.collector.trace.v1.TraceService'));
  assert.deepEqual(receiver.requests.map((r) => r.metadata.get('x-tenant')), [['blue'], ['blue']]);
});

test('UNAVAILABLE is retried, then delivered; a receiver that stays unavailable drops the spans as UNAVAILABLE', async (t) => {
  const receiver = await startOtlpGrpcReceiver();
  t.after(() => receiver.close());
  receiver.mode = 'unavailable';
  const { values } = readSettings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_TIMEOUT: '2500' });
  const exporter = createSpanExporter(values, () => {});
  exporter.export(spans(2), () => {});
  await receiver.waitFor((r) => r.requests.length >= 1);
  receiver.mode = 'ok';
  await exporter.drain();
  assert.equal(receiver.spans.length, 2);
  receiver.mode = 'unavailable';
  exporter.export(spans(4), () => {});
  await exporter.drain();
  assert.deepEqual(exporter.counts(), { exported: 2, dropped: { UNAVAILABLE: 4 }, queued: 0, inFlight: 0 });
  await exporter.shutdown();
});

test('a refusing gRPC collector: every span dropped as ECONNREFUSED (not the cancelled streams), not retried', async (t) => {
  const port = await freePort();
  const connections = connectionsTo(port);
  t.after(() => connections.stop());
  const { values } = readSettings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });
  const exporter = createSpanExporter(values, () => {});
  // Concurrent calls on a session that fails to connect: its streams are cancelled first.
  for (let i = 0; i < 3; i++) exporter.export(spans(2), () => {});
  await exporter.drain();
  assert.deepEqual(exporter.counts(), { exported: 0, dropped: { ECONNREFUSED: 6 }, queued: 0, inFlight: 0 });
  assert.equal(connections.count, 1, 'the calls shared one connection attempt');
  await exporter.shutdown();
});

test('the agent over gRPC: traces, metrics and logs arrive end to end', async (t) => {
  const receiver = await startOtlpGrpcReceiver();
  t.after(() => receiver.close());
  const agent = spawnAgent(fixture('idle-service.js'), agentEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, VIGIL_CHECK_TRACES_SAMPLER: 'always_on', VIGIL_CHECK_INTERVAL_MS: '200' }));
  t.after(() => agent.kill());
  await receiver.waitFor((r) => r.spans.some((s) => s.name.startsWith('health.check')) && r.metrics.some((m) => m.name === 'health.check.status'), 20_000);
  await receiver.waitFor((r) => r.logs.length > 0, 20_000);
  const exported = await receiver.waitFor((r) => r.metrics.find((m) => m.name === 'otel.sdk.exporter.span.exported'), 20_000);
  assert.equal(exported.dataPoints[0].attributes['otel.component.type'], 'otlp_grpc_span_exporter');
});

test('a short program exits by itself while its gRPC collector never answers', async (t) => {
  const receiver = await startOtlpGrpcReceiver();
  t.after(() => receiver.close());
  receiver.mode = 'hang';
  const job = spawnAgent(fixture('short-job.js'), agentEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }));
  const { code } = await job.exited;
  assert.equal(code, 0);
  assert.ok(job.stdout.some((l) => l.fixture === 'done' && l.agentLoaded === true));
  assert.ok(receiver.requests.length > 0, 'the agent did try to export at exit');
  assert.equal(receiver.spans.length, 0);
});

test('a collector answering INVALID_ARGUMENT with a malformed grpc-message: dropped once, not retried, nothing thrown', async (t) => {
  const { createServer } = await import('node:http2');
  let calls = 0;
  const server = createServer((_req, res) => {
    calls++;
    res.addTrailers({ 'grpc-status': '3', 'grpc-message': 'bad%E0%A4%Aspan' });
    res.writeHead(200, { 'content-type': 'application/grpc' });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { values } = readSettings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(server.address() as { port: number }).port}` });
  const errors: string[] = [];
  const exporter = createSpanExporter(values, (_signal, _url, result) => errors.push(result.error?.message ?? 'ok'));
  exporter.export(spans(2), () => {});
  await exporter.drain();
  assert.deepEqual(exporter.counts(), { exported: 0, dropped: { INVALID_ARGUMENT: 2 }, queued: 0, inFlight: 0 });
  assert.equal(calls, 1);
  assert.deepEqual(errors, ['gRPC INVALID_ARGUMENT bad%E0%A4%Aspan']);
  await exporter.shutdown();
});
