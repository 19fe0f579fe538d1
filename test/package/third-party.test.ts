// What the package inlines is listed, with licences, in the files it ships: a legal review and
// supply-chain tools can see what is inside the bundle.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
// @ts-expect-error: a build script in JavaScript, without declarations.
import { licenceProblems, versionProblems } from '../../scripts/third-party.mjs';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

test('the SBOM and the notices list the same bundled packages, each with an allowed licence and its installed version', () => {
  const sbom = JSON.parse(read('dist/sbom.cdx.json')) as { bomFormat: string; specVersion: string; components: { name: string; version: string; licenses: { expression: string }[] }[] };
  assert.equal(sbom.bomFormat, 'CycloneDX');
  assert.equal(sbom.specVersion, '1.5');
  const notices = read('dist/THIRD_PARTY_NOTICES.md');
  const rows = [...notices.matchAll(/^\| (\S+) \| (\S+) \| ([^|]+) \|$/gm)].filter((m) => m[1] !== 'package' && m[1] !== '---').map((m) => `${m[1]}@${m[2]}`);
  assert.deepEqual(rows, sbom.components.map((c) => `${c.name}@${c.version}`));
  for (const name of ['@opentelemetry/api', '@opentelemetry/sdk-trace-base', 'pino', 'import-in-the-middle']) {
    const installed = JSON.parse(read(`node_modules/${name}/package.json`)).version;
    assert.ok(sbom.components.some((c) => c.name === name && c.version === installed), `${name}@${installed} is listed`);
  }
  assert.deepEqual(licenceProblems(sbom.components.map((c) => ({ name: c.name, version: c.version, licence: c.licenses[0].expression }))), []);
});

test('a bundled package without a licence, or with one vigil cannot ship, fails the check', () => {
  const problems = licenceProblems([
    { name: 'ok', version: '1.0.0', licence: 'MIT' },
    { name: 'either', version: '1.0.0', licence: '(MIT OR GPL-3.0)' },
    { name: 'none', version: '1.0.0', licence: undefined },
    { name: 'copyleft', version: '2.0.0', licence: 'GPL-3.0' },
  ]) as string[];
  assert.deepEqual(problems.map((p) => p.split(':')[0]), ['none@1.0.0', 'copyleft@2.0.0']);
});

test('the bundle holds one version of each package, and a second version fails the check', () => {
  const sbom = JSON.parse(read('dist/sbom.cdx.json')) as { components: { name: string; version: string }[] };
  assert.deepEqual(versionProblems(sbom.components), []);
  assert.deepEqual(versionProblems([{ name: '@opentelemetry/core', version: '2.12.0' }, { name: 'pino', version: '9.0.0' }, { name: '@opentelemetry/core', version: '2.0.1' }]),
    ['@opentelemetry/core is inlined in 2 versions: 2.12.0, 2.0.1']);
});

test('the package ships LICENSE, the notices and the SBOM', () => {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { files: { path: string }[] }[];
  const files = packed.files.map((f) => f.path);
  for (const file of ['LICENSE', 'dist/THIRD_PARTY_NOTICES.md', 'dist/sbom.cdx.json']) assert.ok(files.includes(file), `${file} is in the tarball`);
  assert.match(read('LICENSE'), /Apache License\s+Version 2\.0/);
});
