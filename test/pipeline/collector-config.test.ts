// collector-config/otel-collector.yaml and the Grafana data sources: the pipelines are
// well-formed and send each signal where the rest of the stack expects it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';

const ROOT = resolve(__dirname, '..', '..');

type Components = Record<string, Record<string, unknown> | null>;
interface CollectorConfig {
  receivers: Components;
  processors: Components;
  exporters: Components;
  extensions?: Components;
  service: {
    extensions?: string[];
    telemetry?: { metrics?: { readers?: { pull?: { exporter?: { prometheus?: { host?: string; port?: number } } } }[] } };
    pipelines: Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }>;
  };
}
const config = YAML.parse(readFileSync(join(ROOT, 'collector-config/otel-collector.yaml'), 'utf8')) as CollectorConfig;
const pipelines = config.service.pipelines;

/** The component type of an id: `otlp/jaeger` -> `otlp`. */
const typeOf = (id: string) => id.split('/')[0]!;
const exportersOf = (signal: string) => Object.keys(pipelines).filter((p) => typeOf(p) === signal).flatMap((p) => pipelines[p]!.exporters);

test('there is a pipeline for traces, metrics and logs', () => {
  for (const signal of ['traces', 'metrics', 'logs']) {
    assert.ok(Object.keys(pipelines).some((p) => typeOf(p) === signal), `a ${signal} pipeline`);
  }
});

test('every pipeline references receivers, processors and exporters that are defined', () => {
  for (const [name, p] of Object.entries(pipelines)) {
    assert.ok(p.receivers.length > 0 && p.exporters.length > 0, `${name}: receivers and exporters`);
    for (const r of p.receivers) assert.ok(r in config.receivers, `${name}: receiver ${r} is defined`);
    for (const x of p.processors ?? []) assert.ok(x in config.processors, `${name}: processor ${x} is defined`);
    for (const e of p.exporters) assert.ok(e in config.exporters, `${name}: exporter ${e} is defined`);
  }
  for (const e of config.service.extensions ?? []) assert.ok(e in (config.extensions ?? {}), `extension ${e} is defined`);
});

test('memory_limiter is the first processor of every pipeline, batch is in every pipeline', () => {
  for (const [name, p] of Object.entries(pipelines)) {
    const processors = p.processors ?? [];
    assert.equal(typeOf(processors[0] ?? ''), 'memory_limiter', `${name}: memory_limiter first (${processors.join(', ')})`);
    assert.ok(processors.some((x) => typeOf(x) === 'batch'), `${name}: batch`);
  }
  const limiter = config.processors.memory_limiter as { check_interval?: string; limit_percentage?: number; limit_mib?: number };
  assert.ok(limiter.check_interval, 'memory_limiter needs check_interval');
  assert.ok(limiter.limit_percentage || limiter.limit_mib, 'memory_limiter needs a limit');
});

test('OTLP is received over gRPC on 4317 and HTTP on 4318, on every interface', () => {
  const otlp = config.receivers.otlp as { protocols: { grpc: { endpoint: string }; http: { endpoint: string } } };
  assert.equal(otlp.protocols.grpc.endpoint, '0.0.0.0:4317');
  assert.equal(otlp.protocols.http.endpoint, '0.0.0.0:4318');
  for (const p of Object.values(pipelines)) assert.ok(p.receivers.includes('otlp'));
});

test('the health_check extension is defined and enabled on :13133', () => {
  const hc = config.extensions?.health_check as { endpoint?: string } | undefined;
  assert.ok(hc, 'health_check defined');
  assert.equal(hc.endpoint, '0.0.0.0:13133');
  assert.ok(config.service.extensions?.includes('health_check'), 'health_check enabled in service.extensions');
});

test('traces go to Jaeger over OTLP/gRPC', () => {
  const exporters = exportersOf('traces');
  assert.ok(exporters.includes('otlp/jaeger'), `traces exporters: ${exporters.join(', ')}`);
  const jaeger = config.exporters['otlp/jaeger'] as { endpoint: string; tls?: { insecure?: boolean } };
  assert.equal(jaeger.endpoint, 'jaeger:4317');
  assert.equal(jaeger.tls?.insecure, true);
});

