/**
 * Weights on request under a block mask (`returnWeights: true` with `blockMask`, sparse attention's
 * `needWeights`): computed on the touched tiles only — the tape holds the tile primitive, never a
 * [T, S] product — and equal to masked full attention's weights written out with dense ops, in values
 * and in the gradients of q, k, v, a float mask and a relative bias table, on the active backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BlockMask, F, Generator, Tensor, backward, causalBlockMask, createBlockMask, nn, randn, tensor,
} from '../../src/index.js';
import { assertAllClose, tapeNames } from '../helpers.js';

interface Case {
  label: string; bm: BlockMask; B: number; H: number; Hkv?: number; D?: number;
  opts?: () => { mask?: Tensor; causal?: boolean; alibiSlopes?: number[]; dropout?: number; rng?: Generator };
  rel?: number;  // relative bias maxDistance
}

/** Masked full attention written out: where(visible, scale·q·kᵀ + ALiBi + bias + float mask, −∞), softmax, ·v. */
function dense(q: Tensor, k: Tensor, v: Tensor, c: Case, table: Tensor | null, o: ReturnType<NonNullable<Case['opts']>>): { output: Tensor; weights: Tensor } {
  const [B, H, T, D] = q.shape as [number, number, number, number], S = k.shape[2]!, g = H / k.shape[1]!;
  const rep = (t: Tensor): Tensor => (g === 1 ? t : F.reshape(F.expand(F.unsqueeze(t, 2), [B, H / g, g, S, t.shape[3]!]), [B, H, S, t.shape[3]!]));
  let scores = F.mul(F.matmul(q, F.transpose(rep(k), -2, -1)), 1 / Math.sqrt(D));           // [B, H, T, S]
  if (o.alibiSlopes) scores = F.add(scores, F.toDtype(nn.alibiBias(H, T, S), q.dtype));
  if (table) scores = F.add(scores, F.relativePositionBias({ table, maxDistance: c.rel! }, T, S));
  let visible = c.bm.toDense();                                                                 // [Bm, Hm, T, S]
  if (o.mask && o.mask.dtype === 'bool') visible = F.logicalAnd(visible, o.mask);
  else if (o.mask) scores = F.add(scores, o.mask);
  if (o.causal) visible = F.logicalAnd(visible, tensor(Array.from({ length: T }, (_, i) => Array.from({ length: S }, (_, j) => j <= i))));
  const weights = F.softmax(F.where(visible, scores, -Infinity), -1);
  // with dropout: the unfused path's output under the dense mask (its drops are the fused kernel's)
  if (o.dropout) return { output: F.scaledDotProductAttention(q, k, v, { mask: visible, dropout: o.dropout, rng: o.rng, returnWeights: true }).output, weights };
  return { output: F.matmul(weights, rep(v)), weights };
}

function check(c: Case): void {
  const T = c.bm.Lq, S = c.bm.Lk, Hkv = c.Hkv ?? c.H, D = c.D ?? 4;
  const g = new Generator(21);
  const base = [randn([c.B, c.H, T, D], { rng: g }), randn([c.B, Hkv, S, D], { rng: g }), randn([c.B, Hkv, S, 3], { rng: g })];
  const table0 = c.rel !== undefined ? randn([c.H, 2 * c.rel + 1], { rng: g }) : null;
  const [uo, uw] = [randn([c.B, c.H, T, 3], { rng: g }), randn([c.B, c.H, T, S], { rng: g })];
  const floatMask0 = c.opts?.().mask;
  const run = (tiles: boolean): Tensor[] => {
    const [q, k, v] = base.map((t) => new Tensor(t.data.slice(), t.shape).requireGrad());
    const table = table0 ? new Tensor(table0.data.slice(), table0.shape).requireGrad() : null;
    const o = c.opts?.() ?? {};
    const fm = o.mask && o.mask.dtype !== 'bool' ? new Tensor(floatMask0!.data.slice(), floatMask0!.shape).requireGrad() : null;
    if (fm) o.mask = fm;
    const r = tiles
      ? F.scaledDotProductAttention(q!, k!, v!, { ...o, blockMask: c.bm, relativeBias: table && { table, maxDistance: c.rel! }, returnWeights: true })
      : dense(q!, k!, v!, c, table, o);
    if (tiles) {
      const names = tapeNames(r.weights);
      assert.ok(names.has('blockWeights') && !names.has('matmul') && !names.has('softmax'), `${c.label}: the weights' tape is [${[...names]}]`);
    }
    backward(F.add(F.sum(F.mul(r.output, uo)), F.sum(F.mul(r.weights, uw))));
    return [r.weights, r.output, q!.grad!, k!.grad!, v!.grad!, ...(fm ? [fm.grad!] : []), ...(table ? [table.grad!] : [])];
  };
  const [got, want] = [run(true), run(false)];
  ['weights', 'output', 'dq', 'dk', 'dv', 'dMask/dTable', 'dTable'].slice(0, got.length).forEach((w, i) => {
    assertAllClose(got[i]!, want[i]!, { rtol: 2e-4, atol: 2e-5, msg: `${c.label}: ${w}` });
  });
}

