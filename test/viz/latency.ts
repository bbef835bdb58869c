/// <reference lib="dom" />
/**
 * The viewer's latency per edit on a real run, in headless chromium (not a test: it prints
 * figures, which depend on the machine and its load):
 *
 *   npx tsx test/viz/latency.ts <run> [edits = 15] [text field = the form's first text area]
 *
 * Serves the run (its split summary computed, or read from its cache), opens the page at
 * 1400 × 1000, edits the text field `edits` times and prints per edit the model's time, the
 * update's (with the views on screen) and the time from the edit to the painted frame (the
 * footer's numbers), their medians, and the medians of the page's performance measures (each
 * model step and each view drawn). Run it under the shared benchmark lock on a shared machine.
 */
import { chromium } from 'playwright-core';
import { startInspectServer } from '../../src/cli/inspect.js';

const [run, nEdits = '15', fieldArg] = process.argv.slice(2);
if (!run) throw new Error('usage: npx tsx test/viz/latency.ts <run> [edits] [text field]');
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const server = await startInspectServer({ dirs: [run], port: 0 });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--headless=new', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => { console.error('pageerror', e); });
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready]', { timeout: 300_000 });
  await page.waitForFunction(() => (document.querySelector('#timing') as HTMLElement).dataset.painted !== undefined);
  console.log(await page.textContent('#subtitle'));
  console.log(`first record: ${await page.textContent('#timing')}`);
  const field = fieldArg ?? await page.$eval('#record-form textarea[data-field]', (t) => t.getAttribute('data-field')!);
  const sel = `textarea[data-field="${field}"]`;
  const base = await page.inputValue(sel);
  const rows: { painted: number; model: number; update: number }[] = [];
  for (let i = 0; i < Number(nEdits); i++) {
    rows.push(await page.evaluate(async ([sel, text]) => {
      const ta = document.querySelector(sel) as HTMLTextAreaElement;
      const timing = document.getElementById('timing')!;
      delete timing.dataset.painted;
      ta.value = text;
      ta.dispatchEvent(new Event('input', { bubbles: true }));
      while (timing.dataset.painted === undefined) await new Promise((r) => setTimeout(r, 5));
      return { painted: Number(timing.dataset.painted), model: Number(timing.dataset.ms), update: Number(timing.dataset.total) };
    }, [sel, `${base} offer${i} free money now`] as const));
  }
  console.log(`${rows.length} edits of ${field} (model / update / edit to painted, ms): ${rows.map((r) => `${r.model.toFixed(0)}/${r.update.toFixed(0)}/${r.painted.toFixed(0)}`).join(' ')}`);
  console.log(`median: model ${median(rows.map((r) => r.model)).toFixed(0)} ms, update ${median(rows.map((r) => r.update)).toFixed(0)} ms, edit to painted ${median(rows.map((r) => r.painted)).toFixed(0)} ms`);
  const measures = await page.evaluate(() => performance.getEntriesByType('measure').map((m) => [m.name, m.duration] as [string, number]));
  const by = new Map<string, number[]>();
  for (const [name, d] of measures) by.set(name, [...(by.get(name) ?? []), d]);
  for (const [name, ds] of by) console.log(`  ${name}: median ${median(ds).toFixed(1)} ms over ${ds.length}`);
} finally {
  await browser.close();
  await server.close();
}