test('metrics go to the prometheus exporter on :8889 that prometheus.yml scrapes, resource attributes as labels', () => {
  const exporters = exportersOf('metrics');
  assert.ok(exporters.includes('prometheus'), `metrics exporters: ${exporters.join(', ')}`);
  const prom = config.exporters.prometheus as { endpoint: string; resource_to_telemetry_conversion?: { enabled?: boolean } };
  assert.equal(prom.endpoint, '0.0.0.0:8889');
  assert.equal(prom.resource_to_telemetry_conversion?.enabled, true);

  const prometheus = YAML.parse(readFileSync(join(ROOT, 'collector-config/prometheus.yml'), 'utf8')) as {
    rule_files: string[];
    scrape_configs: { job_name: string; honor_labels?: boolean; static_configs: { targets: string[] }[] }[];
  };
  const targets = (job: { static_configs: { targets: string[] }[] }) => job.static_configs.flatMap((s) => s.targets);
  const app = prometheus.scrape_configs.find((j) => targets(j).includes('otel-collector:8889'));
  assert.ok(app, 'Prometheus scrapes otel-collector:8889');
  assert.equal(app.honor_labels, true, 'honor_labels keeps job = service.name from the exporter');
  const own = config.service.telemetry?.metrics?.readers?.[0]?.pull?.exporter?.prometheus;
  assert.equal(own?.port, 8888, "the collector's own metrics on :8888");
  assert.equal(own?.host, '0.0.0.0');
  assert.ok(prometheus.scrape_configs.some((j) => targets(j).includes('otel-collector:8888')), "Prometheus scrapes the collector's own metrics");
  assert.ok(prometheus.rule_files.includes('alert-rules.yml'));
});

test('logs go to Loki through its OTLP endpoint', () => {
  const exporters = exportersOf('logs');
  assert.ok(exporters.includes('otlphttp/loki'), `logs exporters: ${exporters.join(', ')}`);
  const loki = config.exporters['otlphttp/loki'] as { endpoint: string };
  assert.equal(loki.endpoint, 'http://loki:3100/otlp');
});

interface Datasource {
  name: string;
  type: string;
  uid: string;
  url: string;
  jsonData?: {
    tracesToLogsV2?: { datasourceUid?: string; filterByTraceID?: boolean; customQuery?: boolean; query?: string };
    derivedFields?: { name: string; matcherType?: string; matcherRegex: string; datasourceUid?: string; url: string }[];
  };
}

test('Grafana data sources link traces to logs and logs to traces', () => {
  const { datasources } = YAML.parse(
    readFileSync(join(ROOT, 'collector-config/grafana/provisioning/datasources/datasources.yml'), 'utf8'),
  ) as { datasources: Datasource[] };
  const byType = (type: string) => {
    const ds = datasources.find((d) => d.type === type);
    assert.ok(ds, `a ${type} data source`);
    return ds;
  };
  const prometheus = byType('prometheus');
  const jaeger = byType('jaeger');
  const loki = byType('loki');
  assert.equal(prometheus.url, 'http://prometheus:9090');
  assert.equal(jaeger.url, 'http://jaeger:16686');
  assert.equal(loki.url, 'http://loki:3100');

  // trace -> logs: Jaeger links to Loki, filtered by the trace id.
  const t2l = jaeger.jsonData?.tracesToLogsV2;
  assert.ok(t2l, 'Jaeger has tracesToLogsV2');
  assert.equal(t2l.datasourceUid, loki.uid);
  assert.ok(t2l.filterByTraceID || (t2l.customQuery && /traceId/.test(t2l.query ?? '')), 'the logs query is filtered by trace id');
  if (t2l.customQuery) assert.match(t2l.query ?? '', /\$\$\{__(trace|span)\.traceId\}/, 'Grafana variables escaped as $${...} in provisioning');

  // logs -> trace: a Loki derived field turns trace_id into a link to Jaeger.
  const fields = loki.jsonData?.derivedFields ?? [];
  const toJaeger = fields.filter((f) => f.datasourceUid === jaeger.uid);
  assert.ok(toJaeger.length > 0, 'a derived field links to Jaeger');
  assert.ok(
    toJaeger.some((f) => f.matcherType === 'label' && f.matcherRegex === 'trace_id'),
    'the trace_id structured metadata of OTLP logs is matched',
  );
  for (const f of toJaeger) assert.equal(f.url, '$${__value.raw}', `${f.name}: internal link to the trace id`);
});
