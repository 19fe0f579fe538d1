// The error catalogue stays whole: every code the agent can log is in ERROR_CODES, and every code
// in ERROR_CODES is documented in docs/errors.md (meaning, when, example, what next, fix).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ERROR_CODES } from '../../src/errors';

const ROOT = join(__dirname, '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
const CODES = Object.keys(ERROR_CODES);

/** Every file under a directory, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)]);
}

/** The `## CODE` sections of docs/errors.md, by code. */
function sections(): Map<string, string> {
  const found = new Map<string, string>();
  const parts = DOC.split(/^## /m).slice(1);
  for (const part of parts) {
    const heading = part.slice(0, part.indexOf('\n')).trim().replace(/`/g, '');
    found.set(heading, part.slice(part.indexOf('\n') + 1));
  }
  return found;
}

test('ERROR_CODES is not empty and every code is VIGIL_ERR_*', () => {
  assert.ok(CODES.length > 0);
  for (const code of CODES) assert.match(code, /^VIGIL_ERR_[A-Z_]+$/);
});

test('every code in ERROR_CODES has its own section in docs/errors.md, with each part of the entry', () => {
  const bySection = sections();
  for (const code of CODES) {
    const body = bySection.get(code);
    assert.ok(body !== undefined, `docs/errors.md has no "## ${code}" section`);
    for (const part of ['**Meaning.**', '**When it is logged.**', '**Example.**', '**What the agent does next.**', '**How to fix.**']) {
      assert.ok(body.includes(part), `the ${code} section lacks ${part}`);
    }
    assert.match(body, /```json\n\{.*"name":"vigil".*\}\n/, `the ${code} section has an example agent line`);
    assert.ok(body.includes(code), `the ${code} example mentions the code`);
  }
});

test('docs/errors.md documents no code that ERROR_CODES does not have', () => {
  for (const heading of sections().keys()) {
    if (heading.startsWith('VIGIL_ERR_')) assert.ok(CODES.includes(heading), `docs/errors.md documents ${heading}, which is not in ERROR_CODES`);
  }
  for (const mention of new Set(DOC.match(/VIGIL_ERR_[A-Z_]+/g) ?? [])) {
    assert.ok(CODES.includes(mention), `docs/errors.md mentions ${mention}, which is not in ERROR_CODES`);
  }
});

test('every VIGIL_ERR_* string in src/ is a code of ERROR_CODES', () => {
  const files = filesUnder(join(ROOT, 'src')).filter((file) => /\.[cm]?[jt]s$/.test(file));
  assert.ok(files.length > 0, 'src/ has source files');
  const unknown: string[] = [];
  let seen = 0;
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(/VIGIL_ERR_[A-Z_]+/g)) {
      seen++;
      if (!CODES.includes(match[0])) unknown.push(`${match[0]} in ${file.slice(ROOT.length + 1)}`);
    }
  }
  assert.ok(seen > CODES.length, 'src/ uses the codes');
  assert.deepEqual(unknown, [], 'codes used in src/ but missing from ERROR_CODES');
});

test('every code of ERROR_CODES is used somewhere in src/ besides the catalogue', () => {
  const files = filesUnder(join(ROOT, 'src')).filter((file) => /\.[cm]?[jt]s$/.test(file) && !file.endsWith(join('src', 'errors.ts')));
  const text = files.map((file) => readFileSync(file, 'utf8')).join('\n');
  for (const code of CODES) assert.ok(text.includes(code), `${code} is in ERROR_CODES but nothing in src/ uses it`);
});
