/**
 * Gradcheck samples, one list per primitive. The mapped type makes the compiler refuse
 * a primitive that has no sample. Each sample reaches its primitive through the public API,
 * with broadcasting, repeated indices and ties where the primitive has them.
 */
import type { PrimitiveName, Tensor, GradcheckOptions } from '../../src/index.js';
import * as F from '../../src/index.js';
import { r64, pos64, i32 } from '../helpers.js';

export interface Sample {
  label: string;
  inputs: () => Tensor[];
  fn: (...xs: Tensor[]) => Tensor;
  options?: GradcheckOptions;
}

const one = (label: string, inputs: () => Tensor[], fn: (...xs: Tensor[]) => Tensor, options?: GradcheckOptions): Sample[] => [{ label, inputs, fn, options }];
const unary = (fn: (x: Tensor) => Tensor, positive = false, awayFromZero = false): Sample[] => one(
  'unary [3,4]',
  () => {
    if (positive) return [pos64([3, 4], 1)];
    const x = r64([3, 4], 1, { grad: false });
    // keep clear of kinks at 0 (relu, abs, leakyRelu…)
    if (awayFromZero) for (let i = 0; i < x.size; i++) if (Math.abs(x.data[i]) < 0.05) x.data[i] += 0.2;
    return [x.requireGrad()];
  },
  fn,
);

