/**
 * Every fused kernel equals its composite (values and gradients), on whichever backend is active:
 * attention against the unfused softmax(q·kᵀ·scale + mask)·v, layerNorm against mean/variance/rsqrt.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Generator, Tensor, backward, full, randn, tensor, zeros } from '../../src/index.js';
import { assertAllClose, eachIsa } from '../helpers.js';
import { backendName } from '../../src/backend/native/index.js';

const rnd = (shape: number[], seed: number, scale = 1): Tensor => F.mul(randn(shape, { rng: new Generator(seed) }), scale).requireGrad();
const leaf = (t: Tensor): Tensor => new Tensor(Float32Array.from(t.data), t.shape).requireGrad();

interface Case { label: string; q: number[]; k: number[]; v: number[]; opts: (g: Generator) => F.SdpaOptions }
const keyPad = tensor([[[[true, true, true, false, false, true, true]]], [[[true, true, true, true, true, true, false]]]]); // [2,1,1,7]
const cases: Case[] = [
  { label: 'plain', q: [2, 3, 5, 8], k: [2, 3, 7, 8], v: [2, 3, 7, 6], opts: () => ({}) },
  { label: 'causal, T = S', q: [2, 2, 7, 8], k: [2, 2, 7, 8], v: [2, 2, 7, 8], opts: () => ({ causal: true }) },
  { label: 'causal, T < S', q: [1, 2, 4, 8], k: [1, 2, 9, 8], v: [1, 2, 9, 8], opts: () => ({ causal: true }) },
  { label: 'key padding mask + causal', q: [2, 2, 7, 4], k: [2, 2, 7, 4], v: [2, 2, 7, 4], opts: () => ({ mask: keyPad, causal: true }) },
  { label: 'grouped-query H 6 / Hkv 2', q: [1, 6, 5, 4], k: [1, 2, 7, 4], v: [1, 2, 7, 4], opts: () => ({ causal: true }) },
  { label: 'additive float mask (with gradient)', q: [2, 2, 5, 4], k: [2, 2, 7, 4], v: [2, 2, 7, 4], opts: () => ({ mask: floatMask }) },
  { label: 'dropout 0.25', q: [2, 2, 5, 4], k: [2, 2, 6, 4], v: [2, 2, 6, 4], opts: (g) => ({ dropout: 0.25, rng: g }) },
  // a different mask for every query (a fully masked row included), broadcast over heads
  { label: 'per-query boolean mask', q: [2, 2, 5, 8], k: [2, 2, 7, 8], v: [2, 2, 7, 8], opts: () => ({ mask: queryMask }) },
  // D 64 and Dv 40 (not multiples of the kernels' 6 rows), 37 queries (16-query strips and a tail), 131 keys (a 128-key block and a tail)
  { label: 'head dims 64/40, ragged lengths, key padding', q: [2, 3, 37, 64], k: [2, 3, 131, 64], v: [2, 3, 131, 40],
    opts: () => ({ mask: tensor(Array.from({ length: 2 }, (_, b) => [[Array.from({ length: 131 }, (_, j) => b === 0 || j % 9 !== 4)]])) }) },
  { label: 'long keys (crosses a 256-key tile)', q: [1, 2, 70, 16], k: [1, 2, 300, 16], v: [1, 2, 300, 16], opts: () => ({ causal: false }) },
  // the native forward's query tiles hold up to 384 rows: cross several, with causal, dropout and grouped heads
  { label: 'long queries and keys (several query and key tiles), causal, dropout, GQA', q: [1, 4, 900, 8], k: [1, 2, 900, 8], v: [1, 2, 900, 8],
    opts: (g) => ({ causal: true, dropout: 0.1, rng: g }) },
];
const floatMask = rnd([2, 1, 5, 7], 99, 2);
const queryMask = tensor(Array.from({ length: 2 }, (_, b) => [Array.from({ length: 5 }, (_, i) => Array.from({ length: 7 }, (_, j) => !(b === 1 && i === 2) && (i + j + b) % 3 !== 0))]));

for (const c of cases) {
  test(`fused attention equals the composite: ${c.label}`, () => {
    const q = rnd(c.q, 1), k = rnd(c.k, 2), v = rnd(c.v, 3);
    const [q2, k2, v2] = [leaf(q), leaf(k), leaf(v)];
    const m2 = c.label.startsWith('additive') ? leaf(floatMask) : null;
    const fusedOpts = c.opts(new Generator(7));
    const compOpts = c.opts(new Generator(7));
    if (m2) { fusedOpts.mask = floatMask; compOpts.mask = m2; }
    floatMask.grad = null;
    const fused = F.scaledDotProductAttention(q, k, v, { ...fusedOpts, returnWeights: false });
    const { output } = F.scaledDotProductAttention(q2, k2, v2, { ...compOpts, returnWeights: true });
    assertAllClose(fused, output, { rtol: 1e-4, atol: 1e-5, msg: 'forward' });
    const u = randn(fused.shape, { rng: new Generator(11) });
    backward(fused, u);
    backward(output, u);
    for (const [a, b, n] of [[q, q2, 'q'], [k, k2, 'k'], [v, v2, 'v']] as const) assertAllClose(a.grad!, b.grad!, { rtol: 1e-3, atol: 1e-4, msg: `grad ${n}` });
    if (m2) assertAllClose(floatMask.grad!, m2.grad!, { rtol: 1e-3, atol: 1e-4, msg: 'grad mask' });
  });
}

/** The packed projection split into heads, attended by the composite path, and merged back. */
function unpackedAttention(qkv: Tensor, H: number, Hkv: number, opts: F.SdpaOptions): Tensor {
  const [B, T, W] = qkv.shape as [number, number, number];
  const D = W / (H + 2 * Hkv);
  const [q, k, v] = F.split(qkv, [H * D, Hkv * D, Hkv * D], -1).map((t, i) => F.transpose(F.reshape(t, [B, T, i === 0 ? H : Hkv, D]), 1, 2));
  const { output } = F.scaledDotProductAttention(q!, k!, v!, { ...opts, returnWeights: true });
  return F.reshape(F.transpose(output, 1, 2), [B, T, H * D]);
}

