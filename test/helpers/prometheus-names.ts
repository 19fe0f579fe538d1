// The metrics the agent exports, and every series name each gets once the OpenTelemetry
// Collector's `prometheus` exporter (or the agent's own /metrics) has exposed it; the naming
// rules themselves are src/telemetry/prometheus-names.ts. Used by test/pipeline/dashboard*.test.ts
// and the Prometheus tests.
import { prometheusBaseName, type OtelMetricType } from '../../src/telemetry/prometheus-names';

export { prometheusBaseName, prometheusLabelFor, type OtelMetricType } from '../../src/telemetry/prometheus-names';

export interface OtelMetric {
  otelName: string;
  /** UCUM unit as the instrument declares it; '' when it declares none. */
  unit: string;
  type: OtelMetricType;
  /** Sums only: a counter (true) or an up-down counter (false). */
  monotonic?: boolean;
  /** Where the metric comes from (documentation only). */
  source: string;
}

/** Every series name the collector's prometheus exporter produces for one metric. */
export function prometheusNamesFor(otelName: string, unit: string, type: OtelMetricType, monotonic = false): string[] {
  const base = prometheusBaseName(otelName, unit, type, monotonic);
  return type === 'histogram' ? [`${base}_bucket`, `${base}_sum`, `${base}_count`] : [base];
}

/**
 * The metrics the agent exports (DESIGN.md "Telemetry"), with the units their instruments
 * really declare. Note the host metrics: @opentelemetry/host-metrics 0.39 declares no unit on
 * system.cpu.utilization, system.memory.usage, process.cpu.utilization and
 * process.memory.usage, so they get no `_ratio` / `_bytes` suffix.
 */
export const AGENT_METRICS: readonly OtelMetric[] = [
  // vigil's own (src/telemetry): no unit on the state-set gauges, or they would become *_ratio.
  { otelName: 'health.check.status', unit: '', type: 'gauge', source: 'vigil' },
  { otelName: 'health.status', unit: '', type: 'gauge', source: 'vigil' },
  { otelName: 'health.check.duration', unit: 's', type: 'histogram', source: 'vigil' },
  { otelName: 'vigil.probe.requests', unit: '{request}', type: 'sum', monotonic: true, source: 'vigil' },
  { otelName: 'vigil.probe.duration', unit: 's', type: 'histogram', source: 'vigil' },
  // @opentelemetry/instrumentation-runtime-node 0.36
  { otelName: 'nodejs.eventloop.delay.min', unit: 's', type: 'gauge', source: 'runtime-node' },
  { otelName: 'nodejs.eventloop.delay.max', unit: 's', type: 'gauge', source: 'runtime-node' },
  { otelName: 'nodejs.eventloop.delay.mean', unit: 's', type: 'gauge', source: 'runtime-node' },
  { otelName: 'nodejs.eventloop.delay.stddev', unit: 's', type: 'gauge', source: 'runtime-node' },
  { otelName: 'nodejs.eventloop.delay.p50', unit: 's', type: 'gauge', source: 'runtime-node' },
  { otelName: 'nodejs.eventloop.delay.p90', unit: 's', type: 'gauge', source: 'runtime-node' },
  { otelName: 'nodejs.eventloop.delay.p99', unit: 's', type: 'gauge', source: 'runtime-node' },
  { otelName: 'nodejs.eventloop.utilization', unit: '1', type: 'gauge', source: 'runtime-node' },
  { otelName: 'nodejs.eventloop.time', unit: 's', type: 'sum', monotonic: true, source: 'runtime-node' },
  { otelName: 'v8js.memory.heap.used', unit: 'By', type: 'gauge', source: 'runtime-node' },
  { otelName: 'v8js.memory.heap.space.size', unit: 'By', type: 'sum', monotonic: false, source: 'runtime-node' },
  { otelName: 'v8js.memory.heap.space.available_size', unit: 'By', type: 'gauge', source: 'runtime-node' },
  { otelName: 'v8js.memory.heap.space.physical_size', unit: 'By', type: 'gauge', source: 'runtime-node' },
  { otelName: 'v8js.gc.duration', unit: 's', type: 'histogram', source: 'runtime-node' },
  { otelName: 'v8js.resource.active', unit: '{resource}', type: 'gauge', source: 'runtime-node' },
  // @opentelemetry/host-metrics 0.39
  { otelName: 'system.cpu.time', unit: 's', type: 'sum', monotonic: true, source: 'host-metrics' },
  { otelName: 'system.cpu.utilization', unit: '', type: 'gauge', source: 'host-metrics' },
  { otelName: 'system.memory.usage', unit: '', type: 'gauge', source: 'host-metrics' },
  { otelName: 'system.memory.utilization', unit: '', type: 'gauge', source: 'host-metrics' },
  { otelName: 'process.cpu.time', unit: 's', type: 'sum', monotonic: true, source: 'host-metrics' },
  { otelName: 'process.cpu.utilization', unit: '', type: 'gauge', source: 'host-metrics' },
  { otelName: 'process.memory.usage', unit: '', type: 'gauge', source: 'host-metrics' },
];

/** Every Prometheus series name of a list of metrics (AGENT_METRICS by default). */
export function prometheusNamesOf(metrics: readonly OtelMetric[] = AGENT_METRICS): Set<string> {
  const names = new Set<string>();
  for (const m of metrics) for (const n of prometheusNamesFor(m.otelName, m.unit, m.type, m.monotonic)) names.add(n);
  return names;
}
