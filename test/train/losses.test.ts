/** Regression losses (L1, Huber) and class weights, hand-derived; gradients checked numerically. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, data, gradcheck, models, tensor } from '../../src/index.js';
import { r64 } from '../helpers.js';

test('l1Loss and huberLoss match their definitions (δ = 1 and δ = 2)', () => {
  const x = tensor([0.5, -3, 2]), y = tensor([0, 0, 0]);
  assert.ok(Math.abs(F.l1Loss(x, y).item() - 5.5 / 3) < 1e-6);
  // |d| = 0.5 → ½·0.25 = 0.125; |d| = 3 → 1·(3 − 0.5) = 2.5; |d| = 2 → 1.5
  assert.ok(Math.abs(F.huberLoss(x, y).item() - (0.125 + 2.5 + 1.5) / 3) < 1e-6);
  // δ = 2: 0.125, 2·(3 − 1) = 4, ½·4 = 2
  assert.ok(Math.abs(F.huberLoss(x, y, { delta: 2, reduction: 'sum' }).item() - 6.125) < 1e-6);
  assert.throws(() => F.huberLoss(x, y, { delta: 0 }), /delta must be positive/);
  assert.throws(() => F.l1Loss(x, tensor([1, 2])), /target has shape \[2\]/);
  for (const fn of [(a: typeof x, b: typeof x) => F.l1Loss(a, b), (a: typeof x, b: typeof x) => F.huberLoss(a, b, { delta: 0.7 })]) {
    const r = gradcheck(fn, [r64([7], 1, { scale: 2 }), r64([7], 2, { grad: false })]);
    assert.ok(r.ok, JSON.stringify(r));
  }
});

test('balanced class weights are n / (K·countₖ) and scale each class in the loss', () => {
  const recs = [...Array(6).fill({ x: 1, y: 'a' }), ...Array(2).fill({ x: 2, y: 'b' })];
  const pre = data.Preprocessor.fit({ fields: [{ name: 'x', kind: 'numeric' }], targets: [{ name: 'y', task: 'multiclass', classWeights: 'balanced' }] }, recs);
  const t = pre.targetInfo()[0];
  assert.deepEqual(t.classWeights, [8 / (2 * 6), 8 / (2 * 2)]);
  const b = pre.encode(recs).dataset.batch([0, 6]);
  const logits = tensor([[2, 0], [2, 0]]);                          // row 0 class a (right), row 1 class b (wrong)
  const l = models.taskLoss([t], { y: logits }, b).item();
  const ce = (z: number[], k: number): number => Math.log(z.reduce((s, v) => s + Math.exp(v), 0)) - z[k];
  const w = t.classWeights!;
  assert.ok(Math.abs(l - (w[0] * ce([2, 0], 0) + w[1] * ce([2, 0], 1)) / (w[0] + w[1])) < 1e-5);
  const bin = data.Preprocessor.fit({ fields: [{ name: 'x', kind: 'numeric' }], targets: [{ name: 'y', task: 'binary', positive: 'b', classWeights: [1, 3] }] }, recs);
  const bt = bin.targetInfo()[0];
  const bb = bin.encode(recs).dataset.batch([0, 6]);
  const z = tensor([0.5, 0.5]);
  const sp = (v: number): number => Math.log1p(Math.exp(v));
  assert.ok(Math.abs(models.taskLoss([bt], { y: z }, bb).item() - (1 * sp(0.5) + 3 * sp(-0.5)) / 2) < 1e-6);
  assert.throws(() => data.Preprocessor.fit({ fields: [{ name: 'x', kind: 'numeric' }], targets: [{ name: 'y', task: 'binary', positive: 'b', classWeights: [1] }] }, recs), /classWeights lists 1/);
});

test('regression targets train with the loss their schema names', () => {
  const recs = Array.from({ length: 20 }, (_, i) => ({ x: i, y: i === 19 ? 1000 : i }));
  for (const loss of ['mse', 'mae', 'huber'] as const) {
    const pre = data.Preprocessor.fit({ fields: [{ name: 'x', kind: 'numeric' }], targets: [{ name: 'y', task: 'regression', loss }] }, recs);
    const t = pre.targetInfo()[0];
    assert.equal(t.loss, loss);
    const b = pre.encode(recs).dataset.batch([19]);
    const pred = tensor([0]);
    const d = Math.abs(b.targets.y.data[0]);
    const expected = loss === 'mse' ? d * d : loss === 'mae' ? d : d - 0.5;
    assert.ok(Math.abs(models.taskLoss([t], { y: pred }, b).item() - expected) < 1e-4, loss);
  }
});
