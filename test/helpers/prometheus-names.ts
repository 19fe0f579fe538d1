// The one place that knows how an OpenTelemetry metric is named once the OpenTelemetry
// Collector's `prometheus` exporter has exposed it (collector-config/otel-collector.yaml,
// default translation: underscore escaping with type and unit suffixes), and the list of the
// metrics the agent exports. Used by test/pipeline/dashboard.test.ts; the end-to-end test will
// feed it the metrics really exported instead of AGENT_METRICS.
//
// Rules (opentelemetry-collector-contrib pkg/translator/prometheus, normalizeName):
// - the name is split into tokens at every character outside [a-zA-Z0-9_:] and re-joined
//   with `_` (`health.check.status` -> `health_check_status`);
// - the unit is split at `/`: the main unit is mapped (`s` -> seconds, `By` -> bytes, ...)
//   and appended unless it is empty, an annotation in braces (`{request}`), `1`, or already
//   a token of the name; a per-unit becomes `per_<unit>` (`By/s` -> `bytes_per_second`);
// - a monotonic sum (counter) gets `_total` (moved to the end if the name had it);
// - a gauge of unit `1` gets `_ratio` (gauges only: counters of unit 1 get nothing);
// - a histogram is exposed as `<name>_bucket`, `<name>_sum` and `<name>_count`;
// - a name that would start with a digit is prefixed with `_`.
// Attributes become labels the same way (`health.check.name` -> `health_check_name`).

export type OtelMetricType = 'gauge' | 'sum' | 'histogram';

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

const UNITS: Record<string, string> = {
  // time
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  // bytes
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  // SI
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  // misc
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

const PER_UNITS: Record<string, string> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

function tokens(text: string): string[] {
  return text.split(/[^a-zA-Z0-9_:]+/).filter(Boolean);
}

function cleanUp(text: string): string {
  return text.split(/[^\p{L}\p{N}]+/u).filter(Boolean).join('_');
}

/** A Prometheus label name from an OpenTelemetry attribute key (`http.route` -> `http_route`). */
export function prometheusLabelFor(attributeKey: string): string {
  const name = attributeKey.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `key_${name}` : name;
}

/** The base name (before `_bucket` / `_sum` / `_count`) the collector exposes a metric under. */
export function prometheusBaseName(otelName: string, unit: string, type: OtelMetricType, monotonic = false): string {
  let parts = tokens(otelName);
  const [mainUnit = '', perUnit] = unit.split('/', 2).map((u) => u.trim());
  if (mainUnit !== '' && !/[{}]/.test(mainUnit)) {
    const prom = cleanUp(UNITS[mainUnit] ?? mainUnit);
    if (prom !== '' && !parts.includes(prom)) parts.push(prom);
  }
  if (perUnit !== undefined && perUnit !== '' && !/[{}]/.test(perUnit)) {
    const prom = cleanUp(PER_UNITS[perUnit] ?? perUnit);
    if (prom !== '' && !parts.includes(prom)) parts.push('per', prom);
  }
  if (type === 'sum' && monotonic) parts = [...parts.filter((t) => t !== 'total'), 'total'];
  if (type === 'gauge' && unit === '1') parts = [...parts.filter((t) => t !== 'ratio'), 'ratio'];
  const name = parts.join('_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
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
