/**
 * The compiled backends (native, and wasm: the same C++ compiled to WebAssembly) per instruction set,
 * and their memory over a long training loop. Runs in the native and wasm passes of `npm test` (the js
 * pass has nothing compiled to check), on whichever the pass runs.
 */
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import {
  F, Generator, Tensor, backward, createBlockMask, mul, nn, optim, randn, randint, sum, tensor,
} from '../../src/index.js';
import { useBackend, type NativeKernelName } from '../../src/backend/native/index.js';
import { assertAllClose, compiledPass, eachIsa } from '../helpers.js';
import { backend, jsBackend, type Backend } from '../../src/backend/backend.js';
import type { AnyArray, AttnExtra, AttnMask, AttnShape, Conv2dParams, UnaryOp } from '../../src/backend/js/index.js';

const pass = compiledPass();
const nativePass = pass !== null;

/** Runs a workload of kernels (values and gradients) and returns every resulting array. */
function workload(): Float32Array[] {
  const g = new Generator(42);
  const out: Float32Array[] = [];
  const keep = (t: Tensor | null | undefined): void => { out.push(Float32Array.from(t!.data as Float32Array)); };
  // gemm: odd sizes (edge tiles), transposed operands, batched with broadcasting
  const a = randn([37, 70], { rng: g, requiresGrad: true }), b = randn([70, 53], { rng: g, requiresGrad: true });
  const bt = randn([53, 70], { rng: g });
  const ab = F.matmul(a, b);
  keep(ab);
  keep(F.matmul(a, F.transpose(bt, 0, 1)));
  keep(F.matmul(F.transpose(a, 0, 1), randn([37, 5], { rng: g })));
  const x3 = randn([3, 1, 9, 17], { rng: g }), y3 = randn([4, 17, 11], { rng: g });
  keep(F.matmul(x3, y3));
  backward(sum(mul(ab, randn([37, 53], { rng: g }))));
  keep(a.grad);
  keep(b.grad);
  // linear with its bias added in the gemm: edge tiles, two k-panels (K 300), two column blocks (N 2100);
  // then 301 rows, which the threads split by micro-panels
  keep(F.linear(randn([301, 300], { rng: g }), randn([45, 300], { rng: g }), randn([45], { rng: g })));
  const lx = randn([2, 19, 300], { rng: g, requiresGrad: true });
  const lw = randn([2100, 300], { rng: g, requiresGrad: true }), lb = randn([2100], { rng: g, requiresGrad: true });
  const lin = F.linear(lx, lw, lb);
  keep(lin);
  backward(sum(mul(lin, randn([2, 19, 2100], { rng: g }))));
  keep(lx.grad); keep(lw.grad); keep(lb.grad);
  // element-wise, reductions, softmax family, layer norm with gradients
  const e = randn([6, 33], { rng: g, requiresGrad: true });
  const w = randn([33], { rng: g, requiresGrad: true }), bias = randn([33], { rng: g, requiresGrad: true });
  const ln = F.layerNorm(F.gelu(e), [33], w, bias, 1e-5);
  const sm = F.softmax(F.mul(ln, 3), -1), lsm = F.logSoftmax(F.exp(F.tanh(e)), 0);
  const wide = randn([3, 50, 1100], { rng: g });  // column sums over several 512-column blocks
  for (const t of [ln, sm, lsm, F.sum(e, 1), F.mean(e, 0), F.sigmoid(e), F.sum(wide, 1), F.sum(wide, 0)]) keep(t);
  backward(F.add(sum(mul(sm, randn([6, 33], { rng: g }))), sum(lsm)));
  keep(e.grad); keep(w.grad); keep(bias.grad);
  // dropout by hash: the same kept elements on every backend (p = 0.1 is inexact in float32: the threshold must come from the double)
  const big = randn([64, 1000], { rng: g, requiresGrad: true });
  const dropped = F.dropout(F.gelu(big), 0.1, { training: true, rng: new Generator(11) });
  keep(dropped);
  backward(sum(mul(dropped, randn([64, 1000], { rng: g }))));
  keep(big.grad);
  // strided views and their backward scatters: narrow and stepped slices of one tensor (their
  // gradients meet on the tape), concat and pad
  const base = randn([4, 30, 9], { rng: g, requiresGrad: true });
  const parts = [F.narrow(base, 1, 3, 20), F.slice(base, 1, 1, 28, 3), F.slice(base, 2, 0, 9, 2)];
  const joined = F.concat([F.reshape(parts[0]!, [4, -1]), F.reshape(parts[1]!, [4, -1]), F.reshape(parts[2]!, [4, -1])], 1);
  const padded = F.pad(joined, [2, 3]);
  keep(padded);
  backward(sum(mul(padded, randn(padded.shape as number[], { rng: g }))));
  keep(base.grad);
  // fused cross-entropy over 1,000 classes: plain, and weighted + smoothed + an ignored row + a
  // row whose logits are −1e30 but one (the exp must underflow cleanly)
  const logits = randn([7, 1000], { rng: g, requiresGrad: true });
  const far = new Float32Array(7000);
  for (let c = 0; c < 1000; c++) if (c !== 64) far[6000 + c] = -1e30;
  const cw = F.add(F.abs(randn([1000], { rng: g })), 0.1);
  const cls = tensor([3, 999, -100, 0, 512, 7, 64], { dtype: 'int32' });
  const ce1 = F.crossEntropy(F.mul(logits, 4), F.where(F.ne(cls, -100), cls, 1), { labelSmoothing: 0.05 });
  const ce2 = F.crossEntropy(F.add(logits, new Tensor(far, [7, 1000])), cls, { weight: cw, labelSmoothing: 0.15, reduction: 'none' });
  keep(ce1); keep(ce2);
  backward(F.add(ce1, sum(mul(ce2, randn([7], { rng: g })))));
  keep(logits.grad);
  // embedding gather / scatter-add
  const table = randn([20, 7], { rng: g, requiresGrad: true });
  const ids = randint(0, 20, [5, 9], { rng: g });
  const embedded = F.embedding(ids, table);
  keep(embedded);
  backward(sum(mul(embedded, randn([5, 9, 7], { rng: g }))));
  keep(table.grad);
  // fused attention: masks, causal, dropout, grouped heads, T ≠ S; values and gradients
  const q = randn([2, 4, 13, 16], { rng: g, requiresGrad: true });
  const k = randn([2, 2, 21, 16], { rng: g, requiresGrad: true }), v = randn([2, 2, 21, 16], { rng: g, requiresGrad: true });
  const mask = tensor(Array.from({ length: 2 }, (_, bi) => [Array.from({ length: 21 }, (_, j) => j < 21 - 5 * bi)])); // [2, 1, 21]
  const att = F.scaledDotProductAttention(q, k, v, { mask: F.unsqueeze(mask, 1), causal: true, dropout: 0.2, rng: new Generator(7) });
  keep(att);
  backward(sum(mul(att, randn([2, 4, 13, 16], { rng: g }))));
  keep(q.grad); keep(k.grad); keep(v.grad);
  // the same kernels reading heads in place from a packed projection [B, T, (H + 2·Hkv)·D]
  const qkv = randn([2, 19, (4 + 2 * 2) * 16], { rng: g, requiresGrad: true });
  const packed = F.packedAttention(qkv, { numHeads: 4, numKVHeads: 2, causal: true, dropout: 0.2, rng: new Generator(8),
    mask: F.unsqueeze(F.unsqueeze(tensor([Array.from({ length: 19 }, () => true), Array.from({ length: 19 }, (_, j) => j < 15)]), 1), 1) });
  keep(packed);
  backward(sum(mul(packed, randn([2, 19, 64], { rng: g }))));
  keep(qkv.grad);
  // a relative position bias (M 6, offsets −20…20 clipped) with its table's gradient, grouped heads, T ≠ S, causal
  const rq = randn([2, 4, 21, 16], { rng: g, requiresGrad: true }), rk = randn([2, 2, 37, 16], { rng: g, requiresGrad: true });
  const rv = randn([2, 2, 37, 8], { rng: g, requiresGrad: true }), relTable = randn([4, 13], { rng: g, requiresGrad: true });
  const rel = F.scaledDotProductAttention(rq, rk, rv, { causal: true, relativeBias: { table: relTable, maxDistance: 6 } });
  keep(rel);
  backward(sum(mul(rel, randn([2, 4, 21, 8], { rng: g }))));
  keep(rq.grad); keep(rk.grad); keep(rv.grad); keep(relTable.grad);
  // convolution and pooling
  const img = randn([2, 3, 9, 9], { rng: g, requiresGrad: true }), ker = randn([4, 3, 3, 3], { rng: g, requiresGrad: true });
  const conv = F.conv2d(img, ker, null, { stride: 2, padding: 1 });
  keep(conv);
  keep(F.maxPool2d(conv, 2));
  backward(sum(mul(conv, randn(conv.shape as number[], { rng: g }))));
  keep(img.grad); keep(ker.grad);
  return out;
}

