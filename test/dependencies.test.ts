// Duplicate copies of @opentelemetry/core are the main start-up trap (DESIGN.md): exactly one.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/spawn-agent';

function installedVersions(pkg: string): string[] {
  const out = execFileSync('npm', ['ls', pkg, '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const dirs = [...new Set(out.split('\n').filter(Boolean))];
  return [...new Set(dirs.map((dir) => (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version))];
}

for (const pkg of ['@opentelemetry/core', '@opentelemetry/api', '@opentelemetry/api-logs', '@opentelemetry/sdk-metrics', '@opentelemetry/instrumentation']) {
  test(`exactly one version of ${pkg} is installed`, () => {
    const versions = installedVersions(pkg);
    assert.equal(versions.length, 1, `${pkg}: ${versions.join(', ')}`);
  });
}

test('the OpenTelemetry SDK is the 2.x line (the 3.x line needs Node 22.15+)', () => {
  const [core] = installedVersions('@opentelemetry/core');
  assert.match(core, /^2\./);
});
