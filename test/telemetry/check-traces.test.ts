// Which runs of a check reach the trace store (src/telemetry/check-traces.ts): with the default
// `informative` sampler, the first run, every run that is not pass, every change and the runs
// around it, with their child spans, and a ratio of the rest; decided once the run has ended.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, ParentBasedSampler, SimpleSpanProcessor, TraceIdRatioBasedSampler, type Sampler } from '@opentelemetry/sdk-trace-base';
import { CheckTraces } from '../../src/telemetry/check-traces';
import { CHECK_RUN } from '../../src/health/run-check';
import type { CheckTraceSampler } from '../../src/config/settings';
import { startOtlpReceiver } from '../helpers/otlp-receiver';
import { freePort } from '../helpers/silent-tcp-server';
import { agentEnv, eventually, fixture, probe, spawnAgent } from '../helpers/spawn-agent';

const RUN_CONTEXT = ROOT_CONTEXT.setValue(CHECK_RUN, true);

function harness(policy: CheckTraceSampler, ratio = 0, random = () => 0.5, others: Sampler = new ParentBasedSampler({ root: new AlwaysOnSampler() })) {
  const exporter = new InMemorySpanExporter();
  const batch = new SimpleSpanProcessor(exporter);
  const traces = new CheckTraces([batch], policy, ratio, random);
  const provider = new BasicTracerProvider({ sampler: traces.sampler(others), spanProcessors: [traces, batch] });
  const tracer = provider.getTracer('test');
  /** One run of check `db`: a root span and `children` child spans (the query), then the engine's verdict. */
  const run = (informative: boolean, children = 1) => {
    const root = tracer.startSpan('health.check db', { attributes: { 'health.check.name': 'db' } }, RUN_CONTEXT);
    for (let i = 0; i < children; i++) tracer.startSpan('SELECT', {}, trace.setSpan(ROOT_CONTEXT, root)).end();
    root.end();
    return { traceId: root.spanContext().traceId, kept: traces.onRun('db', root.spanContext().traceId, informative) };
  };
  const exported = () => new Set(exporter.getFinishedSpans().map((s) => s.spanContext().traceId));
  const spansOf = (traceId: string) => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId).map((s) => s.name).sort();
  return { tracer, run, exported, spansOf, traces };
}

test('informative: the first run, a failure with the runs around it, and no healthy run between, each with its child spans', () => {
  const { run, exported, spansOf } = harness('informative', 0);
  const first = run(true);
  const second = run(false);
  const quiet = run(false);
  const before = run(false);
  const failed = run(true);
  const after = run(false);
  const later = run(false);
  assert.deepEqual([first, second, quiet, before, failed, after, later].map((r) => r.kept), [true, true, false, false, true, true, false]);
  const kept = exported();
  for (const r of [first, second, before, failed, after]) {
    assert.ok(kept.has(r.traceId));
    assert.deepEqual(spansOf(r.traceId), ['SELECT', 'health.check db'], 'the run with its child span');
  }
  for (const r of [quiet, later]) assert.ok(!kept.has(r.traceId), 'a healthy run between others is not exported');
});

test('informative keeps that ratio of the healthy runs; always_on keeps every run, always_off none; other spans follow their own sampler', () => {
  let draw = 0;
  const draws = [0.005, 0.5, 0.009, 0.9];
  const ratio = harness('informative', 0.01, () => draws[draw++ % draws.length]!);
  ratio.run(true);
  ratio.run(false); // kept: the run after the first
  assert.deepEqual([ratio.run(false), ratio.run(false), ratio.run(false), ratio.run(false)].map((r) => r.kept), [true, false, true, false]);

  const on = harness('always_on');
  const onRuns = [on.run(false), on.run(false)];
  assert.deepEqual(onRuns.map((r) => r.kept), [true, true]);
  for (const r of onRuns) assert.deepEqual(on.spansOf(r.traceId), ['SELECT', 'health.check db']);

  const off = harness('always_off');
  off.run(true);
  off.tracer.startSpan('GET /orders').end();
  assert.deepEqual([...off.exported()].length, 1, 'only the application span');
});

