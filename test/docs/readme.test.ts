// README.md stays a faithful reference: every variable of ENV_TABLE with its real default, every
// probe route, and a Quick start that is exactly the two commands users run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ENV_TABLE } from '../../src/config/env';
import { ROUTES } from '../../src/probes/server';

const ROOT = join(__dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** How a default is written in the README's "default" column. */
function rendered(fallback: unknown): string {
  if (Array.isArray(fallback)) return `\`${fallback.join(',')}\``;
  if (fallback === '') return '(unset)';
  return `\`${String(fallback)}\``;
}

/** The cells of the table row whose first cell is exactly `` `name` ``. */
function rowOf(name: string): { cells: string[]; index: number } | undefined {
  const lines = README.split('\n');
  const index = lines.findIndex((line) => line.startsWith('|') && line.split('|')[1]?.trim() === `\`${name}\``);
  return index < 0 ? undefined : { cells: lines[index].split('|').slice(1, -1).map((c) => c.trim()), index };
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test('every variable of ENV_TABLE has a README row with its default value, in ENV_TABLE order', () => {
  let previous = -1;
  for (const [name, spec] of Object.entries(ENV_TABLE)) {
    const row = rowOf(name);
    assert.ok(row, `README.md has no table row for ${name}`);
    const [, defaultCell, meaning] = row.cells;
    assert.ok(defaultCell.includes(rendered(spec.fallback)), `${name}: the default column "${defaultCell}" should show ${rendered(spec.fallback)}`);
    assert.ok(meaning && meaning.length > 0, `${name} has a meaning`);
    assert.ok(row.index > previous, `${name} is out of ENV_TABLE order in README.md`);
    previous = row.index;
  }
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
