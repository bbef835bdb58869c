/// <reference lib="dom" />
/**
 * The viewer's line chart (src/viz/svg.ts `lines`) in a real browser: a run trained for one epoch
 * has one point per series, which a bare polyline does not paint, so each point is marked; the
 * x axis names the one epoch rather than a range "1–1". Skipped where no chromium is installed
 * (outside CI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) || process.env.CI === 'true' ? false : `no chromium at ${CHROMIUM}`;

/** Runs `f` on a blank chromium page holding the page module `file` (under src/viz) bundled as `globalName`. */
async function withModule(file: string, globalName: string, f: (page: Page) => Promise<void>): Promise<void> {
  const entry = fileURLToPath(new URL(`../../src/viz/${file}`, import.meta.url));
  const bundle = await build({ entryPoints: [entry], bundle: true, write: false, format: 'iife', globalName, logLevel: 'silent' });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    await page.setContent('<!doctype html><body></body>');
    // tsx keeps function names with a __name helper, which the evaluated callbacks then call
    await page.addScriptTag({ content: `globalThis.__name = (f) => f;\n${bundle.outputFiles[0].text}` });
    await f(page);
  } finally {
    await browser.close();
  }
}

test('lines: a one-epoch series is painted (a marker per point) and the axis names the epoch', { skip }, async () => {
  await withModule('svg.ts', 'vizSvg', async (page) => {
    const one = await page.evaluate(() => {
      const { lines } = (globalThis as unknown as { vizSvg: typeof import('../../src/viz/svg.js') }).vizSvg;
      const svg = lines([{ name: 'train loss', xs: [1], ys: [0.21] }, { name: 'valid loss', xs: [1], ys: [0.09] }]);
      document.body.append(svg);
      // painted marks per series: a circle, or a polyline with a visible extent
      const painted = (name: string): number => Array.from(svg.querySelectorAll(`[data-name="${name}"]`)).filter((e) => {
        const b = (e as SVGGraphicsElement).getBBox();
        return e.tagName === 'circle' ? b.width > 0 : b.width > 0 || b.height > 0;
      }).length;
      return { train: painted('train loss'), valid: painted('valid loss'), axis: Array.from(svg.querySelectorAll('text')).map((t) => t.textContent ?? '') };
    });
    assert.ok(one.train >= 1 && one.valid >= 1, `one-point series painted: ${JSON.stringify(one)}`);
    assert.ok(one.axis.includes('epoch 1'), `x axis: ${one.axis.join(' | ')}`);
    const many = await page.evaluate(() => {
      const { lines } = (globalThis as unknown as { vizSvg: typeof import('../../src/viz/svg.js') }).vizSvg;
      const svg = lines([{ name: 'a', xs: [1, 2, 3], ys: [0.3, null, 0.1] }]);
      return { circles: svg.querySelectorAll('circle[data-name="a"]').length, axis: Array.from(svg.querySelectorAll('text')).map((t) => t.textContent ?? '') };
    });
    assert.equal(many.circles, 2, 'a marker per non-null point');
    assert.ok(many.axis.includes('epoch 1–3'), `x axis: ${many.axis.join(' | ')}`);
  });
});

test('bars: with `top`, the largest values listed largest first (not in token order)', { skip }, async () => {
  await withModule('views.ts', 'vizViews', async (page) => {
    const got = await page.evaluate(() => {
      const { bars } = (globalThis as unknown as { vizViews: typeof import('../../src/viz/views.js') }).vizViews;
      const order = (svg: SVGSVGElement): number[] => Array.from(svg.querySelectorAll('rect.bar')).map((r) => Number(r.getAttribute('data-i')));
      const labels = ['[CLS]', 'a', 'b', 'c', 'd'];
      return {
        top: order(bars([0.1, 0.5, 0.3, 0.9, 0.2], labels, labels, { top: 3 })), all: order(bars([0.1, 0.5, 0.3], labels.slice(0, 3))),
        short: order(bars([0.1, 0.5, 0.3, 0.9, 0.2], labels, labels, { top: 30 })),
      };
    });
    assert.deepEqual(got.top, [3, 1, 2], 'the 3 largest, descending');
    assert.deepEqual(got.short, [3, 1, 2, 4, 0], 'fewer values than top: all of them, descending');
    assert.deepEqual(got.all, [0, 1, 2], 'without top, bars keep their given order (fields, sources)');
  });
});