const packedCases: { label: string; shape: number[]; H: number; Hkv: number; opts: (g: Generator) => F.SdpaOptions }[] = [
  { label: 'H 4, D 16, 37 positions', shape: [2, 37, 4 * 3 * 16], H: 4, Hkv: 4, opts: () => ({}) },
  { label: 'grouped-query H 6 / Hkv 2, causal, 70 positions', shape: [1, 70, (6 + 4) * 8], H: 6, Hkv: 2, opts: () => ({ causal: true }) },
  { label: 'D 64, 131 positions, key padding, dropout', shape: [2, 131, 2 * 3 * 64], H: 2, Hkv: 2,
    opts: (g) => ({ mask: tensor(Array.from({ length: 2 }, (_, b) => [[Array.from({ length: 131 }, (_, j) => b === 0 || j % 7 !== 3)]])), dropout: 0.2, rng: g }) },
  { label: 'additive float mask (with gradient)', shape: [2, 5, 2 * 3 * 4], H: 2, Hkv: 2, opts: () => ({ mask: packedMask }) },
];
const packedMask = rnd([2, 1, 5, 5], 98, 2);

test('fused attention with one tensor as q, k and v: its gradient sums the three', () => {
  const x = rnd([2, 3, 9, 8], 5), x2 = leaf(x);
  const fused = F.scaledDotProductAttention(x, x, x, { causal: true });
  const { output } = F.scaledDotProductAttention(x2, x2, x2, { causal: true, returnWeights: true });
  assertAllClose(fused, output, { rtol: 1e-4, atol: 1e-5, msg: 'forward' });
  const u = randn(fused.shape, { rng: new Generator(12) });
  backward(fused, u);
  backward(output, u);
  assertAllClose(x.grad!, x2.grad!, { rtol: 1e-3, atol: 1e-4, msg: 'grad' });
});

