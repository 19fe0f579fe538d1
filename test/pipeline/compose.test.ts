// docker-compose.yml: valid for docker-compose, every image pinned, and wired to the files in
// collector-config/. No Docker engine is needed: nothing is started.
// docker-compose comes from Debian's `docker-compose` package (CI: apt-get install -y docker-compose).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';

const ROOT = resolve(__dirname, '..', '..');

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, string> | string[];
  volumes?: (string | { source?: string; target?: string })[];
  healthcheck?: { test?: string | string[] };
  depends_on?: string[] | Record<string, { condition?: string }>;
  ports?: (string | number)[];
}
const compose = YAML.parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const services = compose.services;

function service(name: string): Service {
  const s = services[name];
  assert.ok(s, `docker-compose.yml has a service "${name}"`);
  return s;
}

/** [host path relative to the repo, container path] of each bind mount. */
function mounts(s: Service): [string, string][] {
  return (s.volumes ?? []).map((v) => {
    if (typeof v === 'string') {
      const [source = '', target = ''] = v.split(':');
      return [source, target];
    }
    return [v.source ?? '', v.target ?? ''];
  });
}

function env(s: Service): Record<string, string> {
  if (Array.isArray(s.environment)) {
    return Object.fromEntries(s.environment.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  }
  return s.environment ?? {};
}

test('docker-compose config -q accepts docker-compose.yml', () => {
  const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail("docker-compose was not found on PATH: install Debian's `docker-compose` package (apt-get install -y docker-compose), as CI does");
  }
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `docker-compose -f docker-compose.yml config -q\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
});

test('the stack has every service of the pipeline', () => {
  for (const name of ['otel-collector', 'jaeger', 'prometheus', 'loki', 'grafana', 'postgres', 'redis', 'rabbitmq', 'demo']) service(name);
});

test('every image is pinned to a tag, never latest', () => {
  for (const [name, s] of Object.entries(services)) {
    if (s.image === undefined) {
      assert.ok(s.build, `${name}: neither image nor build`);
      continue;
    }
    const lastPart = s.image.split('/').pop()!;
    const digest = s.image.includes('@sha256:');
    assert.ok(digest || lastPart.includes(':'), `${name}: image ${s.image} has no tag`);
    const tag = digest ? '' : lastPart.split(':')[1]!;
    assert.notEqual(tag, 'latest', `${name}: image ${s.image} uses latest`);
    // A pulled image names a version; a locally built one (build:) only needs a fixed tag.
    if (!s.build) assert.ok(digest || /\d/.test(tag), `${name}: tag of ${s.image} names no version`);
  }
  assert.match(service('otel-collector').image!, /^otel\/opentelemetry-collector-contrib:/);
});

test('the demo is built from the Dockerfile, exports to the collector and is health-checked by the probe CLI', () => {
  const demo = service('demo');
  const build = typeof demo.build === 'string' ? { context: demo.build } : demo.build;
  assert.ok(build, 'demo has a build section');
  assert.equal(build.context, '.');
  assert.ok(existsSync(join(ROOT, build.dockerfile ?? 'Dockerfile')), 'the Dockerfile exists');
  const e = env(demo);
  assert.equal(e.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://otel-collector:4318');
  assert.equal(e.OTEL_SERVICE_NAME, 'vigil-demo');
  for (const v of ['VIGIL_POSTGRES_URL', 'VIGIL_REDIS_URL', 'VIGIL_AMQP_URL']) assert.ok(e[v], `demo sets ${v}`);
  assert.match(e.VIGIL_POSTGRES_URL!, /@postgres:5432\//);
  assert.match(e.VIGIL_REDIS_URL!, /^redis:\/\/redis:6379/);
  assert.match(e.VIGIL_AMQP_URL!, /^amqp:\/\/.*@rabbitmq:5672/);

  assert.deepEqual(demo.healthcheck?.test, ['CMD', 'node', 'dist/cli.js', 'probe', 'ready', '--port', '9000']);
  const ports = (demo.ports ?? []).map(String);
  assert.ok(ports.some((p) => p.endsWith(':3000')), 'app port 3000 published');
  assert.ok(ports.some((p) => p.endsWith(':9000')), 'probe port 9000 published');

  const deps = demo.depends_on;
  assert.ok(deps && !Array.isArray(deps), 'depends_on with conditions');
  for (const d of ['postgres', 'redis', 'rabbitmq']) {
    assert.equal(deps[d]?.condition, 'service_healthy', `demo waits for ${d} to be healthy`);
    assert.ok(service(d).healthcheck?.test, `${d} has a healthcheck`);
  }
  assert.ok(deps['otel-collector'], 'demo depends on the collector');

  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  assert.match(dockerfile, /^FROM node:20[\w.-]*-slim/m);
  assert.match(dockerfile, /npm ci/);
  assert.match(dockerfile, /npm run build/);
  assert.match(dockerfile, /CMD \["node", "--require", "\.\/dist\/register\.js", "demo\/server\.js"\]/);
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const entry of ['node_modules', 'dist', '.git']) assert.ok(ignore.includes(entry), `.dockerignore lists ${entry}`);
});

test('the collector runs the config of collector-config/', () => {
  const collector = service('otel-collector');
  const m = mounts(collector).find(([source]) => source === './collector-config/otel-collector.yaml');
  assert.ok(m, 'collector-config/otel-collector.yaml is mounted into the collector');
  const command = Array.isArray(collector.command) ? collector.command.join(' ') : (collector.command ?? '');
  // The contrib image reads /etc/otelcol-contrib/config.yaml unless told otherwise.
  assert.ok(command.includes(m[1]) || m[1] === '/etc/otelcol-contrib/config.yaml', `the collector is started with ${m[1]}`);
  const ports = (collector.ports ?? []).map(String);
  for (const p of ['4317', '4318']) assert.ok(ports.some((x) => x.endsWith(`:${p}`)), `OTLP port ${p} published`);
});

test('Prometheus gets prometheus.yml and the alert rules side by side', () => {
  const m = mounts(service('prometheus'));
  const config = m.find(([s]) => s === './collector-config/prometheus.yml');
  const rules = m.find(([s]) => s === './collector-config/alert-rules.yml');
  assert.ok(config && rules, 'both files are mounted');
  const dir = (p: string) => p.slice(0, p.lastIndexOf('/'));
  assert.equal(dir(config[1]), dir(rules[1]), 'rule_files: [alert-rules.yml] resolves next to the config');
  const command = ([] as string[]).concat(service('prometheus').command ?? []).join(' ');
  assert.ok(command === '' || command.includes(`--config.file=${config[1]}`), 'Prometheus reads the mounted config');
});

test('Grafana gets the provisioning and the dashboards of collector-config/grafana', () => {
  const m = mounts(service('grafana'));
  assert.ok(
    m.some(([s, t]) => s === './collector-config/grafana/provisioning' && t === '/etc/grafana/provisioning'),
    'provisioning mounted at /etc/grafana/provisioning',
  );
  const dashboards = m.find(([s]) => s === './collector-config/grafana/dashboards');
  assert.ok(dashboards, 'dashboards directory mounted');
  const provider = YAML.parse(readFileSync(join(ROOT, 'collector-config/grafana/provisioning/dashboards/dashboards.yml'), 'utf8')) as {
    providers: { options: { path: string } }[];
  };
  assert.ok(provider.providers.some((p) => p.options.path === dashboards[1]), 'the dashboard provider reads the mounted directory');
});

test('Loki gets a config with OTLP ingestion requirements (structured metadata, tsdb v13)', () => {
  const loki = service('loki');
  const m = mounts(loki).find(([s]) => s === './collector-config/loki.yaml');
  assert.ok(m, 'collector-config/loki.yaml mounted');
  const command = ([] as string[]).concat(loki.command ?? []).join(' ');
  assert.ok(command.includes(`-config.file=${m[1]}`));
  const config = YAML.parse(readFileSync(join(ROOT, 'collector-config/loki.yaml'), 'utf8')) as {
    limits_config: { allow_structured_metadata: boolean };
    schema_config: { configs: { store: string; schema: string }[] };
  };
  assert.equal(config.limits_config.allow_structured_metadata, true);
  assert.ok(config.schema_config.configs.some((c) => c.store === 'tsdb' && c.schema === 'v13'));
});
