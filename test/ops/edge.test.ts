import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as F from '../../src/index.js';
import { tensor, backward, full, zeros } from '../../src/index.js';
import { assertAllClose } from '../helpers.js';

test('softmax of ±1e4 logits is finite and rows sum to 1', () => {
  const x = tensor([[1e4, -1e4, 0], [-1e4, -1e4, 1e4], [1e4, 1e4, 1e4]]);
  const y = F.softmax(x, -1);
  assert.ok([...y.data].every(Number.isFinite));
  assertAllClose(F.sum(y, -1), [1, 1, 1]);
  assertAllClose(y, tensor([[1, 0, 0], [0, 0, 1], [1 / 3, 1 / 3, 1 / 3]]), { atol: 1e-7 });
  const ls = F.logSoftmax(x, -1);
  assert.ok([...ls.data].every(Number.isFinite));
  assertAllClose(F.logsumexp(x, -1), [1e4, 1e4, 1e4 + Math.log(3)]);
});

test('a fully masked softmax row gives zeros, not NaN, and passes no gradient', () => {
  const x = tensor([[1, 2, 3], [0, 0, 0]]).requireGrad();
  const mask = tensor([[true, false, true], [false, false, false]]);
  const y = F.softmax(F.maskedFill(x, F.logicalNot(mask), -Infinity), -1);
  assert.deepEqual(Array.from(y.data.slice(3)), [0, 0, 0]);
  assertAllClose(y.data.slice(0, 3), [1 / (1 + Math.exp(2)), 0, Math.exp(2) / (1 + Math.exp(2))], { atol: 1e-7 });
  backward(F.sum(F.mul(y, tensor([[1, 2, 3], [4, 5, 6]]))));
  assert.ok([...x.grad!.data].every(Number.isFinite));
  assert.deepEqual(Array.from(x.grad!.data.slice(3)), [0, 0, 0]);
});

test('logsumexp of a -inf row is -inf, not NaN, with zero gradient', () => {
  const x = tensor([[-Infinity, -Infinity], [0, Math.log(3)]]).requireGrad();
  const y = F.logsumexp(x, -1);
  assert.equal(y.data[0], -Infinity);
  assertAllClose([y.data[1]], [Math.log(4)]);
  backward(F.sum(F.mul(y, tensor([0, 1]))));
  assert.deepEqual(Array.from(x.grad!.data), [0, 0, 0.25, 0.75]);
  const ls = F.logSoftmax(full([1, 3], -Infinity), -1);
  assert.ok([...ls.data].every((v) => v === -Infinity));
});

test('logSoftmax of a row of only −∞ passes no gradient (was the upstream gradient itself), along the last and an inner dim', () => {
  for (const dim of [-1, 0]) {
    const raw = dim === -1 ? [[-Infinity, -Infinity, -Infinity], [1, 2, 3]] : [[-Infinity, 1], [-Infinity, 2], [-Infinity, 3]];
    const x = tensor(raw).requireGrad();
    const g = dim === -1 ? tensor([[0.3, -0.7, 2], [1, 0, 0]]) : tensor([[0.3, 1], [-0.7, 0], [2, 0]]);
    backward(F.sum(F.mul(F.logSoftmax(x, dim), g)));
    const grad = Array.from(x.grad!.data);
    const masked = dim === -1 ? grad.slice(0, 3) : [grad[0], grad[2], grad[4]];
    assert.deepEqual(masked, [0, 0, 0], `dim ${dim}: ${grad}`);
    const live = dim === -1 ? grad.slice(3) : [grad[1], grad[3], grad[5]];
    const e = [1, 2, 3].map((v) => Math.exp(v)), z = e.reduce((a, b) => a + b, 0);
    assertAllClose(live, e.map((v, k) => (k === 0 ? 1 : 0) - v / z), { atol: 1e-6, msg: `dim ${dim}` });
  }
});

