/**
 * `npm run bench:browser` — attnkit in headless Chromium beside TensorFlow.js and jax-js, in
 * one run, on this machine.
 *
 * The pages (bench/browser/pages/*.ts) are bundled with esbuild and served on 127.0.0.1 with
 * COOP/COEP headers (cross-origin isolated: SharedArrayBuffer and wasm threads available);
 * playwright-core drives Debian's chromium. Each (case, implementation) pair runs in a fresh
 * browser context: a warm-up, then timed runs for at least --min-seconds (and 3 runs); the
 * median is reported. Every output is compared with attnkit's in Node (native backend, the
 * same code: bench/browser/attnkitRunner.ts) and the largest absolute difference printed, so a
 * peer cannot win by computing something else; the encoder step compares the losses of its
 * first CHECK_STEPS steps from the same initial weights (forward, backward and Adam).
 *
 * Options: --quick (toy sizes, for CI), --only <substring of a case id>, --impls <a,b,…>,
 *          --threads <n> (default: all cores; the pages' navigator.hardwareConcurrency, from which
 *          attnkit-wasm and jax-js size their pools, and tfjs's setThreadsCount), --min-seconds <s>
 *          (default 3; --quick 0.05), --rounds <n> (run every pair n times, interleaved, and
 *          report the median round),
 *          --out <file.json> (default bench/results/browser-<time>.json).
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, fmtMs, printRows } from '../args.ts';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import * as akNode from '../../src/node.ts';
import { attnkitRunner } from './attnkitRunner.ts';
import { browserCases, CHECK_STEPS, fromBase64, IMPLS, type BrowserCase, type BrowserImpl } from './cases.ts';
import type { PageResult } from './harness.ts';
import { CHROMIUM_ARGS, modulePage, startStaticServer } from './server.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const args = benchArgs('bench:browser', 3);
const { threads, minSeconds, rounds } = args;
const minReps = args.quick ? 2 : 3;
const impls = (args.impls?.split(',').map((s) => s.trim()) ?? IMPLS) as BrowserImpl[];
for (const i of impls) if (!IMPLS.includes(i)) throw new Error(`bench:browser: --impls: unknown implementation '${i}' (known: ${IMPLS.join(', ')})`);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) throw new Error(`bench:browser: no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);

const PAGES: Record<BrowserImpl, string> = { 'attnkit-wasm': 'attnkit', 'attnkit-wasm-plain': 'attnkit', 'attnkit-js': 'attnkit', 'tfjs-wasm': 'tfjs', 'jax-wasm': 'jax' };
/** The attnkit-wasm page's error while the wasm backend is not built: a skipped row, not a failure. */
const NOT_BUILT = 'no wasm backend in this build';

interface Row {
  case: string;
  title: string;
  impl: BrowserImpl;
  skipped?: string;
  result?: PageResult;
  gflops?: number;
  /** This implementation's median time over attnkit-wasm's (above 1: attnkit-wasm is faster). */
  vsAttnkitWasm?: number;
  /** Largest |peer − attnkit| over the output (encoder: over the check losses). */
  maxAbsDiff?: number;
  agrees?: boolean;
  /** Each round's median time when --rounds > 1 (the row reports the median round). */
  msRounds?: number[];
  /** The .wasm files the page fetched. */
  wasmFiles?: string[];
}

async function bundles(): Promise<Map<string, string>> {
  const names = [...new Set(impls.map((i) => PAGES[i]))];
  const r = await build({
    entryPoints: names.map((n) => path.join(here, 'pages', `${n}.ts`)), bundle: true, format: 'esm', platform: 'browser',
    target: 'es2022', outdir: '/bundles', write: false, logLevel: 'warning', minify: false,
  });
  const files = new Map<string, string>();
  for (const f of r.outputFiles) files.set(f.path, f.text);
  for (const n of names) files.set(`/${n}.html`, modulePage(`/bundles/${n}.js`));
  return files;
}

/** attnkit's result for a case in Node (native backend where the addon loads). */
function reference(c: BrowserCase): { output?: Float32Array; losses?: number[] } {
  const runner = attnkitRunner(akNode, c);
  if (c.spec.kind === 'encoder') return { losses: Array.from({ length: CHECK_STEPS }, () => Number(runner.run())) };
  runner.run();
  return { output: runner.output!() as Float32Array };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}