for (const c of packedCases) {
  test(`packed self-attention equals split + attention + merge: ${c.label}`, () => {
    const x = rnd(c.shape, 1), x2 = leaf(x);
    const m2 = c.label.startsWith('additive') ? leaf(packedMask) : null;
    const fusedOpts = c.opts(new Generator(7)), compOpts = c.opts(new Generator(7));
    if (m2) compOpts.mask = m2;
    packedMask.grad = null;
    const fused = F.packedAttention(x, { ...fusedOpts, numHeads: c.H, numKVHeads: c.Hkv });
    const composite = unpackedAttention(x2, c.H, c.Hkv, compOpts);
    assert.deepEqual(fused.shape, composite.shape);
    assertAllClose(fused, composite, { rtol: 1e-4, atol: 1e-5, msg: 'forward' });
    const u = randn(fused.shape, { rng: new Generator(11) });
    backward(fused, u);
    backward(composite, u);
    assertAllClose(x.grad!, x2.grad!, { rtol: 1e-3, atol: 1e-4, msg: 'grad qkv' });
    if (m2) assertAllClose(packedMask.grad!, m2.grad!, { rtol: 1e-3, atol: 1e-4, msg: 'grad mask' });
  });
}

test('attention properties: causal outputs ignore future tokens; fully masked rows are zero; weights are returned', () => {
  const q = rnd([1, 2, 6, 4], 1), k = rnd([1, 2, 6, 4], 2), v = rnd([1, 2, 6, 4], 3);
  const out = F.scaledDotProductAttention(q, k, v, { causal: true });
  const v2 = new Tensor(Float32Array.from(v.data), v.shape);
  for (let h = 0; h < 2; h++) for (let d = 0; d < 4; d++) v2.data[((h * 6) + 5) * 4 + d] += 100; // change the last token only
  const out2 = F.scaledDotProductAttention(q, k, v2, { causal: true });
  assertAllClose(F.narrow(out2, 2, 0, 5), F.narrow(out, 2, 0, 5), { msg: 'earlier rows must not see the last token' });
  assert.ok(Math.abs(out2.data[5 * 4] - out.data[5 * 4]) > 1, 'the last row does see it');
  const none = tensor([[[[false, false, false, false, false, false]]]]);
  const z = F.scaledDotProductAttention(q, k, v, { mask: none });
  assert.ok(Array.from(z.data).every((x) => x === 0));
  const { weights } = F.scaledDotProductAttention(q, k, v, { causal: true, returnWeights: true });
  assertAllClose(F.sum(weights, -1), full([1, 2, 6], 1), { msg: 'rows sum to 1' });
  const huge = F.scaledDotProductAttention(q, k, v, { scale: 1e4 });
  assert.ok(Array.from(huge.data).every(Number.isFinite), 'logits of ±1e4 stay finite');
  assert.equal(weights.data[1], 0, 'future weight is zero');
});

test('attention rejects bad input with typed errors naming the argument and shapes', () => {
  const q = zeros([1, 4, 3, 8]);
  assert.throws(() => F.scaledDotProductAttention(q, zeros([1, 4, 3, 6]), zeros([1, 4, 3, 8])), /k has head dim 6/);
  assert.throws(() => F.scaledDotProductAttention(q, zeros([1, 3, 3, 8]), zeros([1, 3, 3, 8])), /key\/value heads \(3\) must divide query heads \(4\)/);
  assert.throws(() => F.scaledDotProductAttention(q, q, q, { mask: zeros([1, 1, 1, 5]) }), /does not broadcast to \[B, H, T, S\] = \[1,4,3,3\]/);
  assert.throws(() => F.scaledDotProductAttention(q, q, q, { mask: tensor([1], { dtype: 'int32' }) }), /mask must be bool/);
  assert.throws(() => F.scaledDotProductAttention(q, q, q, { dropout: 0.1, rng: 1 as never }), /options.rng must be a Generator/);
  assert.throws(() => F.scaledDotProductAttention(zeros([4, 3, 8]), q, q), /must be \[B, H, T, D\]/);
  const qkv = zeros([2, 3, 24]);
  assert.throws(() => F.packedAttention(qkv, { numHeads: 5 }), /packedAttention: qkv must be \[B, T, \(H \+ 2·Hkv\)·D\] = \[B, T, 15·D\], got \[2,3,24\]/);
  assert.throws(() => F.packedAttention(qkv, { numHeads: 4, numKVHeads: 3 }), /packedAttention: numKVHeads \(3\) must be a positive integer dividing numHeads \(4\)/);
  assert.throws(() => F.packedAttention(qkv, { numHeads: 0 }), /numHeads must be a positive integer, got 0/);
  assert.throws(() => F.packedAttention(qkv, { numHeads: 2, mask: zeros([1, 1, 1, 4]) }), /packedAttention: mask has shape \[1,1,1,4\]/);
});