test('hand-derived goldens: matmul, layerNorm, crossEntropy', () => {
  // [[1,2],[3,4]]·[[5],[6]] = [[17],[39]]
  assert.deepEqual(F.matmul(tensor([[1, 2], [3, 4]]), tensor([[5], [6]])).toArray(), [[17], [39]]);
  // layerNorm([1,2,3]): mean 2, var 2/3 → (x−2)/√(2/3 + eps)
  const s = Math.sqrt(2 / 3 + 1e-5);
  assertAllClose(F.layerNorm(tensor([1, 2, 3]), [3]), [-1 / s, 0, 1 / s]);
  // uniform logits over 4 classes: CE = ln 4 regardless of target and smoothing
  const ce = F.crossEntropy(tensor([[0, 0, 0, 0]]), tensor([2], { dtype: 'int32' }), { labelSmoothing: 0.3 });
  assertAllClose([ce.item()], [Math.log(4)]);
});

test('crossEntropy: masked classes, an ignored row of −∞ logits, a row of only −∞', () => {
  const x = tensor([
    [2, -Infinity, 0],               // a masked class that is not the target
    [-Infinity, -Infinity, -Infinity], // ignored: no loss, no NaN
    [-Infinity, -Infinity, -Infinity], // a real target over only −∞: +∞, as log(0)
  ]).requireGrad();
  const loss = F.crossEntropy(x, tensor([0, -100, 1], { dtype: 'int32' }), { reduction: 'none' });
  const lse0 = Math.log(Math.exp(2) + 1);
  assertAllClose(loss.data.slice(0, 2), [lse0 - 2, 0]);
  assert.equal(loss.data[2], Infinity);
  backward(F.sum(F.mul(loss, tensor([1, 1, 1]))));
  const p0 = Math.exp(2 - lse0), p2 = Math.exp(-lse0);
  assertAllClose(x.grad!.data.slice(0, 3), [p0 - 1, 0, p2]);
  assert.deepEqual(Array.from(x.grad!.data.slice(3)), [0, 0, 0, 0, 0, 0]);
  // 'mean' divides by the non-ignored count; the class weights of those rows when given
  const y = tensor([[1, 2, 3], [3, 2, 1], [0, 0, 5]]);
  const t = tensor([2, -100, 0], { dtype: 'int32' });
  const each = F.crossEntropy(y, t, { reduction: 'none' }).data;
  assertAllClose([F.crossEntropy(y, t).item()], [(each[0] + each[2]) / 2]);
  const w = tensor([0.5, 1, 2]);
  const weighted = F.crossEntropy(y, t, { weight: w, reduction: 'none' }).data;
  assertAllClose([weighted[0], weighted[2]], [2 * each[0], 0.5 * each[2]]);
  assertAllClose([F.crossEntropy(y, t, { weight: w }).item()], [(weighted[0] + weighted[2]) / 2.5]);
});

test('comparisons return bool masks; where broadcasts', () => {
  const a = tensor([1, 2, 3]);
  assert.equal(F.gt(a, 2).dtype, 'bool');
  assert.deepEqual(F.gt(a, 2).toArray(), [false, false, true]);
  assert.deepEqual(F.where(F.le(a, 1), a, tensor([[10], [20]])).toArray(), [[1, 10, 10], [1, 20, 20]]);
  assert.deepEqual(F.tril(tensor([[1, 2], [3, 4]])).toArray(), [[1, 0], [3, 4]]);
  assert.deepEqual(F.triu(tensor([[1, 2], [3, 4]]), 1).toArray(), [[0, 2], [0, 0]]);
});