const maxAbs = (a: ArrayLike<number>): number => maxAbsDiff(a, new Float32Array(a.length));


function printTable(rows: Row[]): void {
  const head = ['case', 'implementation', 'ms', 'GFLOP/s', '× attnkit-wasm time', 'max |Δ| vs attnkit', 'runs'];
  const body = rows.map((r) => {
    const w = r.result;
    if (r.skipped) return [r.title, r.impl, r.skipped];
    if (!w?.ok) return [r.title, r.impl, `failed: ${w?.error ?? '?'}`.slice(0, 110)];
    const range = r.msRounds ? ` (${fmtMs(Math.min(...r.msRounds))}–${fmtMs(Math.max(...r.msRounds))})` : '';
    return [r.title, r.impl, `${fmtMs(w.ms!)}${range}`, r.gflops!.toFixed(2), r.vsAttnkitWasm === undefined ? '' : r.vsAttnkitWasm.toFixed(2),
      `${r.maxAbsDiff!.toExponential(1)}${r.agrees ? '' : ' ✗'}`, String(w.timesMs!.length)];
  });
  printRows(head, body);
}

/** One (case, implementation) pair in a fresh browser context. */
async function runPage(c: BrowserCase, impl: BrowserImpl): Promise<{ result: PageResult; wasmFiles: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  // every peer sizes its pool from navigator.hardwareConcurrency (attnkit's entry loads at import, jax-js always)
  await (await context.newCDPSession(page)).send('Emulation.setHardwareConcurrencyOverride', { hardwareConcurrency: threads });
  const errors: string[] = [];
  const wasm = new Set<string>();
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => { if (r.url().endsWith('.wasm')) wasm.add(path.basename(new URL(r.url()).pathname)); });
  let result: PageResult;
  try {
    await page.goto(`${server.url}${PAGES[impl]}.html?impl=${impl}&threads=${threads}`);
    await page.waitForFunction(() => 'benchReady' in globalThis);
    const failed = await page.evaluate(() => (globalThis as unknown as { benchReady: Promise<string | null> }).benchReady);
    result = failed
      ? { ok: false, error: failed.split('\n')[0]! }
      : await page.evaluate(([c, s, n]) => (globalThis as unknown as { runBench: (c: unknown, s: number, n: number) => Promise<PageResult> }).runBench(c, s, n), [c, minSeconds, minReps] as const);
  } catch (e) {
    result = { ok: false, error: `${e instanceof Error ? e.message.split('\n')[0] : String(e)}${errors.length ? ` (${errors[0]})` : ''}` };
  } finally {
    await context.close();
  }
  return { result, wasmFiles: [...wasm] };
}

const cases = browserCases(args.quick).filter((c) => !args.only || c.id.includes(args.only));
const server = await startStaticServer({
  files: await bundles(),
  mounts: {
    '/node_modules/@tensorflow/tfjs-backend-wasm/dist/': path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist'),
    '/wasm/': path.join(root, 'wasm'),
  },
});
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
console.log(`attnkit bench:browser — ${os.cpus()[0]?.model ?? 'cpu'}, ${os.availableParallelism()} cores, ${threads} threads; Chromium ${browser.version()}; ` +
  `reference: attnkit ${akNode.backendName()} in Node ${process.version}; median of ≥ ${minReps} runs and ≥ ${minSeconds} s\n`);
