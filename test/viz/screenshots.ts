/// <reference lib="dom" />
/**
 * The viewer's screenshots in docs/images/, taken from real runs in headless chromium:
 *
 *   npx tsx test/viz/screenshots.ts <prefix> <run> [<run2>]
 *
 * writes docs/images/<prefix>-<view>.png for the page's top, each view of the first test row
 * (the head view while [CLS] is hovered; each panel scrolled into view, where it is drawn), and the
 * test split's panels.
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
  await page.waitForFunction(() => (document.querySelector('#timing') as HTMLElement).dataset.painted !== undefined);
  process.stdout.write(`${await page.textContent('#timing')}\n${await page.textContent('.pred-json')}\n`);
  // panels are drawn when they come into view: scroll each to the screen and wait for its drawing
  const view = async (id: string): Promise<ReturnType<typeof page.locator>> => {
    const box = page.locator(`#views .run-col[data-run="0"] #${id}`);
    await box.scrollIntoViewIfNeeded();
    await page.waitForSelector(`#views .run-col[data-run="0"] #${id}:not(.stale)`);
    return box;
  };
  if (dirs.length > 1) {
    await page.$eval('#views', (e) => e.scrollIntoView());
    await page.screenshot({ path: shot('side-by-side') });
  } else {
    await page.evaluate(() => { (document.querySelector('footer') as HTMLElement).style.position = 'static'; });
    await page.screenshot({ path: shot('overview') });
    for (const id of ['modelview', 'heatmap', 'neuron', 'rollout', 'flow', 'gradattn', 'fields', 'redundancy']) await (await view(id)).screenshot({ path: shot(id) });
    // the head view while the mouse is on the first query token ([CLS]): its links highlighted, the others dimmed
    const hv = await view('headview');
    await page.locator('#headview').evaluate((e) => e.scrollIntoView());
    await page.hover('#headview-canvas', { position: { x: 100, y: 16 } });
    await hv.screenshot({ path: shot('headview') });
    for (const id of ['ds-fields', 'ds-sources', 'ds-entropy', 'confusion']) await page.locator(`#${id}`).screenshot({ path: shot(id) });
    await page.locator('#picker').screenshot({ path: shot('picker') });
  }
} finally {
  await browser.close();
  await server.close();
}
