/// <reference lib="dom" />
/**
 * The viewer's screenshots in docs/images/, taken from real runs in headless chromium:
 *
 *   npx tsx test/viz/screenshots.ts <prefix> <run> [<run2>]
 *
 * writes docs/images/<prefix>-<view>.png for the page's top, each view of the first test row
 * (the head view while a token is hovered), and the test-split panels once they are computed.
 * With two runs, only the side-by-side top is taken (<prefix>-side-by-side.png).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startInspectServer } from '../../src/cli/inspect.js';

const [prefix, ...dirs] = process.argv.slice(2);
if (!prefix || dirs.length === 0) throw new Error('usage: npx tsx test/viz/screenshots.ts <prefix> <run> [<run2>]');
const out = join('docs', 'images');
mkdirSync(out, { recursive: true });
const shot = (name: string): string => join(out, `${prefix}-${name}.png`);

const server = await startInspectServer({ dirs, port: 0 });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  page.on('pageerror', (e) => { throw e; });
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  process.stdout.write(`${await page.textContent('#timing')}\n`);
  // the test split runs on the page's thread in chunks; shots wait until it is done
  await page.waitForSelector('body[data-stats="true"]', { timeout: 900_000 });
  if (dirs.length > 1) {
    await page.$eval('#views', (e) => e.scrollIntoView());
    await page.screenshot({ path: shot('side-by-side') });
  } else {
    await page.evaluate(() => { (document.querySelector('footer') as HTMLElement).style.position = 'static'; });
    await page.screenshot({ path: shot('overview') });
    for (const id of ['modelview', 'neuron', 'rollout', 'flow', 'gradattn', 'fields', 'redundancy']) {
      await page.locator(`#views #${id}`).screenshot({ path: shot(id) });
    }
    // the head view while the mouse is on a token (its links highlighted, the others dimmed)
    const hv = page.locator('#views #headview');
    await hv.scrollIntoViewIfNeeded();
    await page.hover('#headview-svg text.qtok[data-i="0"]');
    await hv.screenshot({ path: shot('headview') });
    for (const id of ['ds-fields', 'ds-sources', 'ds-entropy', 'confusion']) await page.locator(`#${id}`).screenshot({ path: shot(id) });
    await page.locator('#picker').screenshot({ path: shot('picker') });
  }
} finally {
  await browser.close();
  await server.close();
}