const rows: Row[] = [];
try {
  for (const c of cases) {
    const ref = reference(c);
    const group: Row[] = [];
    for (const impl of IMPLS) {
      const row: Row = { case: c.id, title: c.title, impl };
      group.push(row);
      if (!impls.includes(impl)) row.skipped = 'not run (--impls)';
    }
    // rounds interleave the implementations, so a busy spell of a shared machine hits them alike
    const runs = new Map<Row, { result: PageResult; wasmFiles: string[] }[]>();
    for (let round = 0; round < rounds; round++) {
      for (const row of group) {
        if (row.skipped) continue;
        if (process.stderr.isTTY) process.stderr.write(`  ${c.id} · ${row.impl}${rounds > 1 ? ` (round ${round + 1}/${rounds})` : ''} …\r`);
        const run = await runPage(c, row.impl);
        runs.set(row, [...(runs.get(row) ?? []), run]);
        if (process.stderr.isTTY) process.stderr.write(`${' '.repeat(80)}\r`);
        else process.stderr.write(`  ${c.id} · ${row.impl}${rounds > 1 ? ` (round ${round + 1}/${rounds})` : ''}: ${run.result.ok ? `${fmtMs(run.result.ms!)} ms` : run.result.error}\n`);
      }
    }
    for (const [row, results] of runs) {
      row.wasmFiles = [...new Set(results.flatMap((r) => r.wasmFiles))];
      const failed = results.find((r) => !r.result.ok);
      if (failed?.result.error?.includes(NOT_BUILT)) {
        row.skipped = `skipped: ${failed.result.error}`;
        continue;
      }
      if (failed) {
        row.result = failed.result;
        continue;
      }
      // every round's output is checked; the row reports the median round
      row.maxAbsDiff = Math.max(...results.map(({ result: r }) => (ref.losses
        ? maxAbsDiff(r.losses!, ref.losses)
        : maxAbsDiff(fromBase64(r.output!), ref.output!))));
      // float32 sums in another order: differences grow with the output's magnitude
      row.agrees = row.maxAbsDiff <= (ref.losses ? 1e-3 * Math.max(1, maxAbs(ref.losses)) : 2e-3 * Math.max(1, maxAbs(ref.output!)));
      for (const { result: r } of results) delete r.output;
      const sorted = results.map((r) => r.result).sort((a, b) => a.ms! - b.ms!);
      row.result = sorted[(sorted.length - 1) >> 1]!;
      if (rounds > 1) row.msRounds = results.map((r) => r.result.ms!);
      row.gflops = c.flops / (row.result.ms! * 1e6);
    }
    const base = group.find((r) => r.impl === 'attnkit-wasm')?.result;
    for (const r of group) if (r.result?.ok && base?.ok) r.vsAttnkitWasm = r.result.ms! / base.ms!;
    rows.push(...group);
  }
} finally {
  await browser.close();
  await server.close();
}

printTable(rows);
console.log('');
const notes = new Map<string, string>();
for (const r of rows) {
  if (!r.result?.ok || notes.has(r.impl)) continue;
  const isolated = r.result.crossOriginIsolated ? 'cross-origin isolated' : 'NOT cross-origin isolated';
  notes.set(r.impl, `${r.result.info!.note}; ${isolated}${r.wasmFiles!.length ? `; fetched ${r.wasmFiles!.join(', ')}` : ''}`);
}
for (const [impl, note] of notes) console.log(`${impl}: ${note}`);
console.log('× attnkit-wasm time: the implementation\'s median time over attnkit-wasm\'s (above 1: attnkit-wasm is faster).');
const report = {
  date: new Date().toISOString(),
  machine: { cpu: os.cpus()[0]?.model, cores: os.availableParallelism(), node: process.version, chromium: browser.version(), threads },
  minSeconds, minReps, rounds, quick: args.quick, reference: `attnkit ${akNode.backendName()} (Node)`,
  cases: cases.map(({ id, title, spec, flops }) => ({ id, title, spec, flops })),
  rows,
};
const out = args.out ?? path.join(here, '..', 'results', `browser-${report.date.replace(/[:.]/g, '-')}.json`);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(`${out}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
renameSync(`${out}.tmp`, out);
console.log(`\nJSON: ${path.relative(process.cwd(), out)}`);
// attnkit must run and every peer must agree with it; in a --quick (CI) run every peer must run too
const failed = rows.filter((r) => r.result && !r.result.ok && !r.skipped && (args.quick || r.impl.startsWith('attnkit')));
const disagree = rows.filter((r) => r.agrees === false);
for (const r of [...failed, ...disagree]) console.error(`bench:browser: ${r.case} · ${r.impl}: ${r.result?.ok ? `differs from attnkit by ${r.maxAbsDiff}` : r.result?.error}`);
if (failed.length || disagree.length) process.exitCode = 1;
