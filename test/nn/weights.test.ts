import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, nn, ones, randn, reshape, tensor, sum } from '../../src/index.js';
import { assertAllClose } from '../helpers.js';

// Sparse and linear self-attention return weights when asked (needWeights), where defined:
// sparse — the dense masked softmax weights; linear/Performer — the implied normalised kernel
// weights φ(q)·φ(k)/Σ; Linformer — weights over the projected keys. Each set of weights times the
// (projected) values gives the layer's attention output before the output projection.

const x = randn([2, 6, 8], { rng: new Generator(3) });
const keyMask = tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], { dtype: 'bool' });
const rows = (w: { shape: readonly number[] }): number => w.shape[w.shape.length - 1]!;

test('SparseSelfAttention: needWeights gives [B, H, T, T] softmax weights, zero outside the pattern and on padded keys', () => {
  const m = new nn.SparseSelfAttention({ embedDim: 8, numHeads: 2, pattern: 'window', window: 1, rng: new Generator(1) });
  const r = m.forward(x, { keyMask, needWeights: true });
  assertAllClose(r.output, m.forward(x, { keyMask }).output, { msg: 'same output with and without weights' });
  assert.deepEqual([...r.weights!.shape], [2, 2, 6, 6]);
  // Rows sum to 1, except the second sequence's last query: its window {4, 5} is all padding, a fully masked row of zeros.
  const expected = Array.from({ length: 24 }, (_, i) => (i === 17 || i === 23 ? 0 : 1));
  assertAllClose(sum(r.weights!, -1), reshape(tensor(expected), [2, 2, 6]), { msg: 'rows sum to 1', atol: 1e-5 });
  const w = r.weights!.data;
  for (let b = 0; b < 2; b++) for (let h = 0; h < 2; h++) for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) {
    const v = w[((b * 2 + h) * 6 + i) * 6 + j]!;
    if (Math.abs(i - j) > 1 || (b === 1 && j >= 4)) assert.equal(v, 0, `weight [${b},${h},${i},${j}] outside the pattern or on a padded key`);
  }
});

for (const kernel of ['elu', 'performer'] as const) {
  test(`LinearSelfAttention (${kernel}): needWeights gives the implied normalised kernel weights`, () => {
    for (const causal of [false, true]) {
      const m = new nn.LinearSelfAttention({ embedDim: 8, numHeads: 2, kernel, numFeatures: 8, causal, rng: new Generator(1) });
      const r = m.forward(x, { keyMask, needWeights: true });
      assertAllClose(r.output, m.forward(x, { keyMask }).output, { msg: 'same output', atol: 1e-5, rtol: 1e-4 });
      assert.deepEqual([...r.weights!.shape], [2, 2, 6, 6]);
      const w = r.weights!.data;
      for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) {
        if (causal && j > i) assert.equal(w[i * 6 + j], 0, 'no weight on future keys');
        assert.equal(w[((1 * 2 + 0) * 6 + i) * 6 + 5], 0, 'no weight on padded keys');
      }
      assert.equal(rows(r.weights!), 6);
    }
  });
}

test('LinformerSelfAttention: needWeights gives weights over the projected keys [B, H, T, k]', () => {
  const m = new nn.LinformerSelfAttention({ embedDim: 8, numHeads: 2, maxLen: 8, projectedLen: 3, rng: new Generator(1) });
  const r = m.forward(x, { keyMask, needWeights: true });
  assertAllClose(r.output, m.forward(x, { keyMask }).output, { msg: 'same output' });
  assert.deepEqual([...r.weights!.shape], [2, 2, 6, 3]);
  assertAllClose(sum(r.weights!, -1), ones([2, 2, 6]), { msg: 'rows sum to 1', atol: 1e-5 });
});
