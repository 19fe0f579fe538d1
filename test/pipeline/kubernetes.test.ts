// examples/kubernetes/deployment.yaml: the probes point at the agent's endpoints on its port,
// and the timing matches the agent's defaults and its shutdown sequence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { SETTINGS } from '../../src/config/settings';

const ROOT = resolve(__dirname, '..', '..');

interface Probe {
  httpGet?: { path?: string; port?: number | string };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}
interface Container {
  name: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean; allowPrivilegeEscalation?: boolean };
  lifecycle?: { preStop?: unknown };
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
}

const docs = YAML.parseAllDocuments(readFileSync(join(ROOT, 'examples/kubernetes/deployment.yaml'), 'utf8')).map(
  (d) => d.toJS() as { kind: string; spec: Record<string, unknown> },
);
const deployment = docs.find((d) => d.kind === 'Deployment');
const pod = (deployment?.spec.template as { spec: PodSpec } | undefined)?.spec;
const container = pod?.containers[0];

function envOf(c: Container): Record<string, string | undefined> {
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
}

/** The value of an env var that a container sets, or the agent's default. */
function setting(c: Container, name: keyof typeof SETTINGS): number {
  const raw = envOf(c)[name];
  return raw === undefined ? (SETTINGS[name].fallback as number) : Number(raw);
}

test('the file holds a Deployment with one app container, and a Service', () => {
  assert.ok(deployment, 'a Deployment');
  assert.ok(container, 'a container');
  assert.ok(docs.some((d) => d.kind === 'Service'), 'a Service');
  assert.equal(pod!.containers.length, 1);
});

test('the agent is preloaded through NODE_OPTIONS', () => {
  const nodeOptions = envOf(container!).NODE_OPTIONS ?? '';
  assert.match(nodeOptions, /(^|\s)--require vigil-agent\/register(\s|$)/);
  const env = envOf(container!);
  assert.ok(env.OTEL_SERVICE_NAME, 'OTEL_SERVICE_NAME');
  assert.match(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '', /^http:\/\/[\w.-]*collector[\w.-]*:4318$/, 'OTLP/HTTP to a collector service');
});

test("the probes hit the agent's endpoints on the container port named probes, which is the agent's port", () => {
  const c = container!;
  const probesPort = c.ports?.find((p) => p.name === 'probes');
  assert.ok(probesPort, 'a container port named probes');
  assert.equal(SETTINGS.VIGIL_PORT.fallback, 9000, "DESIGN.md: the agent's default VIGIL_PORT is 9000");
  assert.equal(probesPort.containerPort, 9000);
  assert.equal(setting(c, 'VIGIL_PORT'), probesPort.containerPort, 'VIGIL_PORT matches the probes port');

  const expected = { startupProbe: '/health/startup', livenessProbe: '/health/live', readinessProbe: '/health/ready' } as const;
  for (const [kind, path] of Object.entries(expected) as [keyof typeof expected, string][]) {
    const probe = c[kind];
    assert.ok(probe?.httpGet, `${kind} is an httpGet probe`);
    assert.equal(probe.httpGet.path, path, `${kind} path`);
    assert.ok(probe.httpGet.port === 'probes' || probe.httpGet.port === 9000, `${kind} targets the probes port`);
    assert.ok((probe.timeoutSeconds ?? 1) >= 1, `${kind} timeoutSeconds >= 1`);
    assert.ok((probe.periodSeconds ?? 10) >= 1, `${kind} periodSeconds >= 1`);
  }
});

test('the probe timing fits the check schedule', () => {
  const c = container!;
  const interval = setting(c, 'VIGIL_CHECK_INTERVAL_MS');
  const timeoutMs = envOf(c).VIGIL_CHECK_TIMEOUT_MS;
  if (timeoutMs !== undefined) assert.ok(Number(timeoutMs) < interval, 'a check times out before its next run');
  const startup = c.startupProbe!;
  const startupBudget = (startup.failureThreshold ?? 3) * (startup.periodSeconds ?? 10);
  assert.ok(startupBudget >= 60, `the startup probe allows ${startupBudget}s for dependencies to come up (>= 60 s)`);
  assert.ok((c.readinessProbe!.periodSeconds ?? 10) <= 10, 'readiness is probed at least every 10 s');
  // Probes never run a check: their timeout needs no room for one.
  for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
    assert.ok((c[kind]!.timeoutSeconds ?? 1) * 1000 < interval, `${kind}: timeoutSeconds below the check interval`);
  }
});

test('the grace period outlasts the shutdown delay and the telemetry flush, without a preStop hook', () => {
  const c = container!;
  const grace = pod!.terminationGracePeriodSeconds ?? 30;
  const delay = setting(c, 'VIGIL_SHUTDOWN_DELAY_MS');
  const flush = setting(c, 'VIGIL_FLUSH_TIMEOUT_MS');
  assert.equal(envOf(c).VIGIL_SHUTDOWN_DELAY_MS, '5000');
  assert.ok(grace * 1000 > delay, `terminationGracePeriodSeconds ${grace}s > VIGIL_SHUTDOWN_DELAY_MS ${delay}ms`);
  assert.ok(grace * 1000 > delay + flush, `terminationGracePeriodSeconds ${grace}s > shutdown delay + flush (${delay + flush}ms)`);
  assert.equal(c.lifecycle?.preStop, undefined, 'no preStop hook: the agent turns readiness 503 on SIGTERM');
});

test('the pod runs non-root on a read-only root filesystem, with requests and limits', () => {
  const c = container!;
  assert.ok(pod!.securityContext?.runAsNonRoot || c.securityContext?.runAsNonRoot, 'runAsNonRoot');
  assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
  assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory, 'cpu and memory requests');
  assert.ok(c.resources?.limits?.memory, 'a memory limit');
});
