/**
 * attnkit in a real browser, as a user's bundler would ship it: esbuild bundles a page that
 * imports `attnkit/browser` (resolved through package.json's exports), a local server serves
 * it cross-origin isolated (COOP/COEP, so wasm threads are allowed), and headless chromium
 * (Debian's, driven by playwright-core) trains a small attention model in the page
 * (test/browser/trainTiny.ts). Its loss curve must equal the same run in Node, on the js
 * backend and, where the package has it, the wasm backend. Skipped (with a message) where no
 * chromium is installed, except in CI, which installs it and where a missing browser fails.
 *
 * The exports map is followed as written (the resolved path must be its `import` target under
 * dist/), and the bundle is then built from that file's source in src/ so a stale local dist/
 * can neither pass nor fail the test; CI's packed-package checks cover dist/ itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { chromium } from 'playwright-core';
import * as ak from '../../src/node.js';
import { CHROMIUM_ARGS, modulePage, startStaticServer } from '../../bench/browser/server.js';
import { TINY, trainTiny } from './trainTiny.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM) || process.env.CI === 'true';
const root = resolve(import.meta.dirname, '..', '..');
/** Largest |page − Node| allowed per step: float32 sums in another order (threads) over 8 Adam steps; measured ≤ 1e-7. */
const TOLERANCE = 1e-4;

/** The file a package.json `exports` entry names for a browser bundler (conditions browser, import, default; not node). */
function exportsTarget(entry: unknown): string | null {
  if (typeof entry === 'string') return entry;
  if (!entry || typeof entry !== 'object') return null;
  for (const [cond, value] of Object.entries(entry)) {
    if (!['browser', 'import', 'default'].includes(cond)) continue;
    const t = exportsTarget(value);
    if (t) return t;
  }
  return null;
}

/**
 * Resolves `attnkit/…` as a consumer's bundler does — the package from node_modules, the file
 * from its exports map (esbuild's own resolution must agree where dist/ is built) — then
 * bundles the source in src/ of the dist/ file it names.
 */
const exportsToSource: Plugin = {
  name: 'attnkit-exports-to-source',
  setup(b) {
    b.onResolve({ filter: /^attnkit(\/|$)/ }, async (args) => {
      if (args.pluginData === 'inner') return undefined;
      const pkgPath = await b.resolve('attnkit/package.json', { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'inner' });
      if (pkgPath.errors.length) return { errors: pkgPath.errors };
      const pkgRoot = resolve(pkgPath.path, '..');
      const pkg = JSON.parse(readFileSync(pkgPath.path, 'utf8')) as { exports: Record<string, unknown> };
      const target = exportsTarget(pkg.exports[`.${args.path.slice('attnkit'.length)}`]);
      if (!target?.startsWith('./dist/')) assert.fail(`${args.path}: package.json exports name a dist/ file for browsers (got ${target})`);
      const built = join(pkgRoot, target);
      if (existsSync(built)) {
        const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'inner' });
        assert.equal(r.path, built, `esbuild resolves ${args.path} to its exports target`);
      }
      const source = join(pkgRoot, 'src', relative(join(pkgRoot, 'dist'), built)).replace(/\.js$/, '.ts');
      assert.ok(existsSync(source), `${target} has its source ${relative(pkgRoot, source)}`);
      return { path: source };
    });
  },
};

async function bundlePage(): Promise<string> {
  // a consumer's node_modules/attnkit: a link to this package (its package.json, exports and files)
  const consumer = mkdtempSync(join(tmpdir(), 'attnkit-consumer-'));
  mkdirSync(join(consumer, 'node_modules'));
  symlinkSync(root, join(consumer, 'node_modules', 'attnkit'), 'dir');
  const page = `
    import * as ak from 'attnkit/browser';
    import { trainTiny } from './trainTiny.ts';
    globalThis.result = (async () => {
      const backend = typeof ak.backendName === 'function' ? ak.backendName() : 'js';
      return { backend, hasWasmEntry: typeof ak.loadWasmBackend === 'function', losses: trainTiny(ak), isolated: globalThis.crossOriginIsolated };
    })().catch((e) => ({ error: String(e && e.stack || e) }));
  `;
  const r = await build({
    stdin: { contents: page, resolveDir: import.meta.dirname, sourcefile: 'page.js', loader: 'js' },
    nodePaths: [join(consumer, 'node_modules')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    write: false, logLevel: 'silent', plugins: [exportsToSource],
  });
  return r.outputFiles[0]!.text;
}

test('a page bundled from attnkit/browser trains an attention model in chromium, with the loss curve of the Node run', { skip: haveChromium ? false : `no chromium at ${CHROMIUM} (apt-get install chromium)` }, async (t) => {
  const bundle = await bundlePage();
  const server = await startStaticServer({
    files: new Map([['/index.html', modulePage('/page.js')], ['/page.js', bundle]]),
    mounts: { '/wasm/': join(root, 'wasm') },
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  let got: { backend: string; hasWasmEntry: boolean; losses: number[]; isolated: boolean; error?: string };
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(`${server.url}index.html`);
    await page.waitForFunction(() => 'result' in globalThis, undefined, { timeout: 60_000 }).catch((e: Error) => {
      throw new Error(`${e.message}; page errors: ${errors.join(' | ')}`);
    });
    got = await page.evaluate(() => (globalThis as unknown as { result: Promise<typeof got> }).result);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
  assert.equal(got.error, undefined, got.error);
  assert.equal(got.isolated, true, 'the page is cross-origin isolated (COOP/COEP)');
  // ATTNKIT-WASM SWITCH: once attnkit/browser is the wasm entry (src/browser.ts), the page must run on wasm
  if (got.hasWasmEntry) assert.equal(got.backend, 'wasm', 'attnkit/browser selects the wasm backend in the page');
  assert.equal(got.losses.length, TINY.steps);
  assert.ok(got.losses.at(-1)! < got.losses[0]! * 0.7, `the page's model learns: losses ${got.losses.map((l) => l.toFixed(4)).join(', ')}`);

  const before = ak.backendName();
  const use = ak.useBackend as (name: string) => string;
  const loadWasm = (ak as unknown as { loadWasmBackend?: () => Promise<void> }).loadWasmBackend;
  await loadWasm?.().catch(() => undefined);   // the Node entry's wasm backend, where this build has one
  try {
    for (const name of ['js', 'wasm']) {
      let active: string;
      try {
        active = use(name);
      } catch {
        continue;   // this build's Node entry has no such backend
      }
      if (active !== name) continue;
      const node = trainTiny(ak);
      const worst = Math.max(...node.map((l, i) => Math.abs(l - got.losses[i]!)));
      t.diagnostic(`page (${got.backend}) vs Node (${name}): max |Δ loss| ${worst.toExponential(2)} over ${TINY.steps} steps`);
      assert.ok(worst <= TOLERANCE, `page (${got.backend}) vs Node (${name}): max |Δ loss| ${worst} > ${TOLERANCE}\n page ${got.losses.join(', ')}\n node ${node.join(', ')}`);
    }
  } finally {
    use(before);
  }
});
