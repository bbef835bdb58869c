import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, symlinkSync } from 'node:fs';
import { request, type Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Tensor, Generator, data, models, randn, tensor, type train } from '../src/index.js';
import { nativeInfo, setNativeIsa, useBackend } from '../src/backend/native/index.js';
import { loadedWasmAddon, setWasmIsa } from '../src/backend/wasm/index.js';

/** Names of every node on the tape below `t`. */
export function tapeNames(t: Tensor, out = new Set<string>(), seen = new Set<Tensor>()): Set<string> {
  if (t.gradFn && !seen.has(t)) {
    seen.add(t);
    out.add(t.gradFn.name);
    for (const i of t.gradFn.inputs) tapeNames(i, out, seen);
  }
  return out;
}

/** Float64 standard-normal tensor that requires grad (for gradchecks). */
export function r64(shape: number[], seed: number, opts: { offset?: number; scale?: number; grad?: boolean } = {}): Tensor {
  const t = randn(shape, { rng: new Generator(seed), dtype: 'float64' });
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = d[i] * (opts.scale ?? 1) + (opts.offset ?? 0);
  if (opts.grad !== false) t.requireGrad();
  return t;
}

/** Positive float64 values in [lo, hi). */
export function pos64(shape: number[], seed: number, lo = 0.5, hi = 2): Tensor {
  const t = r64(shape, seed, { grad: false });
  const rng = new Generator(seed + 1000);
  for (let i = 0; i < t.size; i++) t.data[i] = lo + (hi - lo) * rng.uniform();
  return t.requireGrad();
}

export function i32(values: number[], shape?: number[]): Tensor {
  return tensor(Int32Array.from(values), { shape: shape ?? [values.length] });
}

/**
 * Asserts |actual − expected| ≤ atol + rtol·|expected| everywhere, reporting the worst element
 * with its index and both values. NaN matches only NaN; ±∞ only itself.
 */
export function assertAllClose(
  actual: Tensor | ArrayLike<number>, expected: Tensor | ArrayLike<number>,
  opts: { rtol?: number; atol?: number; msg?: string } = {},
): void {
  const a = actual instanceof Tensor ? actual.data : actual;
  const e = expected instanceof Tensor ? expected.data : expected;
  if (actual instanceof Tensor && expected instanceof Tensor) {
    assert.deepEqual([...actual.shape], [...expected.shape], `${opts.msg ?? ''} shape mismatch`);
  }
  assert.equal(a.length, e.length, `${opts.msg ?? ''} length ${a.length} vs expected ${e.length}`);
  const rtol = opts.rtol ?? 1e-5, atol = opts.atol ?? 1e-6;
  let worst = -Infinity, wi = -1;
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = e[i];
    if (Number.isNaN(y) || !Number.isFinite(y)) {
      if (!Object.is(x, y) && !(Number.isNaN(x) && Number.isNaN(y))) { worst = Infinity; wi = i; break; }
      continue;
    }
    const ex = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (!(ex <= worst) || Number.isNaN(ex)) { worst = Number.isNaN(ex) ? Infinity : ex; wi = i; }
  }
  if (worst > 0) {
    assert.fail(`${opts.msg ?? 'allClose'}: worst element ${wi}: got ${a[wi]}, expected ${e[wi]} (|diff| ${Math.abs(a[wi] - e[wi]).toExponential(3)}, rtol ${rtol}, atol ${atol})`);
  }
}

/** A schema with every field kind over three sources and three kinds of target (fusion-model tests). */
export const FUSION_TEST_SCHEMA = {
  fields: [
    { name: 'x1', kind: 'numeric', source: 'table', embedding: 'piecewise', bins: 4 }, { name: 'x2', kind: 'numeric', source: 'table', embedding: 'periodic', frequencies: 3 },
    { name: 'x3', kind: 'numeric', source: 'table', embedding: 'linear' },
    { name: 'cat', kind: 'categorical', source: 'table' },
    { name: 'text', kind: 'text', minCount: 1, source: 'doc' }, { name: 'kv', kind: 'keyValue', minCount: 1, source: 'doc' },
    { name: 'series', kind: 'timeSeries', patchSize: 2, source: 'signal' },
    { name: 'img', kind: 'image', height: 2, width: 2, patchSize: 1, source: 'signal' },
  ],
  targets: [{ name: 'y', task: 'binary' }, { name: 'k', task: 'multiclass' }, { name: 'r', task: 'regression' }],
};

/** `n` records for FUSION_TEST_SCHEMA (every field kind; x1 missing in record 2), reproducible from `seed`. */
export function fusionTestRecords(n: number, seed: number): Record<string, unknown>[] {
  const g = new Generator(seed);
  const words = ['good', 'bad', 'fine', 'odd'];
  return Array.from({ length: n }, (_, i) => {
    const x1 = g.normal(), x2 = g.normal();
    const w = words[g.int(0, 4)];
    return {
      x1: i === 2 ? null : x1, x2, x3: x1 - x2, cat: ['a', 'b', 'c'][g.int(0, 3)], text: `${w} day ${words[g.int(0, 4)]}`, kv: { mood: w, n: g.int(0, 3) },
      series: Array.from({ length: g.int(2, 7) }, () => g.normal()), img: [g.uniform(), g.uniform(), g.uniform(), g.uniform()],
      y: x1 + (w === 'good' ? 1 : 0) > 0.5 ? 1 : 0, k: ['p', 'q', 'r'][x2 > 0.5 ? 0 : x2 < -0.5 ? 1 : 2], r: 2 * x1 - x2,
    };
  });
}