test('shape ops follow PyTorch', () => {
  const x = F.reshape(F.arange(0, 24, 1, { dtype: 'float32' }), [2, 3, 4]);
  assert.deepEqual(F.transpose(x, 0, 2).shape, [4, 3, 2]);
  assert.deepEqual(F.chunk(x, 2, 2).map((t) => t.shape), [[2, 3, 2], [2, 3, 2]]);
  assert.deepEqual(F.split(x, [1, 2], 1).map((t) => t.shape), [[2, 1, 4], [2, 2, 4]]);
  assert.deepEqual(F.stack([x, x], 1).shape, [2, 2, 3, 4]);
  assert.deepEqual(F.slice(x, -1, 1, undefined, 2).toArray(), [[[1, 3], [5, 7], [9, 11]], [[13, 15], [17, 19], [21, 23]]]);
  assert.deepEqual(F.flip(tensor([1, 2, 3]), 0).toArray(), [3, 2, 1]);
  assert.deepEqual(F.pad(tensor([[1]]), [1, 0, 0, 1], 9).toArray(), [[9, 1], [9, 9]]);
  assert.deepEqual(F.cumsum(tensor([1, 2, 3]), 0).toArray(), [1, 3, 6]);
  const m = F.max(tensor([[1, 5, 2], [7, 0, 7]]), 1);
  assert.deepEqual(m.values.toArray(), [5, 7]);
  assert.deepEqual(m.indices.toArray(), [1, 0]);
  assert.deepEqual(F.argmax(tensor([[1, 5], [9, 0]])).toArray(), 2);
  assertAllClose(F.variance(tensor([1, 2, 3, 4])), [5 / 3]);
  assertAllClose(F.std(tensor([1, 2, 3, 4]), 0, { correction: 0 }), [Math.sqrt(1.25)]);
  assert.deepEqual(F.scatterAdd(zeros([3]), 0, tensor([0, 2, 0], { dtype: 'int32' }), tensor([1, 2, 3])).toArray(), [4, 0, 2]);
});

test('dropout keeps about 1 − p of the elements, scales them by 1/(1 − p), draws a new pattern each call and none in eval', () => {
  const x = F.ones([200, 100]);
  const rng = new F.Generator(9);
  for (const p of [0.1, 0.5, 0.9]) {
    const y = F.dropout(x, p, { training: true, rng });
    let kept = 0;
    for (const v of y.data) {
      if (v !== 0) {
        kept++;
        assert.ok(Math.abs(v - 1 / (1 - p)) < 1e-6, `kept value ${v}, expected ${1 / (1 - p)}`);
      }
    }
    const frac = kept / y.size, sd = Math.sqrt(p * (1 - p) / y.size);
    assert.ok(Math.abs(frac - (1 - p)) < 5 * sd, `p ${p}: kept ${frac.toFixed(4)} of the elements`);
  }
  const a = F.dropout(x, 0.5, { training: true, rng }), b = F.dropout(x, 0.5, { training: true, rng });
  assert.notDeepEqual(Array.from(a.data.subarray(0, 64)), Array.from(b.data.subarray(0, 64)), 'a new seed each call');
  assert.equal(F.dropout(x, 0.5, { training: false, rng }), x, 'eval: identity');
});

/** PyTorch 1.13's NaN and ±∞ results (scripts/torch_fixtures.py writes them; JSON spells NaN and ±∞ as strings). */
type Num = number | 'NaN' | 'Infinity' | '-Infinity';
const nonfinite = (JSON.parse(readFileSync(new URL('../fixtures/torch_ops.json', import.meta.url), 'utf8')) as { nonfinite: {
  rows: { row: Num[]; softmax: Num[]; log_softmax: Num[]; logsumexp: Num[] }[];
  cross_entropy: { row: Num[]; target: number; label_smoothing: number; loss: Num[] }[];
  cross_entropy_grad: { row: Num[]; target: number; grad: Num[] };
  layer_norm: { row: Num[]; output: Num[] }[];
  amax: { row: Num[]; output: Num[] }[];
  max: { row: Num[]; values: Num[]; indices: number[] }[];
} }).nonfinite;
const nums = (xs: Num[]): number[] => xs.map(Number);