test('native kernels give the js backend\'s results on every instruction set this CPU has', { skip: !nativePass && 'compiled passes only' }, (t) => {
  useBackend('js');
  const reference = workload();
  const tried = eachIsa((isa) => {
    const got = workload();
    assert.equal(got.length, reference.length);
    got.forEach((arr, i) => assertAllClose(arr, reference[i]!, { rtol: 2e-4, atol: 2e-5, msg: `${isa}: result ${i}` }));
  });
  assert.ok(tried.includes('generic'), 'the portable path always runs');
  t.diagnostic(`${pass!.name}: checked ${tried.join(', ')} (best here: ${pass!.info().bestIsa})`);
});

/**
 * n floats ~ N(0, 1) with NaN, +∞ and −∞ at the given positions (negative counts from the end);
 * the same array for the same arguments.
 */
function special(n: number, seed: number, at: { nan?: number[]; inf?: number[]; ninf?: number[] } = {}): Float32Array {
  const g = new Generator(seed);
  const x = Float32Array.from({ length: n }, () => g.normal());
  const put = (idx: number[] | undefined, v: number): void => { for (const i of idx ?? []) x[(i + n) % n] = v; };
  put(at.nan, NaN); put(at.inf, Infinity); put(at.ninf, -Infinity);
  return x;
}
/** Row r of [rows, n] gets NaN, +∞, −∞, both infinities, only −∞ or nothing, by r mod 6. */
function specialRows(rows: number, n: number, seed: number): Float32Array {
  const x = special(rows * n, seed);
  for (let r = 0; r < rows; r++) {
    const o = r * n, j = (r * 7) % n;
    switch (r % 6) {
      case 0: x[o + j] = NaN; break;
      case 1: x[o + j] = Infinity; break;
      case 2: x[o + j] = -Infinity; x[o + (j + 3) % n] = -Infinity; break;
      case 3: x[o + j] = Infinity; x[o + (j + 1) % n] = -Infinity; break;
      case 4: x.fill(-Infinity, o, o + n); break;
      default: break;
    }
  }
  return x;
}
const UNARY_OPS: UnaryOp[] = ['exp', 'tanh', 'sigmoid', 'relu', 'geluErf', 'geluTanh', 'silu', 'neg', 'sqrt', 'rsqrt', 'log', 'square'];
const convP: Conv2dParams = { N: 2, C: 4, H: 7, W: 6, kh: 3, kw: 3, sh: 2, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, OH: 4, OW: 6, Cout: 6, groups: 2 };
const poolP = { ...convP, C: 3, kh: 2, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1, OH: 4, OW: 3 };
// attention: grouped heads, T ≠ S, 37 queries (16-query strips and a tail), 70 keys (a 64-key block and a tail)
const attS: AttnShape = { B: 2, H: 4, Hkv: 2, T: 37, S: 70, D: 8, Dv: 6 };
const attO = { scale: 0.35, causal: false, dropout: 0, seed: 5 };
/**
 * q, k, v with NaN and ±∞ in chosen rows: a query row holding NaN, keys holding ±∞ (their scores are
 * ±∞ or NaN), values with −∞ and NaN (`values`: else finite), or (`finite`) none at all. `overflow`
 * is finite too, but query 2 of (0, 1) and key 1 of (0, 0) hold 1e20 in dimension 0, so that score
 * overflows to +∞ and the query's row is NaN (dimension 0 of the other queries is 0: their scores stay small).
 */
