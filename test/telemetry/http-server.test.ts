// vigil's server path of the HTTP instrumentation (src/telemetry/http-server.ts) emits what
// OpenTelemetry's own does, field by field: the same requests served under each, in a process of
// its own, give the same span names, kinds, attributes, statuses, events, parents and the same
// http.server.request.duration points. Only what differs between any two runs (ports, ids) is
// normalised: the peer port, the server port, trace ids of spans with no remote parent.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fixture, ROOT } from '../helpers/spawn-agent';

interface Served {
  spans: { name: string; traceId: string; parent: string | null; attributes: Record<string, unknown> }[];
  metrics: { name: string; points: { attributes: Record<string, unknown>; count: number }[] }[];
  port: number;
}

function serve(variant: 'upstream' | 'vigil'): Served {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fixture('http-server-equivalence.ts'), variant], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH } });
  return JSON.parse(out) as Served;
}

/** What two runs of the same requests cannot share: ports, and random trace ids (kept as "same trace as" links). */
function normalised(served: Served) {
  const traces = new Map<string, string>();
  const traceOf = (id: string) => {
    if (!traces.has(id)) traces.set(id, `trace ${traces.size}`);
    return traces.get(id);
  };
  const spans = served.spans.map((s) => ({
    ...s,
    traceId: /^0af7651916cd43dd8448eb211c8031/.test(s.traceId) ? s.traceId : traceOf(s.traceId),
    attributes: { ...s.attributes, ...('network.peer.port' in s.attributes ? { 'network.peer.port': 'port' } : {}), ...('server.port' in s.attributes ? { 'server.port': 'port' } : {}) },
  }));
  return { spans, metrics: served.metrics };
}

test("vigil's HTTP server path emits OpenTelemetry's spans and duration metric, field by field", () => {
  const upstream = normalised(serve('upstream'));
  const vigil = normalised(serve('vigil'));
  assert.ok(upstream.spans.length >= 8, `the fixture served its requests: ${upstream.spans.map((s) => s.name).join(', ')}`);
  assert.ok(upstream.spans.some((s) => s.name === 'after body two' && s.parent === 'POST'), 'a span made in a body event is the request\'s child');
  assert.ok(upstream.spans.some((s) => s.name === 'after finish' && s.parent === 'GET'), 'a response listener added in the handler runs in its context');
  assert.ok(!upstream.spans.some((s) => s.name === 'removed listener ran'), 'a removed listener does not run');
  assert.ok(upstream.metrics.some((m) => m.name === 'http.server.request.duration'));
  const points = upstream.metrics.find((m) => m.name === 'http.server.request.duration')?.points ?? [];
  assert.ok(points.some((p) => p.attributes['http.route'] === '/users/:id' && p.attributes['http.request.method'] === 'HEAD'), 'an unsampled request keeps its route in the metric');
  assert.deepEqual(vigil.spans, upstream.spans);
  assert.deepEqual(vigil.metrics, upstream.metrics);
});