/** A copy of x with the given flat positions set to values. */
const put = (x: Tensor, at: [number, number][]): Tensor => {
  const d = Float32Array.from(x.data as Float32Array);
  for (const [i, val] of at) d[i] = val;
  return new Tensor(d, x.shape);
};
// q [2, 2, 5, 4], k/v [2, 2, 7, 4]: query (0, 0, 1) holds NaN and (1, 1, 3) +∞; key (0, 1, 2) holds +∞ and
// (1, 0, 6) −∞ (their scores are ±∞ or NaN); value (0, 0, 0) −∞ and (1, 1, 4) NaN, keys every query sees
const nfQ = put(rnd([2, 2, 5, 4], 21), [[(0 * 5 + 1) * 4 + 2, NaN], [(3 * 5 + 3) * 4, Infinity]]);
const nfK = put(rnd([2, 2, 7, 4], 22), [[(1 * 7 + 2) * 4 + 1, Infinity], [(2 * 7 + 6) * 4 + 3, -Infinity]]);
const nfV = put(rnd([2, 2, 7, 4], 23), [[0, -Infinity], [(3 * 7 + 4) * 4 + 2, NaN]]);
/** [1, 1, T, S] float mask, N(0, 1) but for the given (query, key) entries. */
const maskWith = (T: number, S: number, at: [number, number, number][]): Tensor =>
  put(rnd([1, 1, T, S], 25), at.map(([i, j, x]) => [i * S + j, x] as [number, number]));
// finite q [1, 2, 37, 4], k/v [1, 2, 70, 4]; overflowing: query 2 of head 1 and key 1 of head 1 hold 1e20 in
// dimension 0 (that score is +∞, the row NaN), dimension 0 of every other query is 0 (its scores stay small)
const fq = rnd([1, 2, 37, 4], 26), fk = rnd([1, 2, 70, 4], 27);
const ovQ = put(fq, [...Array.from({ length: 2 * 37 }, (_, r) => [r * 4, 0] as [number, number]), [(37 + 2) * 4, 1e20]]);
const ovK = put(fk, [[(70 + 1) * 4, 1e20]]);
const nfCases: { label: string; opts: F.SdpaOptions; q?: Tensor; k?: Tensor; v?: Tensor }[] = [
  { label: 'no mask', opts: {} },
  { label: 'no mask, non-finite values', opts: {}, v: nfV },
  { label: 'causal', opts: { causal: true } },
  // key 2 of batch 0 (its +∞ key included) hidden from every query; query 4 of (1, 1) sees nothing, which
  // gives zeros and no gradient on both paths, also where that row would meet a NaN or ±∞
  { label: 'bool mask, a fully masked row', opts: { mask: tensor(Array.from({ length: 2 }, (_, b) => Array.from({ length: 2 }, (_, h) =>
    Array.from({ length: 5 }, (_, i) => Array.from({ length: 7 }, (_, j) => !(b === 0 && j === 2) && !(b === 1 && h === 1 && i === 4)))))) } },
  // the composite's 0-weights times the NaN and −∞ values made that row NaN (the fused kernel gave zeros)
  { label: 'bool mask, a fully masked row, NaN and −∞ values', v: nfV, opts: { mask: tensor(Array.from({ length: 2 }, (_, b) => Array.from({ length: 2 }, (_, h) =>
    Array.from({ length: 5 }, (_, i) => Array.from({ length: 7 }, () => !(b === 1 && h === 1 && i === 4)))))) } },
  // the NaN query (0, 0, 1) sees nothing: the composite's gradient of k was 0·NaN = NaN there (the fused: no gradient)
  { label: 'bool mask, the NaN query fully masked', opts: { mask: tensor(Array.from({ length: 2 }, (_, b) => Array.from({ length: 2 }, (_, h) =>
    Array.from({ length: 5 }, (_, i) => Array.from({ length: 7 }, () => !(b === 0 && h === 0 && i === 1)))))) } },
  { label: 'float mask with NaN, +∞ and −∞', opts: { mask: put(rnd([2, 1, 5, 7], 24), [[3, NaN], [7 + 5, Infinity], [35 + 8, -Infinity], [35 + 9, -Infinity]]) } },
  // finite q, k, v (the native kernels run, not the js fallback): NaN rows from the mask or an overflowing score.
  // S 70 and T 400, S 530: causal key blocks the native backward skips for a whole query tile (AVX2 and portable)
  { label: 'finite operands, causal, float mask with NaN, +∞ and −∞ the queries see', q: fq, k: fk,
    opts: { causal: true, mask: maskWith(37, 70, [[1, 0, NaN], [3, 2, Infinity], [5, 1, -Infinity], [5, 0, -Infinity], [6, 0, -Infinity]]) } },
  { label: 'finite operands, causal, T 400, S 530, float mask with NaN', q: rnd([1, 1, 400, 4], 28), k: rnd([1, 1, 530, 4], 29),
    v: rnd([1, 1, 530, 4], 30), opts: { causal: true, mask: maskWith(400, 530, [[1, 0, NaN]]) } },
  { label: 'finite operands, causal, bool mask, a score overflowing to +∞', q: ovQ, k: ovK,
    opts: { causal: true, mask: tensor(Array.from({ length: 37 }, (_, i) => Array.from({ length: 70 }, (_, j) => (i + j) % 5 !== 2))) } },
  { label: 'finite operands, bool mask, a score overflowing to +∞', q: ovQ, k: ovK,
    opts: { mask: tensor(Array.from({ length: 37 }, (_, i) => Array.from({ length: 70 }, (_, j) => (i + j) % 5 !== 2))) } },
];