function attInputs(kind: 'all' | 'scores' | 'finite' | 'overflow'): { q: Float32Array; k: Float32Array; v: Float32Array } {
  const { B, H, Hkv, T, S, D, Dv } = attS;
  const at = (spec: Parameters<typeof special>[2]): Parameters<typeof special>[2] => (kind === 'finite' || kind === 'overflow' ? {} : spec);
  const r = {
    q: special(B * H * T * D, 31, at({ nan: [(1 * T + 5) * D + 2], inf: [(6 * T + 20) * D] })),
    k: special(B * Hkv * S * D, 32, at({ inf: [(0 * S + 9) * D + 1], ninf: [(3 * S + 66) * D + 4] })),
    v: special(B * Hkv * S * Dv, 33, kind === 'all' ? { ninf: [(1 * S + 3) * Dv + 5], nan: [(2 * S + 40) * Dv] } : {}),
  };
  if (kind === 'overflow') {
    for (let row = 0; row < B * H * T; row++) r.q[row * D] = 0;
    r.q[(1 * T + 2) * D] = 1e20;
    r.k[1 * D] = 1e20;
  }
  return r;
}
const attMasks = (): [string, AttnMask][] => {
  const { B, T, S } = attS;
  const bool = Uint8Array.from({ length: B * T * S }, (_, i) => (i % 5 === 2 || Math.floor(i / S) % T === 11 ? 0 : 1));  // query 11 sees no key
  // NaN, +∞ and −∞ where causality hides them, and where the query sees them (NaN at query 1, key 0 of
  // batch 0; +∞ at query 3, key 2 and −∞ at query 5, key 1 of batch 1): those rows are NaN
  const add = special(B * T * S, 34, { nan: [100, S], inf: [T * S + 7, T * S + 3 * S + 2], ninf: [205, 206, T * S + 5 * S + 1] });
  return [['none', { kind: 'none' }], ['bool', { kind: 'bool', data: bool, strides: [T * S, 0, S, 1] }], ['float', { kind: 'float', data: add, strides: [T * S, 0, S, 1] }]];
};

/**
 * A block mask on attS (tiles 16 × 16: key j visible to query i when |i − j| ≤ 3, or j < 2), and float
 * masks holding NaN, +∞ and −∞ at keys it hides, in partial tiles and in skipped ones: a hidden key is −∞
 * whatever the float mask holds (the native partial tiles once added the mask after hiding: NaN rows).
 * The second mask also has NaN and +∞ at keys the queries see: those rows are NaN on every backend.
 * A relative position bias rides along (its gradient included).
 */