test('weights under a block mask come from the touched tiles and equal masked full attention (values and gradients)', () => {
  const T = 100, tiles = { blockQ: 16, blockK: 32 };
  const keyMask = tensor([Array(T).fill(true), [...Array(T - 23).fill(true), ...Array(23).fill(false)]]);
  const g = new Generator(2);
  check({ label: 'window ±5', bm: nn.patternBlockMask(nn.slidingWindowPattern(T, { window: 5 }), tiles), B: 2, H: 2 });
  check({ label: 'BigBird, grouped-query H 4 / Hkv 2', bm: nn.patternBlockMask(nn.bigBirdPattern(T, { blockSize: 10, randomBlocks: 2, rng: new Generator(3) }), tiles), B: 1, H: 4, Hkv: 2 });
  check({ label: 'causal block mask + causal + key padding', bm: causalBlockMask(T, T, tiles), B: 2, H: 2, opts: () => ({ causal: true, mask: F.reshape(keyMask, [2, 1, 1, T]) }) });
  const fm = randn([2, 1, T, T], { rng: g });
  fm.data[3 * T + 60] = NaN;                                                  // hidden by the window: the row stays finite
  check({ label: 'window ±3 + float mask (with its gradient), ALiBi, relative bias (M 6, with its gradient)',
    bm: nn.patternBlockMask(nn.slidingWindowPattern(T, { window: 3 }), tiles), B: 2, H: 2, rel: 6, opts: () => ({ mask: fm, alibiSlopes: nn.alibiSlopes(2) }) });
  const perHead = createBlockMask((_b, h, i, j) => i !== 40 && (h === 0 ? Math.abs(i - j) <= 7 : j <= i), { H: 2, Lq: T, Lk: T, ...tiles });
  check({ label: 'per head, a row with no visible key (zeros)', bm: perHead, B: 1, H: 2 });
  check({ label: 'dropout 0.2 (weights before dropout, output fused with the same drops)', bm: perHead, B: 1, H: 2, opts: () => ({ dropout: 0.2, rng: new Generator(4) }) });
  const cross = createBlockMask((_b, _h, i, j) => Math.abs(2 * i - j) <= 9, { Lq: 40, Lk: 80, blockQ: 16, blockK: 16 });
  check({ label: 'T 40 ≠ S 80', bm: cross, B: 1, H: 2, D: 8 });
});

test('block weights: a row with a NaN or +∞ score is NaN over every key (as softmax), other rows finite; skipped tiles are zeros', () => {
  const T = 64;
  const bm = createBlockMask((_b, _h, i, j) => Math.abs(i - j) <= 2, { Lq: T, Lk: T, blockQ: 16, blockK: 16 });
  const g = new Generator(5);
  const [q, k, v] = [0, 1, 2].map(() => randn([1, 1, T, 4], { rng: g }));
  const fm = F.mul(randn([1, 1, T, T], { rng: g }), 0);
  fm.data[10 * T + 11] = Infinity;                                           // a key query 10 sees
  fm.data[20 * T + 50] = NaN;                                                // a key query 20 does not see
  const { weights } = F.scaledDotProductAttention(q!, k!, v!, { blockMask: bm, mask: fm, returnWeights: true });
  const rowOf = (i: number): number[] => Array.from(weights.data.subarray(i * T, (i + 1) * T));
  assert.ok(rowOf(10).every(Number.isNaN), 'row 10 is NaN at every key');
  assert.ok(rowOf(20).every(Number.isFinite) && Math.abs(rowOf(20).reduce((a, b) => a + b, 0) - 1) < 1e-6, 'row 20 is finite and sums to 1');
  assert.ok(rowOf(0).slice(16).every((x) => x === 0), 'row 0: the skipped tiles are exact zeros');
  const ref = dense(q!, k!, v!, { label: '', bm, B: 1, H: 1 }, null, { mask: fm }).weights;
  assertAllClose(weights, ref, { rtol: 2e-4, atol: 2e-5, msg: 'equal to masked full attention' });
});

test('sparse layers give their weights from the touched tiles, equal to the dense weights under the pattern', () => {
  const g = new Generator(6);
  const layer = new nn.SparseSelfAttention({ embedDim: 16, numHeads: 2, pattern: 'window', window: 4, relativeBias: { maxDistance: 8 }, rng: g });
  F.add(layer.relativeBias!, randn(layer.relativeBias!.shape, { rng: g })).data.forEach((x, i) => { layer.relativeBias!.data[i] = x; });
  const x = randn([2, 50, 16], { rng: g });
  const keyMask = tensor([Array(50).fill(true), [...Array(44).fill(true), ...Array(6).fill(false)]]);
  const { output, weights } = layer.forward(x, { keyMask, needWeights: true });
  assert.ok(tapeNames(weights!).has('blockWeights'), 'from the tile primitive');
  assertAllClose(output, layer.forward(x, { keyMask }).output, { rtol: 1e-6, atol: 1e-7, msg: 'asking for weights leaves the output' });
  const [q, k] = F.split(layer.inProj.forward(x), [16, 16, 16], -1).slice(0, 2).map((t) => F.transpose(F.reshape(t, [2, 50, 2, 8]), 1, 2));
  let scores = F.add(F.mul(F.matmul(q!, F.transpose(k!, -2, -1)), 1 / Math.sqrt(8)), F.relativePositionBias({ table: layer.relativeBias!, maxDistance: 8 }, 50, 50));
  const visible = F.logicalAnd(F.reshape(nn.patternToMask(layer.patternFor(50)), [1, 1, 50, 50]), F.reshape(keyMask, [2, 1, 1, 50]));
  scores = F.where(visible, scores, -Infinity);
  assertAllClose(weights!, F.softmax(scores, -1), { rtol: 2e-4, atol: 2e-5, msg: 'dense weights' });
});
