/**
 * Relative position bias fused in the attention kernels (`relativeBias: { table, maxDistance }`):
 * values and gradients (q, k, v and the table) equal the composite that adds the materialised bias
 * `F.relativePositionBias` as a float mask, on the active backend (native and wasm run their C++
 * tile loops here, forward and backward), with block masks, causality, ALiBi, grouped heads,
 * dropout and the packed layout. PyTorch goldens in torch.test.ts; float64 gradchecks in samples.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  F, Generator, ShapeError, Tensor, ValueError, backward, causalBlockMask, createBlockMask, nn, randn, tensor,
} from '../../src/index.js';
import { assertAllClose } from '../helpers.js';

type Opts = Omit<F.SdpaOptions, 'relativeBias' | 'returnWeights'>;

/** Output and gradients of q, k, v and the table under the cotangent u (fresh leaves per call). */
function grads(fn: (q: Tensor, k: Tensor, v: Tensor, table: Tensor) => Tensor, ins: Tensor[], u: Tensor): Tensor[] {
  const leaves = ins.map((t) => new Tensor(t.data.slice(), t.shape).requireGrad());
  const out = fn(...(leaves as [Tensor, Tensor, Tensor, Tensor]));
  backward(F.sum(F.mul(out, u)));
  return [out, ...leaves.map((t) => t.grad!)];
}

/** `options` is called once per path (a dropout generator must start afresh for each). */
function check(label: string, shape: { B: number; H: number; Hkv: number; T: number; S: number; D: number }, M: number, options: () => Opts = () => ({})): void {
  const { B, H, Hkv, T, S, D } = shape;
  const g = new Generator(3);
  const ins = [randn([B, H, T, D], { rng: g }), randn([B, Hkv, S, D], { rng: g }), randn([B, Hkv, S, D], { rng: g }), F.mul(randn([H, 2 * M + 1], { rng: g }), 2)];
  const u = randn([B, H, T, D], { rng: g });
  const fused = grads((q, k, v, table) => F.scaledDotProductAttention(q, k, v, { ...options(), relativeBias: { table, maxDistance: M } }), ins, u);
  const comp = grads((q, k, v, table) => {
    const o = options(), bias = F.relativePositionBias({ table, maxDistance: M }, T, S);   // [1, H, T, S]
    const mask = o.mask ? F.where(o.mask, bias, -Infinity) : bias;                       // (a bool key mask: −∞ at padding)
    return F.scaledDotProductAttention(q, k, v, { ...o, mask, returnWeights: true }).output;
  }, ins, u);
  ['values', 'dq', 'dk', 'dv', 'dTable'].forEach((what, i) => {
    assertAllClose(fused[i]!, comp[i]!, { rtol: 2e-4, atol: 5e-5, msg: `${label}: ${what}` });
  });
  assert.ok(fused[4]!.data.some((x) => x !== 0), `${label}: the table has a gradient`);
}

test('relative position bias fused in the kernel equals adding the materialised bias: values and q, k, v, table gradients', () => {
  check('plain, T = S = 40, M 8', { B: 2, H: 2, Hkv: 2, T: 40, S: 40, D: 8 }, 8);
  check('T 37 ≠ S 70, grouped-query H 4 / Hkv 2, M 5', { B: 2, H: 4, Hkv: 2, T: 37, S: 70, D: 8 }, 5);
  check('causal, M 3, T 70 (several 16-query strips)', { B: 1, H: 2, Hkv: 1, T: 70, S: 70, D: 16 }, 3, () => ({ causal: true }));
  check('M 0 (one column per head)', { B: 1, H: 2, Hkv: 2, T: 20, S: 20, D: 4 }, 0);
  check('M larger than the sequence', { B: 1, H: 2, Hkv: 2, T: 9, S: 12, D: 4 }, 30);
  check('with ALiBi', { B: 1, H: 2, Hkv: 2, T: 33, S: 33, D: 8 }, 4, () => ({ alibiSlopes: [0.5, 0.125] }));
  check('with dropout 0.2', { B: 1, H: 2, Hkv: 2, T: 33, S: 33, D: 8 }, 4, () => ({ dropout: 0.2, rng: new Generator(9) }));
  const T = 100;
  const window = nn.patternBlockMask(nn.slidingWindowPattern(T, { window: 6 }), { blockQ: 16, blockK: 32 });
  check('block mask: window ±6, tiles 16 × 32', { B: 2, H: 2, Hkv: 2, T, S: T, D: 8 }, 4, () => ({ blockMask: window }));
  check('causal block mask, key padding', { B: 2, H: 2, Hkv: 2, T, S: T, D: 8 }, 10, () => ({
    blockMask: causalBlockMask(T, T, { blockQ: 16, blockK: 16 }),
    mask: F.reshape(tensor([Array(T).fill(true), [...Array(T - 30).fill(true), ...Array(30).fill(false)]]), [2, 1, 1, T]),
  }));
});

