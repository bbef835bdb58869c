import { chromium } from 'playwright-core';
import { startInspectServer } from '../../src/cli/inspect.js';
const [run, nEdits = '15'] = process.argv.slice(2);
const server = await startInspectServer({ dirs: [run], port: 0 });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--headless=new', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => console.error('pageerror', e));
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready]', { timeout: 300_000 });
  console.log(await page.textContent('#subtitle'));
  console.log('first:', await page.textContent('#timing'));
  const base = await page.inputValue('textarea[data-field="body"]');
  const rows: { e2e: number; ms: string; total: string }[] = [];
  for (let i = 0; i < Number(nEdits); i++) {
    const text = `${base} offer${i} free money now`;
    rows.push(await page.evaluate(async (text) => {
      const ta = document.querySelector('textarea[data-field="body"]') as HTMLTextAreaElement;
      const timing = document.getElementById('timing')!;
      delete timing.dataset.painted;
      ta.value = text; ta.dispatchEvent(new Event('input', { bubbles: true }));
      while (timing.dataset.painted === undefined) await new Promise((r) => setTimeout(r, 5));
      return { e2e: Number(timing.dataset.painted), ms: timing.dataset.ms!, total: timing.dataset.total! };
    }, text));
  }
  const med = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
  console.log(rows.map((r) => `${r.ms}/${r.total}/${r.e2e.toFixed(0)}`).join(' '));
  console.log(`median: model ${med(rows.map((r) => Number(r.ms))).toFixed(0)} ms, update ${med(rows.map((r) => Number(r.total))).toFixed(0)} ms, end to end (painted) ${med(rows.map((r) => r.e2e)).toFixed(0)} ms`);
  const prof = await page.evaluate(() => performance.getEntriesByType('measure').map((m) => [m.name, m.duration]));
  const agg = new Map<string, number[]>();
  for (const [n, d] of prof as [string, number][]) agg.set(n, [...(agg.get(n) ?? []), d]);
  for (const [n, ds] of agg) console.log(`  ${n}: median ${med(ds).toFixed(1)} ms (${ds.length})`);
} finally {
  await browser.close();
  await server.close();
}
