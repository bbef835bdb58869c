/**
 * The viewer's page on a plain static host: the exported folder has no favicon, and a host
 * without one answers the browser's request for /favicon.ico with 404, which chromium reports as
 * a console error on every load. The page names its own (empty) icon, so no request is made.
 * Skipped where no chromium is installed (outside CI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { PAGE_HTML } from '../../src/viz/page.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) || process.env.CI === 'true' ? false : `no chromium at ${CHROMIUM}`;

test('the page asks a static host for no /favicon.ico (a 404 console error there)', { skip }, async () => {
  const asked: string[] = [];
  // a static host that has the page and nothing else (its script is left out: only the requests matter)
  const server = createServer((req, res) => {
    asked.push(req.url ?? '');
    if (req.url === '/') { res.writeHead(200, { 'content-type': 'text/html' }); res.end(PAGE_HTML); return; }
    res.writeHead(404); res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--headless=new'] });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { waitUntil: 'load' });
    await page.waitForTimeout(1000);   // the favicon is asked for after the load
    assert.ok(asked.includes('/'), `asked: ${asked.join(' ')}`);
    assert.ok(!asked.includes('/favicon.ico'), `asked: ${asked.join(' ')}`);
  } finally {
    await browser.close();
    server.close();
  }
});
