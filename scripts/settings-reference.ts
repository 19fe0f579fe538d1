// The table of settings in docs/configuration.md, written from the settings table
// (src/config/settings.ts) so that the two cannot differ: `npm run docs` rewrites it,
// test/docs/docs.test.ts compares.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS } from '../src/config/settings';

export const CONFIGURATION_DOC = join(__dirname, '..', 'docs', 'configuration.md');
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

/** A document with its table of settings as the settings table says. */
export function withSettingsTable(doc: string): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`no "${BEGIN}" ... "${END}" block`);
  return doc.slice(0, start) + settingsTable() + doc.slice(end + END.length);
}

if (require.main === module) writeFileSync(CONFIGURATION_DOC, withSettingsTable(readFileSync(CONFIGURATION_DOC, 'utf8')));