test('NaN in, NaN out; ±∞ as PyTorch 1.13 (values from torch, scripts/torch_fixtures.py): softmax, logSoftmax, logsumexp, crossEntropy, layerNorm, amax, max', () => {
  const N = NaN, I = Infinity;
  // rows of 37 put the special past the kernels' first vectors; the rest of each row is finite
  assert.ok(nonfinite.rows.some((r) => r.row.length === 37), 'the fixture has the 37-wide rows');
  for (const r of nonfinite.rows) {
    const row = nums(r.row), x = tensor([row]);
    const what = row.length > 3 ? `37 wide, ${row.find((v) => !Number.isFinite(v))}` : row.join(', ');
    assertAllClose(F.softmax(x, -1).data, nums(r.softmax), { msg: `softmax(${what})` });
    assertAllClose(F.logSoftmax(x, -1).data, nums(r.log_softmax), { msg: `logSoftmax(${what})` });
    assertAllClose(F.logsumexp(x, -1), nums(r.logsumexp), { msg: `logsumexp(${what})` });
    // along a non-last dim too (the strided path)
    assertAllClose(F.softmax(F.transpose(tensor([row, row]), 0, 1), 0), F.transpose(F.softmax(tensor([row, row]), -1), 0, 1), { msg: 'softmax along dim 0' });
  }
  // the one deliberate difference: a fully masked row gives zeros / −∞ (PyTorch: NaN)
  assert.deepEqual(Array.from(F.softmax(tensor([[-I, -I]]), -1).data), [0, 0]);
  for (const c of nonfinite.cross_entropy) {
    const loss = F.crossEntropy(tensor([nums(c.row)]), tensor([c.target], { dtype: 'int32' }), { labelSmoothing: c.label_smoothing, reduction: 'none' });
    assertAllClose(loss.data, nums(c.loss), { msg: `CE([${c.row.slice(0, 3).join(', ')}…], ${c.target}, ${c.label_smoothing})` });
  }
  const cg = nonfinite.cross_entropy_grad, xg = tensor([nums(cg.row)]).requireGrad();
  backward(F.crossEntropy(xg, tensor([cg.target], { dtype: 'int32' })));
  assertAllClose(xg.grad!.data, nums(cg.grad), { msg: 'the gradient of a NaN row' });
  for (const c of nonfinite.layer_norm) assertAllClose(F.layerNorm(tensor(nums(c.row)), [3]).data, nums(c.output), { msg: `layerNorm([${c.row.join(', ')}])` });
  for (const c of nonfinite.amax) assertAllClose([F.amax(tensor(nums(c.row))).item()], nums(c.output), { msg: `amax([${c.row.join(', ')}])` });
  for (const c of nonfinite.max) {
    const m = F.max(tensor([nums(c.row)]), 1);
    assertAllClose(m.values.data, nums(c.values), { msg: `max([${c.row.join(', ')}]) values` });
    assert.deepEqual(m.indices.toArray(), c.indices);
  }
  // dropout: a dropped NaN stays NaN and a dropped ±∞ becomes NaN (PyTorch's x·0); kept ones scale
  const dropped = F.dropout(tensor(Array.from({ length: 64 }, (_, i) => [N, I, -I, 1][i % 4]!)), 0.5, { training: true, rng: new F.Generator(3) });
  const ones = F.dropout(F.ones([64]), 0.5, { training: true, rng: new F.Generator(3) });
  Array.from(dropped.data).forEach((y, i) => {
    const kept = ones.data[i] !== 0, x = [N, I, -I, 1][i % 4]!;
    assert.ok(Object.is(y, kept ? 2 * x : x === 1 ? 0 : NaN), `dropout element ${i} (${x}, ${kept ? 'kept' : 'dropped'}): ${y}`);
  });
});

test('relu keeps NaN and passes its gradient, as PyTorch (threshold: 0 where x ≤ 0, else x)', () => {
  // torch.relu([nan, -1, 2, -inf, inf]) = [nan, 0, 2, 0, inf]; its backward is grad where not (x ≤ 0): [1, 0, 1, 0, 1]
  const x = tensor([NaN, -1, 2, -Infinity, Infinity]).requireGrad();
  const y = F.relu(x);
  assertAllClose(y.data, [NaN, 0, 2, 0, Infinity], { msg: 'relu forward' });
  backward(F.sum(y));
  assertAllClose(x.grad!.data, [1, 0, 1, 0, 1], { msg: 'relu gradient' });
  // a model must not turn a NaN input into a finite output: Linear → relu → Linear
  const h = F.relu(F.matmul(tensor([[NaN, 1, 2]]), F.ones([3, 4])));
  assert.ok(Array.from(F.matmul(h, F.ones([4, 2])).data).every(Number.isNaN), 'NaN reaches the output');
});
