// The Prometheus side of the pipeline, checked by Prometheus' own tool: the config and the alert
// rules are valid, the rules' unit tests (collector-config/alert-rules.test.yml) pass, and every
// PromQL expression of the Grafana dashboard parses.
// promtool comes from Debian's `prometheus` package (CI: apt-get install -y prometheus).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { promqlExpressionsOf, type Dashboard } from '../helpers/dashboard-metrics';

const ROOT = resolve(__dirname, '..', '..');
const CONFIG = join(ROOT, 'collector-config');

function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail("promtool was not found on PATH: install Debian's `prometheus` package (apt-get install -y prometheus), as CI does");
  }
  if (r.error) throw r.error;
  return { status: r.status, output: `$ promtool ${args.join(' ')}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}` };
}

function assertOk(...args: string[]): string {
  const { status, output } = promtool(...args);
  assert.equal(status, 0, output);
  return output;
}

test('promtool check config: prometheus.yml and the rule files it names are valid', () => {
  const output = assertOk('check', 'config', join(CONFIG, 'prometheus.yml'));
  assert.match(output, /alert-rules\.yml/, 'prometheus.yml names alert-rules.yml in rule_files');
});

test('promtool check rules: alert-rules.yml is valid and every alert has a severity and a summary', () => {
  assertOk('check', 'rules', join(CONFIG, 'alert-rules.yml'));
  const doc = YAML.parse(readFileSync(join(CONFIG, 'alert-rules.yml'), 'utf8')) as {
    groups: { rules: { alert?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
  };
  const alerts = doc.groups.flatMap((g) => g.rules).filter((r) => r.alert);
  assert.ok(alerts.length >= 5, `expected at least 5 alerts, found ${alerts.length}`);
  for (const a of alerts) {
    assert.match(a.labels?.severity ?? '', /^(critical|warning|info)$/, `${a.alert}: severity label`);
    assert.ok(a.annotations?.summary, `${a.alert}: summary annotation`);
    assert.ok(a.annotations?.description, `${a.alert}: description annotation`);
  }
});

test('promtool test rules: every alert fires and stays quiet where it should', () => {
  const output = assertOk('test', 'rules', join(CONFIG, 'alert-rules.test.yml'));
  assert.match(output, /SUCCESS/);
  // Each alert of the rule file is exercised by the unit tests.
  const rules = readFileSync(join(CONFIG, 'alert-rules.yml'), 'utf8');
  const tests = readFileSync(join(CONFIG, 'alert-rules.test.yml'), 'utf8');
  for (const [, name] of rules.matchAll(/^\s*- alert:\s*(\S+)/gm)) {
    assert.match(tests, new RegExp(`alertname:\\s*${name}\\s*\\n\\s*exp_alerts:\\s*\\n\\s*- exp_labels`), `${name} is never shown firing`);
    assert.match(tests, new RegExp(`alertname:\\s*${name}\\s*\\n\\s*exp_alerts:\\s*\\[\\]`), `${name} is never shown not firing`);
  }
});

test('every PromQL expression of the Grafana dashboard parses', () => {
  const dashboard = JSON.parse(readFileSync(join(CONFIG, 'grafana', 'dashboards', 'vigil.json'), 'utf8')) as Dashboard;
  const exprs = promqlExpressionsOf(dashboard);
  assert.ok(exprs.length > 0);
  // Grafana variables replaced by what Grafana would put there, then each expression becomes
  // a recording rule that `promtool check rules` parses.
  const rules = exprs.map(({ expr }, i) => ({
    record: `dashboard:expr_${i}`,
    expr: expr
      .replace(/\$__rate_interval|\$__interval|\$__range/g, '1m')
      .replace(/\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?/g, '.+'),
  }));
  const dir = mkdtempSync(join(tmpdir(), 'vigil-dashboard-'));
  try {
    const file = join(dir, 'dashboard-rules.yml');
    writeFileSync(file, YAML.stringify({ groups: [{ name: 'dashboard', rules }] }));
    const { status, output } = promtool('check', 'rules', file);
    const where = exprs.map((e, i) => `dashboard:expr_${i} = ${e.where}`).join('\n');
    assert.equal(status, 0, `${output}\n${where}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