const attBlocks = (): { x: AttnExtra; masks: AttnMask[] } => {
  const { B, T, S } = attS;
  const bm = createBlockMask((_b, _h, i, j) => Math.abs(i - j) <= 3 || j < 2, { Lq: T, Lk: S, blockQ: 16, blockK: 16 });
  const at = (b: number, i: number, j: number): number => (b * T + i) * S + j;
  const hidden = { nan: [at(0, 0, 5), at(0, 2, 40), at(1, 36, 69)], inf: [at(1, 20, 25), at(0, 7, 16)], ninf: [at(1, 33, 28)] };
  const seen = { nan: [...hidden.nan, at(0, 10, 11)], inf: [...hidden.inf, at(1, 5, 5)], ninf: hidden.ninf };
  const masks = [hidden, seen].map((spec, n): AttnMask => ({ kind: 'float', data: special(B * T * S, 70 + n, spec), strides: [T * S, 0, S, 1] }));
  // with a relative position bias (M 4) whose table gets its gradient
  const rel = { table: special(attS.H * 9, 72), nb: 9, buckets: Int32Array.from({ length: T + S - 1 }, (_, o) => Math.min(Math.max(o - (T - 1), -4), 4) + 4), grad: true };
  return { x: { blocks: { table: bm.table, elems: bm.elems }, rel }, masks };
};

/**
 * Every kernel the native backend overrides, run on inputs holding NaN, +∞ and −∞; each returns the
 * arrays it produced. Keyed by NativeKernelName: a native kernel without an entry does not compile.
 */