export const samples: { [K in PrimitiveName]: Sample[] } = {
  neg: unary(F.neg),
  exp: unary(F.exp),
  log: unary(F.log, true),
  log1p: unary(F.log1p, true),
  sqrt: unary(F.sqrt, true),
  rsqrt: unary(F.rsqrt, true),
  abs: unary(F.abs, false, true),
  sign: unary((x) => F.mul(F.sign(x), x), false, true),
  tanh: unary(F.tanh),
  sigmoid: unary(F.sigmoid),
  relu: unary(F.relu, false, true),
  leakyRelu: unary((x) => F.leakyRelu(x, 0.1), false, true),
  geluErf: unary((x) => F.gelu(x)),
  geluTanh: unary((x) => F.gelu(x, { approximate: 'tanh' })),
  silu: unary(F.silu),
  elu: unary((x) => F.elu(x, 0.7), false, true),
  softplus: [
    ...unary((x) => F.softplus(x, { beta: 2 })),
    { label: 'linear region', inputs: () => [r64([5], 3, { offset: 30 })], fn: (x) => F.softplus(x) },
  ],
  sin: unary(F.sin),
  cos: unary(F.cos),
  powScalar: unary((x) => F.pow(x, 2.5), true),
  clamp: unary((x) => F.clamp(x, { min: -0.5, max: 0.7 }), false, true),
  square: unary(F.square),
  reciprocal: unary(F.reciprocal, true),
  add: one('broadcast [2,3]+[3]', () => [r64([2, 3], 1), r64([3], 2)], F.add),
  sub: one('broadcast [2,1]-[1,3]', () => [r64([2, 1], 1), r64([1, 3], 2)], F.sub),
  mul: one('broadcast [2,3,4]*[3,1]', () => [r64([2, 3, 4], 1), r64([3, 1], 2)], F.mul),
  div: one('broadcast [4]/[2,4]', () => [r64([4], 1), pos64([2, 4], 2)], F.div),
  pow: one('tensor exponent', () => [pos64([2, 3], 1), r64([3], 2)], (a, b) => F.pow(a, b)),
  maximum: [
    { label: 'broadcast', inputs: () => [r64([2, 3], 1), r64([3], 2)], fn: F.maximum },
    { label: 'ties split', inputs: () => { const a = r64([4], 1); return [a, F.tensor(Float64Array.from(a.data)).requireGrad()]; }, fn: F.maximum },
  ],
  minimum: [
    { label: 'broadcast', inputs: () => [r64([2, 3], 1), r64([2, 1], 2)], fn: F.minimum },
    { label: 'ties split', inputs: () => { const a = r64([4], 1); return [a, F.tensor(Float64Array.from(a.data)).requireGrad()]; }, fn: F.minimum },
  ],
  where: one('broadcast cond [2,3], a [3], b [2,1]', () => [r64([3], 1), r64([2, 1], 2)],
    (a, b) => F.where(F.tensor([[true, false, true], [false, false, true]]), a, b)),
  toDtype: one('float64 → float32 → float64', () => [r64([5], 1)],
    (x) => F.toDtype(F.mul(F.toDtype(x, 'float32'), 3), 'float64'), { eps: 1e-2, atol: 1e-4, rtol: 1e-4 }),
  sum: [
    { label: 'dims [0,2]', inputs: () => [r64([2, 3, 4], 1)], fn: (x) => F.sum(x, [0, 2]) },
    { label: 'keepDim', inputs: () => [r64([2, 3], 1)], fn: (x) => F.mul(F.sum(x, -1, { keepDim: true }), x) },
  ],
  extreme: [
    { label: 'max dim 1', inputs: () => [r64([3, 4, 2], 1)], fn: (x) => F.max(x, 1).values },
    { label: 'min keepDim', inputs: () => [r64([3, 4], 1)], fn: (x) => F.min(x, 0, { keepDim: true }).values },
    { label: 'amax dims [0,2]', inputs: () => [r64([3, 4, 2], 1)], fn: (x) => F.amax(x, [0, 2]) },
  ],
  logsumexp: [
    { label: 'dim -1', inputs: () => [r64([3, 5], 1, { scale: 3 })], fn: (x) => F.logsumexp(x, -1) },
    { label: 'dims [0,1]', inputs: () => [r64([2, 3, 2], 1)], fn: (x) => F.logsumexp(x, [0, 1], { keepDim: true }) },
  ],
  cumsum: one('dim 1', () => [r64([2, 4, 3], 1)], (x) => F.cumsum(x, 1)),
  reshape: one('to [3,-1]', () => [r64([2, 3, 2], 1)], (x) => F.mul(F.reshape(x, [3, -1]), F.arange(4, undefined, 1, { dtype: 'float64' }))),
  permute: one('[0,2,1]→ dims [2,0,1]', () => [r64([2, 3, 4], 1)], (x) => F.permute(x, [2, 0, 1])),
  expand: one('[3,1] → [2,3,4]', () => [r64([3, 1], 1)], (x) => F.expand(x, [2, 3, 4])),
  strided: [
    { label: 'slice with step', inputs: () => [r64([4, 7], 1)], fn: (x) => F.slice(x, 1, 1, 6, 2) },
    { label: 'flip', inputs: () => [r64([3, 4], 1)], fn: (x) => F.flip(x, [0, 1]) },
  ],
  pad: one('pad last two dims', () => [r64([2, 3, 2], 1)], (x) => F.pad(x, [1, 2, 0, 1], 0.5)),
  clone: one('a copy, then scaled (the copy must not alias x)', () => [r64([2, 3], 1)], (x) => F.mul(F.clone(x), F.arange(3, undefined, 1, { dtype: 'float64' }))),
  concat: one('three along dim 1', () => [r64([2, 1], 1), r64([2, 3], 2), r64([2, 2], 3)], (a, b, c) => F.concat([a, b, c], 1)),
  indexSelect: one('repeated indices', () => [r64([4, 3], 1)], (x) => F.indexSelect(x, 0, i32([2, 0, 2, 3]))),
  gather: one('dim 1, repeats', () => [r64([3, 4], 1)], (x) => F.gather(x, 1, i32([0, 0, 3, 1, 2, 1], [3, 2]))),
  scatterAdd: one('dim 0, repeats, src larger than index', () => [r64([3, 2], 1), r64([3, 3], 2)],
    (x, src) => F.scatterAdd(x, 0, i32([1, 0, 1, 1], [2, 2]), src)),
  matmul: [
    { label: 'batched broadcast [2,1,3,4]×[3,4,5]', inputs: () => [r64([2, 1, 3, 4], 1), r64([3, 4, 5], 2)], fn: F.matmul },
    { label: 'vector × matrix', inputs: () => [r64([4], 1), r64([4, 3], 2)], fn: F.matmul },
  ],
  linear: [
    { label: '[2,3,4] input, bias', inputs: () => [r64([2, 3, 4], 1), r64([5, 4], 2), r64([5], 3)], fn: (x, w, b) => F.linear(x, w, b) },
    { label: 'vector input, no bias', inputs: () => [r64([4], 1), r64([3, 4], 2)], fn: (x, w) => F.linear(x, w) },
    // only the weight takes a gradient: the input's and bias's products are skipped
    { label: 'frozen input and bias', inputs: () => [r64([3, 4], 2)], fn: (w) => F.linear(r64([5, 4], 1, { grad: false }), w, r64([3], 3, { grad: false })) },
  ],
  dropout: [
    // a fresh generator per call: the same seed, so the same kept elements, in every finite difference
    { label: 'p 0.3', inputs: () => [r64([4, 5], 1)], fn: (x) => F.dropout(x, 0.3, { training: true, rng: new F.Generator(5) }) },
    { label: 'p 0.7, 3-d', inputs: () => [r64([2, 3, 4], 2)], fn: (x) => F.dropout(x, 0.7, { training: true, rng: new F.Generator(6) }) },
  ],
  layerNorm: [
    { label: 'affine over last dim', inputs: () => [r64([2, 3, 4], 1, { scale: 2 }), r64([4], 2), r64([4], 3)], fn: (x, w, b) => F.layerNorm(x, [4], w, b) },
    { label: 'two trailing dims, no affine', inputs: () => [r64([2, 3, 4], 1)], fn: (x) => F.layerNorm(x, [3, 4]) },
    { label: 'bias only', inputs: () => [r64([3, 5], 1), r64([5], 2)], fn: (x, b) => F.layerNorm(x, [5], null, b) },
  ],
  attention: [
    { label: 'plain, T ≠ S, Dv ≠ D', inputs: () => [r64([1, 2, 3, 4], 1), r64([1, 2, 5, 4], 2), r64([1, 2, 5, 3], 3)],
      fn: (q, k, v) => F.scaledDotProductAttention(q, k, v) },
    { label: 'causal + key padding + grouped-query (H 4, Hkv 2) + a fully masked row',
      inputs: () => [r64([1, 4, 5, 3], 1), r64([1, 2, 5, 3], 2), r64([1, 2, 5, 3], 3)],
      fn: (q, k, v) => F.scaledDotProductAttention(q, k, v, {
        causal: true, mask: F.tensor([[[[false, true, true, true, true]]]]),
      }) },
    { label: 'additive float mask with its own gradient, custom scale',
      inputs: () => [r64([2, 2, 3, 4], 1), r64([2, 2, 4, 4], 2), r64([2, 2, 4, 4], 3), r64([2, 1, 3, 4], 4)],
      fn: (q, k, v, m) => F.scaledDotProductAttention(q, k, v, { mask: m, scale: 0.3 }) },
    { label: 'dropout 0.3 (seeded)', inputs: () => [r64([1, 2, 3, 4], 1), r64([1, 2, 4, 4], 2), r64([1, 2, 4, 2], 3)],
      fn: (q, k, v) => F.scaledDotProductAttention(q, k, v, { dropout: 0.3, rng: new F.Generator(5) }) },
    // offsets −6…6 clipped to ±2; both extra inputs (the float mask, then the table) get gradients
    { label: 'relative position bias table (M 2) with its gradient, float mask with its own, causal, grouped-query (H 4, Hkv 2), T ≠ S',
      inputs: () => [r64([1, 4, 5, 3], 1), r64([1, 2, 7, 3], 2), r64([1, 2, 7, 3], 3), r64([1, 1, 5, 7], 4), r64([4, 5], 5)],
      fn: (q, k, v, m, table) => F.scaledDotProductAttention(q, k, v, { mask: m, causal: true, relativeBias: { table, maxDistance: 2 } }) },
    { label: 'relative position bias (M 3) on a block mask (window ±4, tiles 16, a partial tile), ALiBi',
      inputs: () => [r64([1, 2, 20, 3], 1), r64([1, 2, 20, 3], 2), r64([1, 2, 20, 2], 3), r64([2, 7], 4)],
      fn: (q, k, v, table) => F.scaledDotProductAttention(q, k, v, {
        blockMask: F.createBlockMask((_b, _h, i, j) => Math.abs(i - j) <= 4, { Lq: 20, Lk: 20, blockQ: 16, blockK: 16 }),
        alibiSlopes: [0.5, 0.25], relativeBias: { table, maxDistance: 3 },
      }) },
  ],
  crossEntropy: [
    { label: 'mean over [4,5]', inputs: () => [r64([4, 5], 1, { scale: 2 })], fn: (x) => F.crossEntropy(x, i32([1, 0, 4, 2])) },
    { label: 'class weights with their gradient, smoothing 0.2, an ignored row',
      inputs: () => [r64([4, 5], 1, { scale: 2 }), pos64([5], 2)],
      fn: (x, w) => F.crossEntropy(x, i32([3, -100, 0, 3]), { weight: w, labelSmoothing: 0.2 }) },
    { label: 'classes on dim 1 of [2,3,4], none', inputs: () => [r64([2, 3, 4], 1)],
      fn: (x) => F.crossEntropy(x, i32([0, 2, 1, 1, 2, 0, 0, 1], [2, 4]), { reduction: 'none', labelSmoothing: 0.1 }) },
  ],
  linearCrossEntropy: [
    { label: 'mean, bias, an ignored row, ties in the logits',
      inputs: () => [r64([4, 3], 1), r64([5, 3], 2), r64([5], 3)],
      fn: (x, w, b) => F.linearCrossEntropy(x, F.concat([w, F.narrow(w, 0, 0, 1)], 0), F.concat([b, F.narrow(b, 0, 0, 1)], 0), i32([1, -100, 5, 2])) },
    { label: "[2,3,4] input, no bias, smoothing 0.1, 'none' (row weights differ)",
      inputs: () => [r64([2, 3, 4], 1), r64([6, 4], 2)],
      fn: (x, w) => F.linearCrossEntropy(x, w, null, i32([0, 5, 1, 1, 3, 2], [2, 3]), { reduction: 'none', labelSmoothing: 0.1 }) },
  ],
  // returnWeights under a block mask: the tile primitive (weights of a window ±3 on tiles of 16, a partial tile, a skipped one)
  blockWeights: [
    { label: 'window ±3 (T 20, tiles 16), causal, float mask and relative bias table (M 2) with their gradients, ALiBi',
      inputs: () => [r64([1, 2, 20, 3], 1), r64([1, 2, 20, 3], 2), r64([1, 2, 20, 3], 3), r64([1, 1, 20, 20], 4), r64([2, 5], 5)],
      fn: (q, k, v, m, table) => F.scaledDotProductAttention(q, k, v, {
        blockMask: F.createBlockMask((_b, _h, i, j) => Math.abs(i - j) <= 3, { Lq: 20, Lk: 20, blockQ: 16, blockK: 16 }),
        causal: true, mask: m, alibiSlopes: [0.5, 0.25], relativeBias: { table, maxDistance: 2 }, returnWeights: true,
      }).weights },
    { label: 'grouped-query (H 2, Hkv 1), T 18 ≠ S 34, bool key padding, a row with no visible key',
      inputs: () => [r64([1, 2, 18, 3], 1), r64([1, 1, 34, 3], 2)],
      fn: (q, k) => F.scaledDotProductAttention(q, k, F.zeros([1, 1, 34, 2], { dtype: 'float64' }), {
        blockMask: F.createBlockMask((_b, _h, i, j) => i !== 5 && Math.abs(2 * i - j) <= 4, { Lq: 18, Lk: 34, blockQ: 16, blockK: 16 }),
        mask: F.tensor([[[[...Array(30).fill(true), ...Array(4).fill(false)]]]]), returnWeights: true,
      }).weights },
  ],
  packedAttention: [
    { label: 'grouped-query (H 4, Hkv 2), causal, bool key padding',
      inputs: () => [r64([2, 5, 24], 1)],
      fn: (qkv) => F.packedAttention(qkv, {
        numHeads: 4, numKVHeads: 2, causal: true, mask: F.tensor([[[[true, true, true, false, false]]], [[[true, true, true, true, true]]]]),
      }) },
    { label: 'additive float mask with its own gradient, dropout 0.3 (seeded)',
      inputs: () => [r64([1, 4, 12], 1), r64([1, 1, 4, 4], 2)],
      fn: (qkv, m) => F.packedAttention(qkv, { numHeads: 2, mask: m, dropout: 0.3, rng: new F.Generator(5) }) },
    { label: 'relative position bias table (M 1) with its gradient, causal',
      inputs: () => [r64([1, 5, 12], 1), r64([2, 3], 2)],
      fn: (qkv, table) => F.packedAttention(qkv, { numHeads: 2, causal: true, relativeBias: { table, maxDistance: 1 } }) },
  ],
  softmax: one('dim 1 of [2,3,4]', () => [r64([2, 3, 4], 1, { scale: 2 })], (x) => F.softmax(x, 1)),
  logSoftmax: one('dim -1', () => [r64([3, 5], 1, { scale: 2 })], (x) => F.logSoftmax(x, -1)),
  conv2d: [
    { label: 'stride 2, padding 1, dilation 2, groups 2', inputs: () => [r64([2, 4, 6, 5], 1), r64([6, 2, 3, 2], 2)],
      fn: (x, w) => F.conv2d(x, w, null, { stride: 2, padding: 1, dilation: [2, 1], groups: 2 }) },
    { label: 'conv1d', inputs: () => [r64([1, 2, 7], 1), r64([3, 2, 3], 2)], fn: (x, w) => F.conv1d(x, w, null, { padding: 1, stride: 2 }) },
  ],
  maxPool2d: one('3×3 stride 2 padding 1', () => [r64([2, 2, 5, 6], 1)], (x) => F.maxPool2d(x, 3, { stride: 2, padding: 1 })),
  avgPool2d: [
    { label: 'padding, count_include_pad', inputs: () => [r64([1, 2, 5, 5], 1)], fn: (x) => F.avgPool2d(x, 3, { stride: 2, padding: 1 }) },
    { label: 'exclude pad', inputs: () => [r64([1, 2, 5, 5], 1)], fn: (x) => F.avgPool2d(x, 2, { stride: 1, padding: 1, countIncludePad: false }) },
  ],
  adaptiveAvgPool2d: one('7×5 → 3×2', () => [r64([1, 2, 7, 5], 1)], (x) => F.adaptiveAvgPool2d(x, [3, 2])),
};
