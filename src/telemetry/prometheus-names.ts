// How the OpenTelemetry Collector's `prometheus` exporter names a metric (default translation:
// underscore escaping with type and unit suffixes), so that the agent's own /metrics endpoint
// (./prometheus-endpoint.ts) exposes the names the shipped dashboard and alert rules query
// whichever path the metrics take.
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