const nonFinite: { [K in NativeKernelName]: (k: Backend) => AnyArray[] } = {
  gemm: (k) => {
    const a = special(13 * 9, 1, { nan: [4], inf: [30], ninf: [-1] }), b = special(9 * 17, 2, { inf: [5], ninf: [40] });
    const out1 = new Float32Array(13 * 17), out2 = special(13 * 17, 3, { nan: [7] });
    k.gemm(a, 0, b, 0, out1, 0, 13, 17, 9, false, false, false, special(17, 4, { inf: [3] }));
    k.gemm(a, 0, b, 0, out2, 0, 13, 17, 9, true, true, true);
    return [out1, out2];
  },
  gemmBatched: (k) => {
    const a = special(3 * 5 * 7, 5, { nan: [3], inf: [50] }), b = special(3 * 7 * 6, 6, { ninf: [12], inf: [100] });
    const out = new Float32Array(3 * 5 * 6);
    k.gemmBatched(a, b, out, Float64Array.from([0, 0, 0, 35, 42, 30, 70, 84, 60]), 5, 6, 7, false, false);
    return [out];
  },
  unary: (k) => UNARY_OPS.map((op) => k.unary(op, special(40, 7, { nan: [1, 20], inf: [3, 30], ninf: [5, 37] }), { a: 0, b: 0 })),
  unaryBackward: (k) => UNARY_OPS.map((op) => {
    const x = special(40, 8, { nan: [1], inf: [3, 30], ninf: [5, 37] });
    return k.unaryBackward(op, x, jsBackend.unary(op, x, { a: 0, b: 0 }), special(40, 9, { nan: [11], inf: [13], ninf: [15] }), { a: 0, b: 0 });
  }),
  stridedCopy: (k) => {
    const out = new Float32Array(4 * 5);
    k.stridedCopy(special(60, 10, { nan: [2], inf: [13], ninf: [59] }), 59, [-12, -2], [4, 5], out);
    return [out];
  },
  stridedScatter: (k) => {
    const dst = special(60, 11, { inf: [0], nan: [14] }), dst2 = Float32Array.from(dst);
    const src = special(20, 12, { nan: [1], ninf: [19] });
    k.stridedScatter(dst, 1, [12, 2], [4, 5], src, false);
    k.stridedScatter(dst2, 1, [12, 2], [4, 5], src, true);
    return [dst, dst2];
  },
  adamUpdate: (k) => {
    const w = special(50, 13, { nan: [2], inf: [4] }), g = special(50, 14, { nan: [6], inf: [8], ninf: [10] });
    const m = new Float64Array(50), v = new Float64Array(50);
    k.adamUpdate(w, g, m, v, { lr: 1e-2, b1: 0.9, b2: 0.999, c1: 0.1, c2: 0.001, eps: 1e-8, wd: 0.01, decoupled: false });
    return [w, Float32Array.from(m), Float32Array.from(v)];
  },
  dropout: (k) => [k.dropout(special(100, 15, { nan: [1, 2, 3, 4, 5], inf: [6, 7, 8], ninf: [9, 10, 11] }), 0.4, 77)],
  binary: (k) => (['add', 'sub', 'mul', 'div'] as const).map((op) => {
    const out = new Float32Array(4 * 6);
    k.binary(op, special(24, 16, { nan: [0], inf: [5, 7], ninf: [8] }), [4, 6], special(6, 17, { inf: [1], ninf: [2] }), [6], [4, 6], out);
    return out;
  }),
  // rows of 37 (vectors and a tail) and of 5; softmax and logSoftmax
  softmaxDim: (k) => [false, true].flatMap((log) => [k.softmaxDim(specialRows(12, 37, 18), 12, 37, 1, log), k.softmaxDim(specialRows(12, 5, 19), 12, 5, 1, log)]),
  softmaxBackwardDim: (k) => [false, true].map((log) => {
    const y = jsBackend.softmaxDim(specialRows(12, 37, 20), 12, 37, 1, log);
    return k.softmaxBackwardDim(y, special(12 * 37, 21, { nan: [40], inf: [150], ninf: [300] }), 12, 37, 1, log);
  }),
  crossEntropyForward: (k) => {
    const x = specialRows(12, 37, 22), t = Int32Array.from({ length: 12 }, (_, r) => (r === 5 ? -100 : (r * 7 + 3 * (r % 2)) % 37));
    return [0, 0.1].flatMap((eps) => { const r = k.crossEntropyForward(x, 12, 37, t, eps > 0 ? special(37, 23) : null, { eps, ignoreIndex: -100 }); return [r.loss, r.lse]; });
  },
  crossEntropyBackward: (k) => {
    const x = specialRows(12, 37, 24), t = Int32Array.from({ length: 12 }, (_, r) => (r * 7 + 3 * (r % 2)) % 37);
    return [0, 0.1].map((eps) => {
      const p = { eps, ignoreIndex: -100 }, w = eps > 0 ? special(37, 25) : null;
      const { lse } = jsBackend.crossEntropyForward(x, 12, 37, t, w, p);
      return k.crossEntropyBackward(x, lse, special(12, 26, { nan: [11] }), 12, 37, t, w, p);
    });
  },
  // a NaN input row, a −∞ bias (a class never predicted), an ignored row, smoothing; unit and given row weights
  linearCrossEntropy: (k) => {
    const x = special(12 * 9, 51, { nan: [20] }), w = special(37 * 9, 52), b = special(37, 53, { ninf: [4] });
    const t = Int32Array.from({ length: 12 }, (_, r) => (r === 7 ? -100 : (r * 5 + 1) % 37));
    return [null, special(12, 54)].flatMap((g) => [0, 0.1].flatMap((eps) => {
      const r = k.linearCrossEntropy(x, w, b, 12, 9, 37, t, g, { eps, ignoreIndex: -100 }, true, true);
      return [r.loss, r.lse, r.gx!, r.gw!, r.gb!];
    }));
  },
  sumDim: (k) => [k.sumDim(specialRows(12, 37, 27), 12, 37, 1), k.sumDim(specialRows(12, 37, 27), 3, 4, 37)],
  layerNormForward: (k) => {
    const r = k.layerNormForward(specialRows(12, 37, 28), special(37, 29, { inf: [36] }), special(37, 30, { nan: [35] }), 12, 37, 1e-5);
    return [r.y, r.mean, r.rstd];
  },
  layerNormBackward: (k) => {
    const x = specialRows(12, 37, 35), w = special(37, 36, { ninf: [2] });
    const { mean, rstd } = jsBackend.layerNormForward(x, w, null, 12, 37, 1e-5);
    const r = k.layerNormBackward(x, w, mean, rstd, special(12 * 37, 37, { nan: [300], inf: [301] }), 12, 37);
    return [r.gx, r.gw, r.gb];
  },
  indexSelect: (k) => {
    const out = new Float32Array(2 * 4 * 3);
    k.indexSelect(special(2 * 5 * 3, 38, { nan: [4], inf: [20], ninf: [29] }), 2, 5, 3, Int32Array.from([1, 4, 1, 0]), out);
    return [out];
  },
  indexAdd: (k) => {
    const dx = special(2 * 5 * 3, 39, { inf: [3] });
    k.indexAdd(special(2 * 4 * 3, 40, { nan: [4], inf: [5], ninf: [8] }), 2, 5, 3, Int32Array.from([1, 4, 1, 0]), dx);
    return [dx];
  },
  conv2dForward: (k) => [k.conv2dForward(special(2 * 4 * 7 * 6, 41, { nan: [10], inf: [100], ninf: [250, 330] }), special(6 * 2 * 9, 42, { inf: [7] }), convP)],
  conv2dBackward: (k) => {
    const r = k.conv2dBackward(special(2 * 4 * 7 * 6, 43, { nan: [10], inf: [100] }), special(6 * 2 * 9, 44, { ninf: [8] }),
      special(2 * 6 * 4 * 6, 45, { inf: [3], nan: [200] }), convP, true, true);
    return [r.gx!, r.gw!];
  },
  maxPool2dForward: (k) => {
    const r = k.maxPool2dForward(special(2 * 3 * 7 * 6, 46, { nan: [0, 50, 51], inf: [100], ninf: [150, 151, 152, 153, 156, 157, 158, 159] }), poolP);
    return [r.y, r.indices];
  },
  maxPool2dBackward: (k) => {
    const { indices } = jsBackend.maxPool2dForward(special(2 * 3 * 7 * 6, 47, { nan: [50] }), poolP);
    return [k.maxPool2dBackward(special(2 * 3 * 4 * 3, 48, { nan: [3], inf: [4], ninf: [5] }), indices, poolP, 2 * 3 * 7 * 6)];
  },
  avgPool2dForward: (k) => [true, false].map((cip) => k.avgPool2dForward(special(2 * 3 * 7 * 6, 49, { nan: [0], inf: [100, 101], ninf: [101, 200] }), poolP, cip)),
  avgPool2dBackward: (k) => [true, false].map((cip) => k.avgPool2dBackward(special(2 * 3 * 4 * 3, 50, { nan: [3], inf: [4], ninf: [5] }), poolP, cip, 2 * 3 * 7 * 6)),
  // non-finite values go to the js kernel; non-finite q, k and float masks reach the native ones
  attentionForward: (k) => [attInputs('all'), attInputs('scores'), attInputs('overflow')].flatMap(({ q, k: kk, v }) => attMasks().flatMap(([, m]) =>
    [0, 0.3].flatMap((dropout) => [false, true].flatMap((causal) => {
      const r = k.attentionForward(q, kk, v, attS, { ...attO, causal, dropout }, m);
      return [r.out, r.lse];
    })))).concat([attInputs('finite'), attInputs('overflow')].flatMap(({ q, k: kk, v }) => {
    const { x, masks } = attBlocks();  // a block mask, and float masks holding NaN and ±∞ where it hides keys
    return masks.flatMap((m) => [0, 0.3].flatMap((dropout) => [false, true].flatMap((causal) => {
      const r = k.attentionForward(q, kk, v, attS, { ...attO, causal, dropout }, m, undefined, x);
      return [r.out, r.lse];
    })));
  })),
  attentionBackward: (k) => {
    const n = attS.B * attS.H * attS.T * attS.Dv;
    // non-finite operands go to the js kernel; the float mask's NaN and ±∞ and the overflowing score (with
    // each mask: NaN rows under a bool mask and causality) reach the native ones
    return [[attInputs('all'), special(n, 35, { nan: [(3 * attS.T + 2) * attS.Dv] })], [attInputs('finite'), special(n, 36)],
      [attInputs('overflow'), special(n, 37)]].flatMap(([qkv, dout]) => {
      const { q, k: kk, v } = qkv as ReturnType<typeof attInputs>;
      return attMasks().flatMap(([, m]) => [0, 0.3].flatMap((dropout) => [false, true].flatMap((causal) => {
        const o = { ...attO, causal, dropout };
        const f = jsBackend.attentionForward(q, kk, v, attS, o, m);
        const g = k.attentionBackward(q, kk, v, f.out, f.lse, dout as Float32Array, attS, o, m, null);
        return [g.dq, g.dk, g.dv];
      })));
    }).concat(([['finite', 36], ['overflow', 37]] as const).flatMap(([kind, seed]) => {
      const { q, k: kk, v } = attInputs(kind), { x, masks } = attBlocks();
      return masks.flatMap((m) => [0, 0.3].flatMap((dropout) => [false, true].flatMap((causal) => {
        const o = { ...attO, causal, dropout };
        const f = jsBackend.attentionForward(q, kk, v, attS, o, m, undefined, x);
        const g = k.attentionBackward(q, kk, v, f.out, f.lse, special(n, seed), attS, o, m, null, undefined, x);
        return [g.dq, g.dk, g.dv, g.dRel!];
      })));
    }));
  },
};