test('held traces are bounded: a flood of runs the engine never decides holds at most 256', () => {
  const { tracer, traces } = harness('informative');
  for (let i = 0; i < 1_000; i++) tracer.startSpan('health.check db', { attributes: { 'health.check.name': 'db' } }, RUN_CONTEXT).end();
  assert.ok((traces as unknown as { pending: Map<string, unknown> }).pending.size <= 256);
});

test('a kept run with more children than are held keeps its own span; an application span named like a check is not held', () => {
  const many = harness('informative');
  const run = many.run(true, 70);
  const names = many.spansOf(run.traceId);
  assert.ok(names.includes('health.check db'), 'the run itself is exported');
  assert.equal(names.length, 64);
  const app = many.tracer.startSpan('health.check db', { attributes: { 'health.check.name': 'db' } }, ROOT_CONTEXT);
  app.end();
  assert.ok(many.exported().has(app.spanContext().traceId), "the application's own span follows its sampler");
});

test("always_on and always_off decide for a run's children too, whatever OTEL_TRACES_SAMPLER says", () => {
  const on = harness('always_on', 0, Math.random, new AlwaysOffSampler());
  assert.deepEqual(on.spansOf(on.run(false).traceId), ['SELECT', 'health.check db']);
  const ratio = harness('always_on', 0, Math.random, new TraceIdRatioBasedSampler(0));
  assert.deepEqual(ratio.spansOf(ratio.run(false).traceId), ['SELECT', 'health.check db']);
  const off = harness('always_off', 0, Math.random, new AlwaysOnSampler());
  off.run(true);
  assert.equal(off.exported().size, 0, 'no orphan child spans');
});

test('under the agent: a dependency that goes down and comes back leaves the informative runs in the trace store, and few others', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const port = await freePort();
  let server = net.createServer((socket) => socket.destroy()).listen(port, '127.0.0.1');
  t.after(() => server.close());
  const agent = spawnAgent(fixture('idle-service.js'), agentEnv({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, VIGIL_AUTO_CHECKS: 'false', VIGIL_CONFIG: undefined,
    VIGIL_TCP_CHECKS: `db=127.0.0.1:${port}`, VIGIL_CHECK_INTERVAL_MS: '100', VIGIL_CHECK_TRACES_SAMPLER_ARG: '0',
  }));
  t.after(() => agent.kill());
  const probePort = await agent.probePort();
  const db = async () => (await probe(probePort, '/health')).body.checks.db[0];
  await eventually(async () => (await db()).status === 'pass' && (await db()), 10_000, 'db to pass');
  await eventually(async () => (await probe(probePort, '/health')).body.checks.db[0].traceId === undefined, 10_000, 'a healthy run whose trace is not exported, shown without a trace id');
  await new Promise((resolve) => server.close(resolve));
  await eventually(async () => (await db()).status === 'fail', 10_000, 'db to fail');
  server = net.createServer((socket) => socket.destroy()).listen(port, '127.0.0.1');
  await eventually(async () => (await db()).status === 'pass', 10_000, 'db to pass again');
  await sleep(1_000);
  // Every run is in the metrics: the cumulative count of health.check.duration for db.
  const runs = await receiver.waitFor((r) => {
    const counts = r.metrics.filter((m) => m.name === 'health.check.duration').flatMap((m) => m.dataPoints)
      .filter((p) => p.attributes['health.check.name'] === 'db').map((p) => p.count ?? 0);
    const total = counts.length ? Math.max(...counts) : 0;
    return total >= 20 && total;
  });
  const exported = await receiver.waitFor((r) => {
    const spans = r.spans.filter((s) => s.name === 'health.check db');
    return spans.some((s) => s.attributes['health.check.status'] === 'fail') && spans.filter((s) => s.attributes['health.check.status'] === 'pass').length >= 4 && spans;
  });
  const statuses = exported.map((s) => s.attributes['health.check.status']);
  // First, second, the last pass before the outage, the failures, the first two passes after it.
  assert.ok(statuses.filter((s) => s === 'fail').length >= 1);
  assert.ok(exported.length < runs / 2, `${exported.length} of ${runs} runs exported: ${statuses.join(' ')}`);
});
