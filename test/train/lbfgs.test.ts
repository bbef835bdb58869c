/**
 * The linear baseline trained by full-batch L-BFGS reaches the logistic-regression optimum:
 * scikit-learn's LogisticRegression (C = 1) on the same standardised table
 * (scripts/sklearn_logreg_fixture.py → test/fixtures/sklearn_logreg.json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Generator, ValueError, data, models, train } from '../../src/index.js';

const fx = JSON.parse(readFileSync(new URL('../fixtures/sklearn_logreg.json', import.meta.url), 'utf8')) as {
  C: number; X: number[][]; y: number[]; coef: number[]; intercept: number; meanLoss: number; objective: number;
};
const d = fx.coef.length;
const schema = { fields: Array.from({ length: d }, (_, j) => ({ name: `x${j}`, kind: 'numeric', normalize: 'none' })), targets: [{ name: 'y', task: 'binary' }] };
const records = fx.X.map((row, i) => ({ ...Object.fromEntries(row.map((v, j) => [`x${j}`, v])), y: fx.y[i] }));

test('fitLbfgs: the linear model reaches scikit-learn\'s logistic-regression optimum (coefficients, intercept, loss)', () => {
  const pre = data.Preprocessor.fit(schema, records);
  const ds = pre.encode(records).dataset;
  const rows = Array.from({ length: records.length }, (_, i) => i);
  const m = new models.LinearModel(pre.fieldInfo(), pre.targetInfo(), { rng: new Generator(0) });
  const r = train.fitLbfgs(m, ds, rows, { l2: 1 / (fx.C * rows.length) });
  assert.ok(r.converged, `not converged: ‖∇‖∞ ${r.gradMax} after ${r.iterations} iterations`);
  assert.ok(Math.abs(r.loss - fx.objective) < 1e-5, `objective ${r.loss} vs scikit-learn ${fx.objective}`);
  // each field's vector is [value, present]; present is always 1, so its weight joins the intercept
  const w = m.heads.heads[0].weight.data;                           // [1, 2d]
  const coef = Array.from({ length: d }, (_, j) => w[2 * j]);
  const intercept = m.heads.heads[0].bias!.data[0] + Array.from({ length: d }, (_, j) => w[2 * j + 1]).reduce((a, b) => a + b, 0);
  coef.forEach((c, j) => assert.ok(Math.abs(c - fx.coef[j]) < 2e-3, `coef ${j}: ${c} vs ${fx.coef[j]}`));
  assert.ok(Math.abs(intercept - fx.intercept) < 2e-3, `intercept ${intercept} vs ${fx.intercept}`);
  const meanLoss = train.meanLoss(m, ds, rows);
  assert.ok(Math.abs(meanLoss - fx.meanLoss) < 1e-5, `mean loss ${meanLoss} vs ${fx.meanLoss}`);
  // the losses decrease monotonically
  r.losses.slice(1).forEach((l, i) => assert.ok(l <= r.losses[i], `iteration ${i + 1}: ${l} > ${r.losses[i]}`));
});

test('fitLbfgs: bad options are refused naming the function', () => {
  const pre = data.Preprocessor.fit(schema, records);
  const ds = pre.encode(records).dataset;
  const m = new models.LinearModel(pre.fieldInfo(), pre.targetInfo(), { rng: new Generator(0) });
  assert.throws(() => train.fitLbfgs(m, ds, [0, 1], { l2: -1 }), (e: Error) => e instanceof ValueError && /fitLbfgs: need l2 ≥ 0/.test(e.message));
  assert.throws(() => train.fitLbfgs(m, ds, [0, 1], { steps: 3 } as never), /fitLbfgs.*steps/);
});

test('Trainer: the linear model trains with L-BFGS by default (one full-batch epoch to the optimum); resolvedOptions records every default', () => {
  const pre = data.Preprocessor.fit(schema, records);
  const ds = pre.encode(records).dataset;
  const split = data.splitIndices(records.length, { seed: 0 });
  const m = new models.LinearModel(pre.fieldInfo(), pre.targetInfo(), { rng: new Generator(0) });
  const t = new train.Trainer(m, ds, split, { weightDecay: 1 / split.train.length }, { seed: 0 });
  assert.deepEqual(t.resolvedOptions(), { epochs: 60, batchSize: 32, optimizer: 'lbfgs', weightDecay: 1 / split.train.length });
  const r = t.run();
  assert.equal(r.history.length, 1);
  assert.equal(r.bestEpoch, 1);
  // the same optimum fitLbfgs reaches on the training rows
  const ref = new models.LinearModel(pre.fieldInfo(), pre.targetInfo(), { rng: new Generator(0) });
  train.fitLbfgs(ref, ds, split.train, { l2: 1 / split.train.length });
  assert.ok(Math.abs(r.history[0].trainLoss - train.meanLoss(ref, ds, split.train)) < 1e-6);
  const mlp = new models.MLPModel(pre.fieldInfo(), pre.targetInfo(), { rng: new Generator(0) });
  assert.deepEqual(new train.Trainer(mlp, ds, split, { warmup: 0.1 }, { seed: 0 }).resolvedOptions(), {
    epochs: 60, batchSize: 32, optimizer: 'adamw', lr: 3e-3, weightDecay: 0.01, schedule: { type: 'cosine', warmup: 0.1 }, clipNorm: 1, accumulate: 1, patience: 12, ema: 0,
  });
});
