/**
 * Forward values and gradients against PyTorch (fixtures from scripts/torch_fixtures.py),
 * at rtol 1e-5 / atol 1e-6.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as F from '../../src/index.js';
import { Tensor, backward, tensor } from '../../src/index.js';
import { assertAllClose } from '../helpers.js';

interface J { shape: number[]; dtype: 'float32' | 'int32' | 'bool'; data: number[] }
interface Case { params: Record<string, unknown>; inputs: Record<string, J>; extra: Record<string, J>; output: J; cotangent: J; grads: Record<string, J> }
const doc = JSON.parse(readFileSync(new URL('../fixtures/torch_ops.json', import.meta.url), 'utf8')) as { torch: string; cases: Record<string, Case> };

const fromJ = (j: J): Tensor => {
  if (j.dtype === 'int32') return tensor(Int32Array.from(j.data), { shape: j.shape });
  if (j.dtype === 'bool') return tensor(Uint8Array.from(j.data), { shape: j.shape });
  return tensor(Float32Array.from(j.data), { shape: j.shape });
};

type Fn = (ins: Record<string, Tensor>, ex: Record<string, Tensor>) => Tensor;
const ops: Record<string, Fn> = {
  matmul_batched_broadcast: ({ a, b }) => F.matmul(a, b),
  matmul_vector_matrix: ({ a, b }) => F.matmul(a, b),
  linear: ({ x, w, b }) => F.linear(x, w, b),
  softmax_dim1: ({ x }) => F.softmax(x, 1),
  log_softmax_last: ({ x }) => F.logSoftmax(x, -1),
  layer_norm: ({ x, w, b }) => F.layerNorm(x, [6], w, b, 1e-5),
  layer_norm_2d_shape: ({ x, w, b }) => F.layerNorm(x, [3, 4], w, b, 1e-5),
  gelu_erf: ({ x }) => F.gelu(x),
  gelu_tanh: ({ x }) => F.gelu(x, { approximate: 'tanh' }),
  logsumexp: ({ x }) => F.logsumexp(x, [0, 2], { keepDim: true }),
  cross_entropy_smoothing: ({ x }, { target }) => F.crossEntropy(x, target, { labelSmoothing: 0.1 }),
  cross_entropy_weighted_smoothing: ({ x }, { target, w }) => F.crossEntropy(x, target, { weight: w, labelSmoothing: 0.2 }),
  cross_entropy_nd: ({ x }, { target }) => F.crossEntropy(x, target, { reduction: 'none' }),
  bce_with_logits: ({ x, y }, { pw }) => F.binaryCrossEntropyWithLogits(x, y, { posWeight: pw }),
  mse: ({ x, y }) => F.mseLoss(x, y),
  conv2d: ({ x, w, b }) => F.conv2d(x, w, b, { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 }),
  conv1d: ({ x, w, b }) => F.conv1d(x, w, b, { stride: 2, padding: 2, dilation: 2, groups: 3 }),
  max_pool2d: ({ x }) => F.maxPool2d(x, 3, { stride: 2, padding: 1 }),
  max_pool2d_dilated: ({ x }) => F.maxPool2d(x, [2, 3], { stride: [1, 2], dilation: [2, 1] }),
  avg_pool2d: ({ x }) => F.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }),
  adaptive_avg_pool2d: ({ x }) => F.adaptiveAvgPool2d(x, [3, 4]),
  max_pool1d: ({ x }) => F.maxPool1d(x, 3, { stride: 2, padding: 1 }),
  // the fused kernel with the relative position bias added in it (T5 / Shaw, clipped to ±maxDistance)
  attention_relative_bias: ({ q, k, v, table }) => F.scaledDotProductAttention(q, k, v, { relativeBias: { table, maxDistance: 3 } }),
  attention_relative_bias_causal: ({ q, k, v, table }) => F.scaledDotProductAttention(q, k, v, { causal: true, relativeBias: { table, maxDistance: 2 } }),
};

test('every PyTorch fixture case has an attnkit mapping and vice versa', () => {
  assert.deepEqual(Object.keys(doc.cases).sort(), Object.keys(ops).sort());
});

for (const [name, c] of Object.entries(doc.cases)) {
  test(`matches torch ${doc.torch}: ${name} (forward and gradients)`, () => {
    const fn = ops[name];
    assert.ok(fn, `no mapping for ${name}`);
    const ins = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => {
      const t = fromJ(v);
      if (t.dtype === 'float32') t.requireGrad();
      return [k, t];
    }));
    const ex = Object.fromEntries(Object.entries(c.extra).map(([k, v]) => [k, fromJ(v)]));
    const out = fn(ins, ex);
    assertAllClose(out, fromJ(c.output), { msg: `${name} forward` });
    backward(out, fromJ(c.cotangent));
    for (const [k, g] of Object.entries(c.grads)) {
      assert.ok(ins[k].grad, `${name}: no gradient for ${k}`);
      assertAllClose(ins[k].grad!, fromJ(g), { msg: `${name} grad ${k}` });
    }
  });
}
