/**
 * On a compiled backend (native, wasm), float32 work with finite values runs in the compiled
 * kernels: no call silently falls back to the js kernel. A fallback gives the same numbers, only
 * ~10–100× slower, so nothing else would notice one (a nullable-argument check once sent every
 * fused attention call without a block mask to js). Float64 tensors fall back by design.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  F, Generator, backward, causalBlockMask, nn, optim, randn, tensor,
} from '../../src/index.js';
import { compiledFallbacks } from '../../src/backend/compiledBackend.js';
import { compiledPass } from '../helpers.js';

const pass = compiledPass();
const skip = pass === null && 'compiled passes only';

/** The kernels that fell back to js while `fn` ran, with their counts. */
function fallbacksDuring(fn: () => void): Record<string, number> {
  const before = { ...compiledFallbacks() };
  fn();
  const after = compiledFallbacks();
  return Object.fromEntries(Object.entries(after).filter(([k, n]) => n !== (before[k] ?? 0)).map(([k, n]) => [k, n - (before[k] ?? 0)]));
}

test('fused attention (plain, causal, key mask, float mask, block mask, ALiBi, relative bias) runs compiled, forward and backward', { skip }, () => {
  const g = new Generator(1);
  const [B, H, T, D] = [2, 2, 40, 8];
  const keep = tensor([Array(T).fill(true), [...Array(T - 7).fill(true), ...Array(7).fill(false)]]);
  const cases: [string, Omit<NonNullable<Parameters<typeof F.scaledDotProductAttention>[3]>, 'returnWeights'>][] = [
    ['plain', {}],
    ['causal', { causal: true }],
    ['boolean key mask', { mask: F.reshape(keep, [B, 1, 1, T]) }],
    ['float mask', { mask: randn([T, T], { rng: g }) }],
    ['block mask', { blockMask: causalBlockMask(T, T) }],
    ['ALiBi', { alibiSlopes: [0.5, 0.25] }],
    ['relative bias (table gradient)', { relativeBias: { table: randn([H, 9], { rng: g }).requireGrad(), maxDistance: 4 } }],
    ['relative bias on a block mask', { blockMask: causalBlockMask(T, T, { blockQ: 16, blockK: 16 }), relativeBias: { table: randn([H, 5], { rng: g }).requireGrad(), maxDistance: 2 } }],
  ];
  for (const [label, opts] of cases) {
    const [q, k, v] = [0, 1, 2].map(() => { const t = randn([B, H, T, D], { rng: g }); t.requiresGrad = true; return t; });
    const fell = fallbacksDuring(() => backward(F.sum(F.scaledDotProductAttention(q!, k!, v!, opts))));
    assert.deepEqual(fell, {}, `${pass!.name}: ${label} fell back to js`);
  }
});

test('a Transformer encoder layer\'s training step (forward, backward, AdamW) runs compiled', { skip }, () => {
  const g = new Generator(2);
  const layer = new nn.TransformerEncoderLayer({ embedDim: 16, numHeads: 4, dimFeedforward: 32, rng: g });
  const opt = new optim.AdamW(layer.parameters(), { lr: 1e-3 });
  const x = randn([3, 12, 16], { rng: g });
  const keyMask = tensor([Array(12).fill(true), Array(12).fill(true), [...Array(9).fill(true), false, false, false]]);
  const fell = fallbacksDuring(() => {
    for (let step = 0; step < 2; step++) {
      opt.zeroGrad();
      backward(F.mean(F.mul(layer.forward(x, { keyMask }).output, x)));
      opt.step();
    }
  });
  assert.deepEqual(fell, {}, `${pass!.name}: kernels fell back to js`);
});

test('float64 falls back by design, and is counted', { skip }, () => {
  const a = randn([4, 4], { dtype: 'float64' });
  const fell = fallbacksDuring(() => F.matmul(a, a));
  assert.ok(Object.values(fell).reduce((s, n) => s + n, 0) >= 1, `float64 matmul counted no fallback: ${JSON.stringify(fell)}`);
});