test('every native kernel gives the js kernel\'s NaN, +∞ and −∞ (and values) on every instruction set', { skip: !nativePass && 'compiled passes only' }, (t) => {
  useBackend(pass!.name);
  const overridden = Object.keys(jsBackend).filter((n) => n !== 'name' && backend()[n as keyof Backend] !== jsBackend[n as keyof Backend]);
  assert.deepEqual(Object.keys(nonFinite).sort(), overridden.sort(), 'a non-finite case for every native kernel, and none for a js-only one');
  const cases = Object.entries(nonFinite) as [NativeKernelName, (k: Backend) => AnyArray[]][];
  const reference = new Map(cases.map(([n, f]) => [n, f(jsBackend)]));
  for (const [n, arrs] of reference) {
    const all = arrs.flatMap((a) => Array.from(a));
    assert.ok(all.some(Number.isNaN) || all.some((x) => !Number.isFinite(x)) || n === 'maxPool2dBackward', `${n}: the case yields no non-finite result`);
  }
  const failures: string[] = [];
  const tried = eachIsa((isa) => {
    for (const [n, f] of cases) {
      const got = f(backend());
      got.forEach((arr, i) => {
        try {
          assertAllClose(arr, reference.get(n)![i]!, { rtol: 2e-4, atol: 2e-5, msg: `${isa}: ${n} result ${i}` });
        } catch (e) { failures.push((e as Error).message); }
      });
    }
  });
  assert.deepEqual(failures, [], `${failures.length} mismatches`);
  assert.ok(tried.includes('generic'), 'the portable path always runs');
  t.diagnostic(`checked: ${tried.join(', ')}`);
});

