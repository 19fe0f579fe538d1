import { createHash } from 'node:crypto';
import type { CheckHistory, OutOfService } from '../health/engine';
import type { HistoryEntry } from '../health/history';
import type { Status } from '../types';

// /health/ui: one server-rendered page, no script and no external asset, refreshed by the
// browser itself. A status is told by its shape and its word, never by colour alone.

const SHAPES: Record<Status, string> = { pass: '●', warn: '▲', fail: '✖' };

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1b1b;background:#fafafa}
h1{font-size:1.3rem;margin:0 0 .3rem}p.meta{color:#555;margin:0 0 1rem}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #ddd;vertical-align:middle;white-space:nowrap}
th{font-weight:600;color:#333}.status{font-weight:700;white-space:nowrap}
.pass{color:#1a6b2f}.warn{color:#8a5a00}.fail{color:#b00020}
.strip span{display:inline-block;width:.9em;text-align:center;font-size:.8em}
.banner{padding:.6rem .8rem;margin:0 0 1rem;border:2px solid #b00020;background:#fff}
svg{display:block}polyline{fill:none;stroke:#335;stroke-width:1.5}td.output{color:#333;white-space:normal;max-width:32rem;overflow-wrap:anywhere}`;

/** The only style the page has: allowed by its hash, so the policy needs no 'unsafe-inline'. */
export const STATUS_PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(CSS).digest('base64')}'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `3 s`, `4 min 10 s`, `2 h 5 min`, `3 d 4 h`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3_600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3_600)} h ${Math.floor((s % 3_600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3_600)} h`;
}

function statusLabel(status: Status): string {
  return `<span class="status ${status}">${SHAPES[status]} ${status}</span>`;
}

/** The recent results, oldest left: a shape each, its status and time in its title. */
function strip(results: HistoryEntry[]): string {
  const cells = [...results].reverse().map((r) => `<span class="${r.status}" title="${escape(`${r.time} ${r.status} ${r.durationMs} ms`)}">${SHAPES[r.status]}</span>`);
  return `<span class="strip" role="img" aria-label="${escape(`last ${results.length} results, oldest first: ${[...results].reverse().map((r) => r.status).join(', ')}`)}">${cells.join('')}</span>`;
}

/** The durations of the recent results as a line, oldest left, scaled to the slowest. */
function sparkline(results: HistoryEntry[]): string {
  const durations = [...results].reverse().map((r) => r.durationMs);
  if (durations.length < 2) return '';
  const width = 120;
  const height = 24;
  const max = Math.max(...durations, 0.001);
  const points = durations.map((d, i) => `${((i / (durations.length - 1)) * width).toFixed(1)},${(height - 1 - (d / max) * (height - 2)).toFixed(1)}`).join(' ');
  const label = `run durations, ${Math.min(...durations)} to ${Math.max(...durations)} ms`;
  return `<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(label)}"><title>${escape(label)}</title><polyline points="${points}"/></svg>`;
}

export interface StatusPage {
  status: Status;
  service: string;
  checks: CheckHistory[];
  outOfService?: OutOfService;
  details: boolean;
}

/**
 * Where the page says how often it reloads: filled per request (`?refresh=`), so one rendered page
 * serves every value. No check's text can hold it: escape() turns its `<` into `&#60;`.
 */
const REFRESH_SLOT = '<!--refresh-->';

export function withRefresh(page: string, seconds: number): Buffer {
  return Buffer.from(page.replaceAll(REFRESH_SLOT, String(seconds)));
}

/** The whole page, its reload interval left to withRefresh; every value from a check passes through `escape`. */
export function renderStatusPage(page: StatusPage): string {
  const rows = page.checks.map((c) => `<tr data-check="${escape(c.name)}"><td>${escape(c.name)}</td><td>${statusLabel(c.status)}</td>`
    + `<td>${c.forMs === undefined ? 'no result yet' : `for ${formatAge(c.forMs)}`}</td>`
    + `<td>${c.passRatio === undefined ? '' : `${Math.round(c.passRatio * 100)} % pass`}</td>`
    + `<td>${strip(c.results)}</td><td>${sparkline(c.results)}</td>`
    + `<td class="output">${escape(c.results[0]?.output ?? '')}</td></tr>`).join('\n');
  const banner = page.outOfService
    ? `<p class="banner" role="alert">✖ out of service until ${escape(page.outOfService.until)}: ${escape(page.outOfService.reason)}</p>`
    : '';
  const body = page.details
    ? `${banner}<table><thead><tr><th>check</th><th>status</th><th>in this state</th><th>window</th><th>recent results</th><th>latency</th><th>latest output</th></tr></thead>\n<tbody>\n${rows}\n</tbody></table>`
    : '<p>Check details are not shown to this caller (VIGIL_DETAILS decides who sees them).</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="${REFRESH_SLOT}">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>${SHAPES[page.status]} ${page.status}: ${escape(page.service)}</title>
<style>${CSS}</style></head><body>
<h1 id="overall">${escape(page.service)}: ${statusLabel(page.status)}</h1>
<p class="meta">${escape(new Date().toISOString())} · refreshes every ${REFRESH_SLOT} s</p>
${body}
</body></html>
`;
}
