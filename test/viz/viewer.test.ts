/**
 * The viewer in a real browser: playwright-core drives Debian's chromium (headless) against
 * `startInspectServer` on a freshly trained run. It switches heads and layers, checks that the
 * heatmap cells equal the report's weights, exports a figure, and saves a screenshot. The
 * server's path rules are checked over HTTP. Skipped (with a message) where no chromium is
 * installed, except in CI, which installs it and where a missing browser fails the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { trainCommand } from '../../src/cli/commands.js';
import { startInspectServer } from '../../src/cli/inspect.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// outside CI a machine without chromium skips the browser test; in CI (which installs chromium) it must run
const haveChromium = existsSync(CHROMIUM) || process.env.CI === 'true';
const dir = mkdtempSync(join(tmpdir(), 'attnkit-viz-'));
const run = join(dir, 'run');

async function trainedRun(): Promise<void> {
  if (existsSync(join(run, 'report.json'))) return;
  const rows = Array.from({ length: 240 }, (_, i) => `${(i % 17) / 4},${['red', 'blue', 'green'][i % 3]},"${['fine work', 'poor work', 'great job'][i % 3]}",${i % 3 === 1 ? 0 : 1}`);
  writeFileSync(join(dir, 'd.csv'), `x,colour,note,y\n${rows.join('\n')}\n`);
  writeFileSync(join(dir, 'c.yaml'), `name: viewer-test
data: { path: d.csv }
schema:
  fields: [{ name: x, kind: numeric }, { name: colour, kind: categorical }, { name: note, kind: text, minCount: 1 }]
  targets: [{ name: y, task: binary }]
model: { type: fusion, dim: 8, heads: 2, layers: 2 }
train: { epochs: 3, lr: 0.01 }
`);
  assert.equal(await trainCommand(join(dir, 'c.yaml'), { out: run, quiet: true, json: true }), 0);
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the inspect server serves the page and the run, and nothing outside the run directory', async () => {
  await trainedRun();
  writeFileSync(join(dir, 'secret.txt'), 'not for the page');
  symlinkSync(join(dir, 'secret.txt'), join(run, 'link.txt'));
  const s = await startInspectServer({ dir: run, port: 0 });
  try {
    assert.equal(s.server.address() && (s.server.address() as { address: string }).address, '127.0.0.1', 'binds to loopback');
    assert.match((await get(s.url)).body, /<script type="module" src="app.js">/);
    assert.equal((await get(`${s.url}app.js`)).status, 200);
    const rep = await get(`${s.url}run/report.json`);
    assert.equal(rep.status, 200);
    assert.equal(JSON.parse(rep.body).title, 'viewer-test');
    // dot segments (also percent-encoded) are resolved by the URL parser: the path leaves /run/ and is not served
    for (const p of ['run/../secret.txt', 'run/%2e%2e/secret.txt']) assert.equal((await get(`${s.url}${p}`)).status, 404, p);
    // an encoded slash survives URL parsing; the server resolves it and refuses to leave the run directory
    assert.equal((await get(`${s.url}run/..%2fsecret.txt`)).status, 403);
    assert.equal((await get(`${s.url}run/link.txt`)).status, 403, 'a symlink out of the run directory');
    assert.equal((await get(`${s.url}run/nothing.json`)).status, 404);
    assert.equal((await get(s.url, { host: 'evil.example:80' })).status, 403, 'DNS rebinding: foreign Host header');
  } finally {
    await s.close();
  }
});

test('in a real browser: switching heads shows that head\'s weights, layers switch, figures export, screenshot saved', { skip: haveChromium ? false : `no chromium at ${CHROMIUM} (apt-get install chromium)` }, async () => {
  await trainedRun();
  const report = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8'));
  const s = await startInspectServer({ dir: run, port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(s.url);
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.textContent('#title'), 'viewer-test');
    const cells = async (): Promise<number[][]> => page.$$eval('#heatmap-svg rect.cell', (rs) => rs.map((r) => [Number(r.getAttribute('data-q')), Number(r.getAttribute('data-k')), Number(r.getAttribute('data-w'))]));
    const expectHead = async (layer: number, head: number): Promise<void> => {
      const m: number[][] = report.samples[0].layers[layer][head];
      const got = await cells();
      assert.equal(got.length, m.length * m.length, 'one cell per query × key');
      for (const [q, k, w] of got) assert.equal(w, m[q][k], `layer ${layer} head ${head} cell (${q}, ${k})`);
    };
    await expectHead(0, 0);
    await page.click('button.head-btn[data-head="1"]');
    await expectHead(0, 1);
    await page.selectOption('#layer', '1');
    await expectHead(1, 1);
    // the mean-of-heads view averages the report's heads
    await page.click('button.head-btn[data-head="mean"]');
    const mean = await cells();
    const L = report.samples[0].layers[1];
    for (const [q, k, w] of mean.slice(0, 10)) assert.ok(Math.abs(w - (L[0][q][k] + L[1][q][k]) / 2) < 1e-9);
    // token labels come from the report
    const labels = await page.$$eval('#heatmap-svg text', (ts) => ts.map((t) => t.textContent));
    assert.ok(labels.includes('[CLS]'));
    // other panels render
    for (const id of ['#headview', '#rollout', '#gradattn', '#fields', '#diagnostics', '#redundancy', '#entropy', '#training', '#metrics']) assert.ok(await page.$(id), `${id} is on the page`);
    assert.equal(await page.$$eval('#diagnostics tr', (r) => r.length), 1 + report.diagnostics.length * 2);
    // export as SVG and PNG
    const [svgDl] = await Promise.all([page.waitForEvent('download'), page.click('#heatmap button.export-svg')]);
    assert.equal(svgDl.suggestedFilename(), 'heatmap.svg');
    const [pngDl] = await Promise.all([page.waitForEvent('download'), page.click('#heatmap button.export-png')]);
    assert.equal(pngDl.suggestedFilename(), 'heatmap.png');
    const shots = join('test', 'viz', 'out');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, 'viewer.png'), fullPage: true });
    assert.ok(existsSync(join(shots, 'viewer.png')));
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await s.close();
  }
});