test('the AVX-512 fused attention (16-lane micro-kernels) equals the AVX2 one bit for bit, forward and backward', { skip: (!nativePass || pass?.name !== 'native') && 'native pass only' }, (t) => {
  useBackend(pass!.name);
  const seen = new Set<string>();
  const runs = new Map<string, (Float32Array | Float64Array)[]>();
  // T, S and D off the 16-lane and 12-row grid; causal with dropout; GQA
  const shapes = [{ B: 1, H: 2, Hkv: 2, T: 37, S: 70, D: 20, Dv: 13 }, { B: 2, H: 4, Hkv: 2, T: 130, S: 100, D: 64, Dv: 64 }];
  eachIsa((isa) => {
    if (isa === 'generic') return;
    seen.add(isa);
    const outs: (Float32Array | Float64Array)[] = [];
    for (const s of shapes) {
      const q = special(s.B * s.H * s.T * s.D, 71), k = special(s.B * s.Hkv * s.S * s.D, 72), v = special(s.B * s.Hkv * s.S * s.Dv, 73);
      const dout = special(s.B * s.H * s.T * s.Dv, 74);
      for (const o of [attO, { ...attO, causal: true, dropout: 0.2 }]) {
        const none: AttnMask = { kind: 'none' };
        const f = backend().attentionForward(q, k, v, s, o, none);
        const g = backend().attentionBackward(q, k, v, f.out, f.lse, dout, s, o, none, null);
        outs.push(f.out, f.lse, g.dq, g.dk, g.dv);
      }
    }
    runs.set(isa, outs);
  });
  if (!seen.has('avx512')) return t.skip('no AVX-512 on this CPU');
  const [a, b] = [runs.get('avx2')!, runs.get('avx512')!];
  a.forEach((x, i) => assert.deepEqual(Buffer.from(b[i]!.buffer, b[i]!.byteOffset, b[i]!.byteLength), Buffer.from(x.buffer, x.byteOffset, x.byteLength), `result ${i}`));
  t.diagnostic(`${a.length} arrays bitwise equal`);
});

test('a causal row made NaN by the mask makes dV NaN at every key, keys the causal tile skip never visits too', { skip: !nativePass && 'compiled passes only' }, (t) => {
  // finite q, k, v and dout (so the native kernels run); the float mask's NaN at query 1, key 0 makes
  // that row's weights NaN for every key (softmax of a row holding NaN), so dV = Pᵀ·dO is NaN for all
  // keys. T 37, S 70: AVX2 skips key block 64.. for query tile 0..63; T 400, S 530: the portable path
  // skips key tile 512.. for query tile 0..383.
  for (const s of [{ B: 1, H: 2, Hkv: 1, T: 37, S: 70, D: 4, Dv: 3 }, { B: 1, H: 2, Hkv: 1, T: 400, S: 530, D: 4, Dv: 3 }]) {
    const q = special(s.B * s.H * s.T * s.D, 61), k = special(s.B * s.Hkv * s.S * s.D, 62), v = special(s.B * s.Hkv * s.S * s.Dv, 63);
    const dout = special(s.B * s.H * s.T * s.Dv, 64), add = special(s.T * s.S, 65, { nan: [s.S] });
    const m: AttnMask = { kind: 'float', data: add, strides: [0, 0, s.S, 1] };
    for (const dropout of [0, 0.3]) {
      const o = { ...attO, causal: true, dropout };
      const f = jsBackend.attentionForward(q, k, v, s, o, m);
      const ref = jsBackend.attentionBackward(q, k, v, f.out, f.lse, dout, s, o, m, null);
      assert.ok(Array.from(ref.dv).every(Number.isNaN), 'js: dV is NaN at every key');
      const tried = eachIsa((isa) => {
        const nf = backend().attentionForward(q, k, v, s, o, m);
        assertAllClose(nf.out, f.out, { rtol: 2e-4, atol: 2e-5, msg: `${isa} T${s.T} out` });
        assertAllClose(nf.lse, f.lse, { rtol: 2e-4, atol: 2e-5, msg: `${isa} T${s.T} lse` });
        const g = backend().attentionBackward(q, k, v, f.out, f.lse, dout, s, o, m, null);
        assert.ok(Number.isNaN(g.dv[(s.S - 1) * s.Dv]), `${isa} T${s.T} p=${dropout}: dV of the last key is NaN`);
        for (const [n, a, b] of [['dq', g.dq, ref.dq], ['dk', g.dk, ref.dk], ['dv', g.dv, ref.dv]] as const) {
          assertAllClose(a, b, { rtol: 2e-4, atol: 2e-5, msg: `${isa} T${s.T} p=${dropout} ${n}` });
        }
      });
      t.diagnostic(`T${s.T} S${s.S} p=${dropout}: ${tried.join(', ')}`);
    }
  }
});