test('relative position bias on packed projections equals the split composite', () => {
  const g = new Generator(4);
  const [B, T, H, D, M] = [2, 19, 2, 8, 3];
  const qkv = randn([B, T, 3 * H * D], { rng: g }), table = randn([H, 2 * M + 1], { rng: g }), u = randn([B, T, H * D], { rng: g });
  const run = (fused: boolean): Tensor[] => {
    const [x, tb] = [qkv, table].map((t) => new Tensor(t.data.slice(), t.shape).requireGrad());
    let out: Tensor;
    if (fused) out = F.packedAttention(x!, { numHeads: H, causal: true, relativeBias: { table: tb!, maxDistance: M } });
    else {
      const [q, k, v] = F.split(x!, [H * D, H * D, H * D], -1).map((t) => F.transpose(F.reshape(t, [B, T, H, D]), 1, 2));
      const o = F.scaledDotProductAttention(q!, k!, v!, { causal: true, mask: F.relativePositionBias({ table: tb!, maxDistance: M }, T, T), returnWeights: true }).output;
      out = F.reshape(F.transpose(o, 1, 2), [B, T, H * D]);
    }
    backward(F.sum(F.mul(out, u)));
    return [out, x!.grad!, tb!.grad!];
  };
  const [a, b] = [run(true), run(false)];
  ['values', 'dqkv', 'dTable'].forEach((w, i) => assertAllClose(a[i]!, b[i]!, { rtol: 2e-4, atol: 5e-5, msg: w }));
});

test('relativePositionBias: hand values (clipped offsets), and a gradient summing each column', () => {
  // H 1, M 1: columns [offset −1 or less, 0, +1 or more] = [10, 20, 30]; T 3, S 4
  const table = tensor([[10, 20, 30]]).requireGrad();
  const bias = F.relativePositionBias({ table, maxDistance: 1 }, 3, 4);
  assert.deepEqual(bias.shape, [1, 1, 3, 4]);
  assert.deepEqual(Array.from(bias.data), [20, 30, 30, 30, 10, 20, 30, 30, 10, 10, 20, 30]);
  backward(F.sum(bias));
  assert.deepEqual(Array.from(table.grad!.data), [3, 3, 6], 'positions per column: 3 below, 3 on, 6 above the diagonal');
});

test('a NaN in the table reaches only the rows whose keys use its column; hidden keys stay hidden (as the composite)', () => {
  const T = 48, M = 2;
  const g = new Generator(5);
  const [q, k, v] = [0, 1, 2].map(() => randn([1, 1, T, 4], { rng: g }));
  const table = tensor([[0.1, 0.2, 0.3, 0.4, NaN]]);                           // offset ≥ +2 is NaN
  const bm = createBlockMask((_b, _h, i, j) => j <= i + 1, { Lq: T, Lk: T, blockQ: 16, blockK: 16 }); // keys up to i + 1: offset +2 hidden
  const fused = F.scaledDotProductAttention(q!, k!, v!, { blockMask: bm, relativeBias: { table, maxDistance: M } });
  assert.ok(Array.from(fused.data).every(Number.isFinite), 'the NaN column is only at hidden keys: every row finite');
  const open = F.scaledDotProductAttention(q!, k!, v!, { relativeBias: { table, maxDistance: M } });
  const ref = F.scaledDotProductAttention(q!, k!, v!, { mask: F.relativePositionBias({ table, maxDistance: M }, T, T), returnWeights: true }).output;
  assertAllClose(open, ref, { rtol: 2e-4, atol: 2e-5, msg: 'without the block mask: NaN rows as the composite' });
  assert.ok(Number.isNaN(open.data[0]!) && Number.isFinite(open.data[(T - 1) * 4]!), 'rows with a key 2 or more ahead are NaN, the last row is not');
});

test('relative bias: a wrong table shape, dtype or maxDistance is a typed error naming the function and argument', () => {
  const g = new Generator(6);
  const [q, k, v] = [0, 1, 2].map(() => randn([1, 2, 6, 4], { rng: g }));
  const refuses = (rel: unknown, type: typeof ShapeError | typeof ValueError, re: RegExp, fn = 'scaledDotProductAttention'): void => {
    assert.throws(() => F.scaledDotProductAttention(q!, k!, v!, { relativeBias: rel as F.RelativeBias }),
      (e: unknown) => e instanceof type && new RegExp(`^${fn}: `).test((e as Error).message) && re.test((e as Error).message));
  };
  refuses({ table: randn([2, 4]), maxDistance: 2 }, ShapeError, /relativeBias\.table must be \[H, 2·maxDistance \+ 1\] = \[2, 5\], got \[2,4\]/);
  refuses({ table: randn([3, 5]), maxDistance: 2 }, ShapeError, /= \[2, 5\], got \[3,5\]/);
  refuses({ table: randn([2, 5], { dtype: 'float64' }), maxDistance: 2 }, ShapeError, /relativeBias\.table is float64, the operands are float32/);
  for (const bad of [Infinity, NaN, -1, 1.5, '2']) refuses({ table: randn([2, 5]), maxDistance: bad }, ValueError, /relativeBias\.maxDistance must be a non-negative integer/);
  refuses({ table: randn([2, 5]), maxDistance: 2, buckets: 't5' }, ValueError, /unknown key 'buckets'/);
  refuses(randn([2, 5]), ValueError, /unknown key|relativeBias must be|relativeBias\.maxDistance/);
  assert.throws(() => F.relativePositionBias({ table: randn([2, 5]), maxDistance: 2 }, 0, 3), (e: unknown) => e instanceof ValueError && /^relativePositionBias: T must be a positive integer/.test((e as Error).message));
});
