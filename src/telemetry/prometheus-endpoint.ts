import type { Attributes } from '@opentelemetry/api';
import type { MetricData, MetricReader, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Server } from 'node:http';
import { listenBounded, routeOf, send } from '../probes/agent-server';
import { redactMetrics } from './redacting-exporter';
import { prometheusBaseName, type OtelMetricType } from './prometheus-names';

/** The resource attributes the shipped collector deletes before its Prometheus exporter (collector-config/otel-collector.yaml, resource/metrics). */
const NOT_LABELS = new Set([
  'process.pid', 'process.parent_pid', 'process.command', 'process.command_args', 'process.command_line',
  'process.executable.name', 'process.executable.path', 'process.owner', 'process.runtime.description',
]);

// SDK DataPointType: 0 histogram, 1 exponential histogram, 2 gauge, 3 sum.
const TYPES: Record<number, OtelMetricType | undefined> = { 0: 'histogram', 2: 'gauge', 3: 'sum' };

export interface PrometheusEndpoint {
  /** The pull reader, registered with the meter provider. */
  reader: MetricReader;
  /** Every metric, collected now, in the Prometheus text format. */
  render(): Promise<string>;
  /** Serves `render` at /metrics on its own port (the specification's OTEL_EXPORTER_PROMETHEUS_HOST / _PORT). */
  listen(host: string, port: number): Promise<Server>;
}

/**
 * OTEL_METRICS_EXPORTER=prometheus: OpenTelemetry's Prometheus exporter as a pull reader (its own
 * server not started) and its serialiser, fed the names, `job`, `instance` and resource labels the
 * Collector's Prometheus exporter gives the same metrics (resource_to_telemetry_conversion), so
 * that the shipped dashboard and alert rules read either path. Loaded only when chosen.
 */
export function createPrometheusEndpoint(): PrometheusEndpoint {
  const { PrometheusExporter, PrometheusSerializer } = require('@opentelemetry/exporter-prometheus') as typeof import('@opentelemetry/exporter-prometheus');
  const reader = new PrometheusExporter({ preventServerStart: true });
  // Every resource attribute left is a label of every series, as the collector's are.
  const serializer = new PrometheusSerializer(undefined, false, /.*/);
  // Scrapes at once share one collection: a client that opens many cannot multiply the work.
  let under: Promise<string> | undefined;
  const collect = async () => serializer.serialize(redactMetrics(asCollectorNames((await reader.collect()).resourceMetrics)));
  const endpoint: PrometheusEndpoint = {
    reader,
    render: () => (under ??= collect().finally(() => { under = undefined; })),
    listen: (host, port) => serve(endpoint, host, port),
  };
  return endpoint;
}

function asCollectorNames(resourceMetrics: ResourceMetrics): ResourceMetrics {
  const attributes: Attributes = {};
  for (const [key, value] of Object.entries(resourceMetrics.resource.attributes)) if (!NOT_LABELS.has(key)) attributes[key] = value;
  const name = String(attributes['service.name'] ?? '');
  const namespace = attributes['service.namespace'];
  attributes.job = namespace ? `${String(namespace)}/${name}` : name;
  if (attributes['service.instance.id'] !== undefined) attributes.instance = attributes['service.instance.id'];
  return {
    resource: { ...resourceMetrics.resource, attributes },
    scopeMetrics: resourceMetrics.scopeMetrics.map((scope) => ({ ...scope, metrics: scope.metrics.map(renamed) })),
  };
}

function renamed(metric: MetricData): MetricData {
  const type = TYPES[metric.dataPointType];
  if (!type) return metric;
  const monotonic = 'isMonotonic' in metric && metric.isMonotonic;
  return { ...metric, descriptor: { ...metric.descriptor, name: prometheusBaseName(metric.descriptor.name, metric.descriptor.unit, type, monotonic) } } as MetricData;
}

const NOT_FOUND = { type: 'text/plain', body: Buffer.from('Not Found: the metrics are at /metrics\n') };
const METRICS_METHODS = ['GET', 'HEAD'];
const COLLECT_FAILED = Buffer.from('the metrics could not be collected\n');
const TEXT_FORMAT = 'text/plain; version=0.0.4; charset=utf-8';

/** `/metrics`, bounded and unref'd like the probes. */
function serve(endpoint: PrometheusEndpoint, host: string, port: number): Promise<Server> {
  return listenBounded({ host, port }, (req, res) => {
    const { path, answered } = routeOf(req, res, (p) => (p === '/metrics' ? METRICS_METHODS : undefined), NOT_FOUND);
    if (answered) return path;
    endpoint.render()
      .then((text) => { if (!res.destroyed) send(res, req, 200, TEXT_FORMAT, Buffer.from(text)); }, () => { if (!res.destroyed) send(res, req, 500, 'text/plain', COLLECT_FAILED); })
      .catch(() => res.destroy());
    return path;
  });
}