test('the native Adam/AdamW update gives the js kernel\'s weights and moments bit for bit', { skip: !nativePass && 'compiled passes only' }, () => {
  const g = new Generator(3);
  const n = 10_007;  // more than one thread's share, not a multiple of anything
  for (const decoupled of [true, false]) {
    const w0 = randn([n], { rng: g }).data as Float32Array;
    const [wJs, wNat] = [Float32Array.from(w0), Float32Array.from(w0)];
    const [mJs, vJs, mNat, vNat] = [0, 1, 2, 3].map(() => new Float64Array(n));
    for (let step = 1; step <= 3; step++) {
      const grad = randn([n], { rng: g }).data as Float32Array;
      const p = { lr: 1e-3, b1: 0.9, b2: 0.999, c1: 1 - 0.9 ** step, c2: 1 - 0.999 ** step, eps: 1e-8, wd: 0.05, decoupled };
      useBackend('js');
      backend().adamUpdate(wJs, grad, mJs!, vJs!, p);
      useBackend(pass!.name);
      backend().adamUpdate(wNat, grad, mNat!, vNat!, p);
    }
    assert.notDeepEqual(wNat, w0, 'the update moved the weights');
    assert.deepEqual(wNat, wJs, `weights (decoupled ${decoupled})`);
    assert.deepEqual(mNat, mJs, 'first moments');
    assert.deepEqual(vNat, vJs, 'second moments');
  }
});

test('no memory growth over a 10,000-step training loop (resident set measured)', { skip: !nativePass && 'compiled passes only' }, (t) => {
  const g = new Generator(3);
  const emb = new nn.Embedding(50, 32, { rng: g });
  const layer = new nn.TransformerEncoderLayer({ dModel: 32, nhead: 4, dimFeedforward: 64, dropout: 0.1, rng: g });
  const head = new nn.Linear(32, 50, { rng: g });
  const params = [...emb.parameters(), ...layer.parameters(), ...head.parameters()];
  const opt = new optim.AdamW(params, { lr: 1e-3 });
  const ids = randint(0, 50, [4, 12], { rng: g });
  const targets = F.reshape(randint(0, 50, [4, 12], { rng: g }), [48]);
  const step = (): number => {
    opt.zeroGrad();
    const loss = F.crossEntropy(F.reshape(head.forward(layer.forward(emb.forward(ids)).output), [48, 50]), targets);
    backward(loss);
    opt.step();
    return loss.item();
  };
  let first = 0, last = 0;
  for (let i = 0; i < 1000; i++) first = step();     // warm up: JIT, pools, V8 heap growth
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < 9000; i++) last = step();
  const grownMB = (process.memoryUsage().rss - rss0) / 2 ** 20;
  t.diagnostic(`loss ${first.toFixed(3)} → ${last.toFixed(3)}; resident set grew ${grownMB.toFixed(1)} MB over the last 9,000 steps`);
  assert.ok(last < first, 'the loop trains');
  // one step allocates ≈ 0.5 MB of tensors: a per-step leak would show as gigabytes
  assert.ok(grownMB < 64, `resident set grew ${grownMB.toFixed(1)} MB over 9,000 steps`);
});

test('the native addon keeps freed memory for reuse (glibc), so new outputs stop faulting in fresh pages; ATTNKIT_MALLOC=system opts out', { skip: (!nativePass || pass?.name !== 'native' || !(process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime) && 'native pass on glibc only' }, (t) => {
  // a child process per setting: 60 products of [512, 512]·[512, 2048], each into a new 4 MB Float32Array,
  // counting the minor page faults after 5 warm-up products (without reuse each new array faults in fresh pages)
  const addon = fileURLToPath(new URL('../../build/Release/attnkit_native.node', import.meta.url));
  const script = `const a = require(${JSON.stringify(addon)});
const n = 512, A = new Float32Array(n * n).fill(1), B = new Float32Array(n * n * 4).fill(1);
const run = () => { const out = new Float32Array(n * n * 4); a.gemm(A, 0, B, 0, out, 0, n, n * 4, n, false, false, false, null); return out; };
for (let i = 0; i < 5; i++) run();
const f0 = process.resourceUsage().minorPageFault;
for (let i = 0; i < 60; i++) run();
console.log(JSON.stringify({ malloc: a.info().malloc, faults: process.resourceUsage().minorPageFault - f0 }));`;
  const child = (env: Record<string, string>): { malloc: string; faults: number } => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MALLOC_.*_|GLIBC_TUNABLES|ATTNKIT_MALLOC)$/.test(k)));
    return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...clean, ...env }, encoding: 'utf8' })) as { malloc: string; faults: number };
  };
  const retain = child({}), system = child({ ATTNKIT_MALLOC: 'system' }), tunable = child({ MALLOC_TOP_PAD_: '0' });
  t.diagnostic(`minor page faults over 60 products: retain ${retain.faults}, system ${system.faults} (4 MB outputs: 1,024 pages each)`);
  assert.equal(retain.malloc, 'retain');
  assert.equal(system.malloc, 'system');
  assert.equal(tunable.malloc, 'system', "the user's own glibc setting wins");
  assert.ok(retain.faults * 2 < system.faults, `retain ${retain.faults} faults, system ${system.faults}`);
});