for (const c of nfCases) {
  test(`fused and unfused attention agree on NaN, +∞ and −∞ (values and gradients): ${c.label}`, () => {
    const run = (isa: string): void => {
      const [q, k, v] = [c.q ?? nfQ, c.k ?? nfK, c.v ?? rnd([...(c.k ?? nfK).shape], 23)].map(leaf);
      const [q2, k2, v2] = [q, k, v].map(leaf);
      const fused = F.scaledDotProductAttention(q!, k!, v!, { ...c.opts, returnWeights: false });
      const { output } = F.scaledDotProductAttention(q2!, k2!, v2!, { ...c.opts, returnWeights: true });
      assert.ok(Array.from(output.data).some(Number.isNaN), 'the case makes NaN outputs');
      assertAllClose(fused, output, { rtol: 1e-4, atol: 1e-5, msg: `${isa} forward` });
      const u = randn(fused.shape, { rng: new Generator(11) });
      backward(fused, u);
      backward(output, u);
      for (const [a, b, n] of [[q, q2, 'q'], [k, k2, 'k'], [v, v2, 'v']] as const) assertAllClose(a!.grad!, b!.grad!, { rtol: 1e-3, atol: 1e-4, msg: `${isa} grad ${n}` });
    };
    if (backendName() !== 'native') return run('js');
    eachIsa(run);
  });
}

test('fused layerNorm equals its composite in values and gradients', () => {
  for (const [shape, norm] of [[[4, 7, 16], [16]], [[3, 4, 5], [4, 5]]] as const) {
    const x = rnd([...shape], 1, 3), w = rnd([...norm], 2), b = rnd([...norm], 3);
    const [x2, w2, b2] = [leaf(x), leaf(w), leaf(b)];
    const y = F.layerNorm(x, [...norm], w, b), y2 = F.layerNormComposite(x2, [...norm], w2, b2);
    assertAllClose(y, y2, { rtol: 1e-5, atol: 1e-5 });
    const u = randn(y.shape, { rng: new Generator(5) });
    backward(y, u);
    backward(y2, u);
    assertAllClose(x.grad!, x2.grad!, { rtol: 1e-4, atol: 1e-5 });
    assertAllClose(w.grad!, w2.grad!, { rtol: 1e-4, atol: 1e-5 });
    assertAllClose(b.grad!, b2.grad!, { rtol: 1e-4, atol: 1e-5 });
  }
});
