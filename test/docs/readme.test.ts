// README.md stays a faithful reference: the settings table as src/config/settings.ts has it, every
// probe route, and a Quick start that is exactly the two commands users run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SETTINGS } from '../../src/config/settings';
import { withSettingsTable } from '../../scripts/settings-reference';
import { ROUTES } from '../../src/probes/server';

const ROOT = join(__dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test('the table of settings in README.md is the one src/config/settings.ts writes (npm run docs)', () => {
  assert.equal(withSettingsTable(README), README, 'README.md differs from the settings table: run `npm run docs`');
  for (const name of Object.keys(SETTINGS)) assert.match(README, new RegExp(`^\\| \`${name}\` \\|`, 'm'));
});

test('every route of the probe server appears in README.md', () => {
  assert.ok(ROUTES.size > 0);
  for (const route of ROUTES.keys()) {
    assert.match(README, new RegExp(`\`${escape(route)}\``), `README.md does not name the route ${route}`);
  }
});

test('the Quick start is one fenced shell block of exactly two commands, one of them running npm test', () => {
  const quickStart = README.slice(README.indexOf('## Quick start'));
  assert.ok(README.includes('## Quick start'), 'README.md has a "Quick start" section');
  const block = /```(?:sh|bash|shell|console)\n([\s\S]*?)```/.exec(quickStart);
  assert.ok(block, 'the Quick start has a fenced shell block');
  const commands = block[1].split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  assert.equal(commands.length, 2, `exactly two commands, got:\n${commands.join('\n')}`);
  assert.ok(commands.some((command) => /\bnpm test\b/.test(command)), 'one command runs npm test');
});

test('the README keeps its opening: title, one-line preload, then the Quick start', () => {
  assert.match(README, /^# vigil-agent\n/);
  const first = /```sh\n(.*)\n```/.exec(README);
  assert.equal(first?.[1], 'node --require vigil-agent/register server.js');
  assert.ok(README.indexOf('## Quick start') < README.indexOf('## How it works'), 'the Quick start comes before the reference');
});

test('the README links the error catalogue', () => {
  assert.match(README, /\]\(docs\/errors\.md[#)]/);
});
