// The documents stay faithful: the settings table of docs/configuration.md as src/config/settings.ts
// has it, every probe route in docs/probes.md, a README that opens as a user's guide, and no
// link in any of them to a file or heading that does not exist.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { SETTINGS } from '../../src/config/settings';
import { CONFIGURATION_DOC, withSettingsTable } from '../../scripts/settings-reference';
import { ROUTES } from '../../src/probes/server';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const README = read('README.md');
const DOCUMENTS = ['README.md', 'CONTRIBUTING.md', 'BENCHMARKS.md', 'examples/kubernetes/README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)];

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** Markdown without its fenced blocks, where `#` lines and `](` are not headings or links. */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, '');

test('the table of settings in docs/configuration.md is the one src/config/settings.ts writes (npm run docs)', () => {
  const doc = readFileSync(CONFIGURATION_DOC, 'utf8');
  assert.equal(withSettingsTable(doc), doc, 'docs/configuration.md differs from the settings table: run `npm run docs`');
  for (const name of Object.keys(SETTINGS)) assert.match(doc, new RegExp(`^\\| \`${name}\` \\|`, 'm'));
});

test('every route of the probe server appears in docs/probes.md', () => {
  const doc = read('docs/probes.md');
  assert.ok(ROUTES.size > 0);
  for (const route of ROUTES.keys()) assert.match(doc, new RegExp(`\`${escape(route)}\``), `docs/probes.md does not name the route ${route}`);
});

test('the Quick start is one fenced shell block of exactly two commands, one of them running npm test', () => {
  const quickStart = README.slice(README.indexOf('## Quick start'));
  assert.ok(README.includes('## Quick start'), 'README.md has a "Quick start" section');
  const block = /```(?:sh|bash|shell|console)\n([\s\S]*?)```/.exec(quickStart);
  assert.ok(block, 'the Quick start has a fenced shell block');
  const commands = block[1]!.split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  assert.equal(commands.length, 2, `exactly two commands, got:\n${commands.join('\n')}`);
  assert.ok(commands.some((command) => /\bnpm test\b/.test(command)), 'one command runs npm test');
});

test("the README opens as a user's guide: title, the one-line preload, the Quick start, then installing it in a service", () => {
  assert.match(README, /^# vigil-agent\n/);
  const first = /```sh\n(.*)\n```/.exec(README);
  assert.equal(first?.[1], 'node --require vigil-agent/register server.js');
  const order = ['## Quick start', '## Use it in your service', '## Troubleshooting', '## Reference'].map((heading) => README.indexOf(`\n${heading}`));
  assert.ok(order.every((at) => at > 0), `the README has the sections ${order}`);
  assert.deepEqual([...order].sort((a, b) => a - b), order, 'in this order');
  assert.match(README.slice(README.indexOf('## Use it in your service')), /^npm install vigil-agent$/m);
});

test('the README links the error catalogue and every document in docs/', () => {
  for (const file of readdirSync(join(ROOT, 'docs'))) assert.match(README, new RegExp(`\\]\\(docs/${escape(file)}[#)]`), `README.md links docs/${file}`);
});

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading!.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    found.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return found;
}

test('every relative link of the documents names a file that exists, and a heading that exists in it', () => {
  const broken: string[] = [];
  for (const document of DOCUMENTS) {
    const text = read(document);
    for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const file = path === '' ? join(ROOT, document) : join(ROOT, dirname(document), path);
      if (!existsSync(file)) broken.push(`${document}: ${target} (no file ${relative(ROOT, file)})`);
      else if (anchor !== undefined && file.endsWith('.md') && !anchors(readFileSync(file, 'utf8')).has(anchor)) broken.push(`${document}: ${target} (no such heading)`);
    }
  }
  assert.deepEqual(broken, []);
});
