// README.md's table of settings, written from the settings table (src/config/settings.ts) so
// that the two cannot differ: `npm run docs` rewrites it, test/docs/readme.test.ts compares.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS } from '../src/config/settings';

export const README = join(__dirname, '..', 'README.md');
export const BEGIN = '<!-- settings: written by `npm run docs` from src/config/settings.ts -->';
export const END = '<!-- settings: end -->';

function shownDefault(fallback: unknown): string {
  if (Array.isArray(fallback)) return `\`${fallback.join(',')}\``;
  if (fallback === '' || fallback === undefined || (typeof fallback === 'object' && fallback && Object.keys(fallback).length === 0)) return '(unset)';
  return `\`${String(fallback)}\``;
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The Markdown table, one row per setting, in the table's order. */
export function settingsTable(): string {
  const rows = Object.entries(SETTINGS).map(([name, setting]) => {
    const row: { doc: string; expected: string; fallback: unknown; file?: string; shownDefault?: string } = setting;
    return `| \`${name}\` | ${cell(row.shownDefault ?? shownDefault(row.fallback))} | ${row.file ? `\`${row.file}\`` : ''} | ${cell(row.doc)}; ${cell(row.expected)} |`;
  });
  return [BEGIN, '| variable | default | file key | meaning; values |', '| --- | --- | --- | --- |', ...rows, END].join('\n');
}

/** README.md with its table of settings as the settings table says. */
export function withSettingsTable(readme: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no "${BEGIN}" ... "${END}" block`);
  return readme.slice(0, start) + settingsTable() + readme.slice(end + END.length);
}

if (require.main === module) writeFileSync(README, withSettingsTable(readFileSync(README, 'utf8')));
