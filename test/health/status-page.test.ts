// /health/ui (src/probes/status-page.ts) in a real browser (Debian's chromium with playwright-core):
// the page lists every check with its status by shape and word, how long it has been in that
// state, its recent results and a latency line; it loads nothing but itself under its strict
// Content-Security-Policy; a check that fails shows as failing within one refresh. A screenshot
// is kept in .artifacts/ for a person to look at.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { formatAge } from '../../src/probes/status-page';
import type { Status } from '../../src/types';
import { ROOT } from '../helpers/spawn-agent';
import { engineFor, options, probe, runsOf, serve } from './harness';

const CHROMIUM = '/usr/bin/chromium';

async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium), as .ci/run does`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

test('ages read as a person says them', () => {
  assert.equal(formatAge(3_400), '3 s');
  assert.equal(formatAge(250_000), '4 min 10 s');
  assert.equal(formatAge(7_500_000), '2 h 5 min');
  assert.equal(formatAge(3 * 86_400_000 + 4 * 3_600_000), '3 d 4 h');
});

test('the status page in Chromium: every check by shape and word, self-contained, a failure within one refresh', { timeout: 60_000 }, async (t) => {
  let db: Status = 'pass';
  const engine = engineFor(t);
  engine.register({ name: 'db', fn: () => ({ status: db, output: db === 'pass' ? 'answered in 2 ms' : 'connection refused' }), options: {} }, options({ intervalMs: 100 }));
  engine.register({ name: 'cache', fn: () => ({ status: 'warn', output: '<img src=x onerror="document.title=\'owned\'">' }), options: {} }, options({ critical: false, intervalMs: 100 }));
  engine.start();
  const port = await serve(t, engine, { details: 'local' });
  await runsOf(engine, 'db', 3);

  const browser = await launch();
  t.after(() => browser.close());
  const page = await browser.newPage();
  const violations: string[] = [];
  page.on('console', (message) => { if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text()); });
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  const url = `http://127.0.0.1:${port}/health/ui?refresh=1`;
  const response = await page.goto(url);
  assert.equal(response?.status(), 200);
  assert.match(String(response?.headers()['content-security-policy']), /^default-src 'none'; style-src 'sha256-/);

  const rowText = (name: string) => page.locator(`tr[data-check="${name}"]`).innerText();
  assert.match(await rowText('db'), /● pass/);
  assert.match(await rowText('db'), /for \d+ s/);
  assert.match(await rowText('cache'), /▲ warn/, 'a warning by its own shape and word');
  assert.equal(await page.locator('tr[data-check] .strip').count(), 2, 'a strip of recent results per check');
  assert.equal(await page.locator('tr[data-check="db"] svg polyline').count(), 1, 'a latency line');
  assert.equal(await page.locator('img').count(), 0, "a check's output is text, never markup");
  assert.notEqual(await page.title(), 'owned');
  // The style applied: the hash in the policy is the style's.
  const weight = await page.locator('.status.pass').first().evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { fontWeight: string } }).getComputedStyle(el).fontWeight);
  assert.equal(weight, '700');

  db = 'fail';
  // The page reloads itself (refresh=1): no script of the test's drives it.
  await page.locator('tr[data-check="db"]', { hasText: '✖ fail' }).waitFor({ timeout: 5_000 });
  assert.match(await rowText('db'), /connection refused/);
  assert.match(await page.locator('#overall').innerText(), /✖ fail/);
  engine.takeOutOfService(60_000, 'heap dump for INC-42');
  await page.locator('.banner', { hasText: 'out of service until' }).waitFor({ timeout: 5_000 });
  assert.match(await page.locator('.banner').innerText(), /heap dump for INC-42/);
  mkdirSync(join(ROOT, '.artifacts'), { recursive: true });
  await page.screenshot({ path: join(ROOT, '.artifacts', 'status-page.png'), fullPage: true });

  assert.deepEqual(violations, [], 'no Content-Security-Policy violation');
  assert.deepEqual([...new Set(requests)].filter((r) => !r.startsWith(url)), [], 'nothing loaded but the page itself');
});

test('the status page shows the status alone without details, and is a page, not a probe', async (t) => {
  const engine = engineFor(t);
  engine.register({ name: 'db', fn: () => ({ status: 'fail', output: 'secret-host refused' }), options: {} }, options());
  engine.start();
  const port = await serve(t, engine, { details: 'never' });
  await runsOf(engine, 'db', 1);
  const res = await fetch(`http://127.0.0.1:${port}/health/ui`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  const html = await res.text();
  assert.match(html, /✖ fail/);
  assert.doesNotMatch(html, /db|secret-host/);
  assert.match(html, /<meta http-equiv="refresh" content="5">/);
  assert.equal((await probe(port, '/health/ui', { method: 'POST' })).status, 405);
});