/**
 * The fusion-model tests' shared setup: 48 records of FUSION_TEST_SCHEMA fitted and encoded, a small
 * model configuration (`base`), and `make(config, seed)` building a FusionModel of it with `config` on top.
 */
export function fusionFixture(): {
  pre: data.Preprocessor; ds: ReturnType<data.Preprocessor['encode']>['dataset']; base: Record<string, unknown>;
  make: (config: Record<string, unknown>, seed?: number) => models.FusionModel;
} {
  const recs = fusionTestRecords(48, 3) as data.DataRecord[];
  const pre = data.Preprocessor.fit(FUSION_TEST_SCHEMA as data.Schema, recs);
  const ds = pre.encode(recs).dataset;
  const base = { dim: 16, heads: 2, layers: 1, dropout: 0 };
  const make = (config: Record<string, unknown>, seed = 4): models.FusionModel =>
    new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { ...base, ...config }, new Generator(seed));
  return { pre, ds, base, make };
}

/**
 * An HTTP GET through node:http, which (unlike fetch) sends the Host header it is given — for
 * the servers' DNS-rebinding checks. `agent` keeps the connection open (keep-alive).
 */
export function httpGet(o: { host: string; port: number; path: string; headers?: Record<string, string>; agent?: Agent }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: o.host, port: o.port, path: o.path, headers: o.headers, agent: o.agent }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A compiled backend (native or wasm) as the per-backend tests drive it. */
export interface CompiledPass {
  name: 'native' | 'wasm';
  info(): { isa: string; bestIsa: string; threads: number };
  /** Caps the instruction set; returns the one now active. */
  setIsa(isa: string): string | null;
  /** Its instruction sets, portable first. */
  isas: readonly string[];
}

/**
 * The compiled backend this pass of `npm test` runs (ATTNKIT_BACKEND=native or wasm, loaded), or null on
 * the js pass: the per-backend equivalence tests run on whichever it is.
 */
export function compiledPass(): CompiledPass | null {
  const want = process.env.ATTNKIT_BACKEND;
  if (want === 'wasm') {
    const a = loadedWasmAddon();
    return a ? { name: 'wasm', info: () => a.info(), setIsa: (isa) => setWasmIsa(isa as 'generic' | 'simd128'), isas: ['generic', 'simd128'] } : null;
  }
  if (want === 'js' || nativeInfo() === null) return null;
  return { name: 'native', info: () => nativeInfo()!, setIsa: (isa) => setNativeIsa(isa as 'generic' | 'avx2' | 'avx512'), isas: ['generic', 'avx2', 'avx512'] };
}

/**
 * Runs `fn` on the pass's compiled backend once per instruction set it has here (the portable path
 * always), restoring the best; returns the sets it ran. Needs a compiled pass (check compiledPass() first).
 */
export function eachIsa(fn: (isa: string) => void): string[] {
  const pass = compiledPass()!;
  useBackend(pass.name);
  const best = pass.info().bestIsa;
  const tried: string[] = [];
  try {
    for (const isa of pass.isas) {
      if (pass.setIsa(isa) !== isa) continue;
      tried.push(isa);
      fn(isa);
    }
  } finally {
    pass.setIsa(best);
  }
  return tried;
}

/**
 * Runs `trainer` until its `epoch` checkpoint is written and stops it there, as a kill would (the
 * onCheckpoint hook throws); returns the last and best checkpoints it wrote.
 */
export function runUntilEpoch(trainer: train.Trainer, epoch: number): { last: Uint8Array; best: Uint8Array | null } {
  let last: Uint8Array | null = null, best: Uint8Array | null = null;
  const stop = new Error('killed');
  trainer.callbacks.push({
    onCheckpoint: (kind, bytes, t) => {
      if (kind === 'best') best = bytes; else last = bytes;
      if (kind === 'last' && t.epoch === epoch) throw stop;
    },
  });
  assert.throws(() => trainer.run(), (e) => e === stop);
  return { last: last!, best };
}

/**
 * A copy of the package as an install without the addon sees it, in a new temporary folder: src/,
 * package.json, node_modules (linked) and, unless `wasm` is false, wasm/ (the files `wasm` keeps, if a filter).
 * Returns the folder.
 */
export function packageCopy(prefix: string, wasm: boolean | ((file: string) => boolean) = true): string {
  const pkg = mkdtempSync(join(tmpdir(), prefix));
  cpSync('src', join(pkg, 'src'), { recursive: true });
  cpSync('package.json', join(pkg, 'package.json'));
  symlinkSync(resolve('node_modules'), join(pkg, 'node_modules'), 'dir');
  if (wasm) cpSync('wasm', join(pkg, 'wasm'), { recursive: true, filter: wasm === true ? undefined : wasm });
  return pkg;
}
