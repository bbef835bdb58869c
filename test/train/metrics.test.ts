/**
 * Honest metrics (issue 24, part 5): binary precision / recall / F1 are the positive class's,
 * macro averages are named macro*, class names (not ids) in predictions and metric text, and
 * per-epoch validation metrics from the validation pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, Module, analysis, data, models, tensor, train } from '../../src/index.js';
import { progressCallbacks } from '../../src/cli/progress.js';
import { validationPass, formatMetrics } from '../../src/train/evaluate.js';
import { classScores } from '../../src/train/metrics.js';
import type { Batch } from '../../src/data/dataset.js';

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a}, expected ${b}`);

// A confusion built by hand, positive class 'M' (1):
//            predicted M   predicted B
//   truth M      TP 3          FN 2
//   truth B      FP 1          TN 4
// precision(M) = 3/4, recall(M) = 3/5, F1(M) = 2·(3/4)(3/5)/(3/4 + 3/5) = 2/3;
// B: precision 4/6, recall 4/5, F1 = 2·(2/3)(4/5)/(2/3 + 4/5) = 8/11; macro F1 = (2/3 + 8/11)/2 = 23/33;
// accuracy 7/10. Scores: the model outputs the logit in column `s` (rows predicted M get +2, B −2),
// ranked so that AUC is computable by hand: see below.
const truth = ['M', 'M', 'M', 'M', 'M', 'B', 'B', 'B', 'B', 'B'];
const logit = [2, 2, 2, -2, -1, 1, -2, -2, -2, -3];
// AUC: pairs (M, B) with M's score above B's, ties half. M scores 2,2,2,−2,−1; B scores 1,−2,−2,−2,−3.
// 2 beats all 5 B (×3 = 15); −2 beats −3 (1) and ties the three −2 (1.5); −1 beats −2 ×3 and −3 (4): 21.5 / 25.
const AUC = 21.5 / 25;
const records = truth.map((y, i) => ({ s: logit[i], y }));
const pre = data.Preprocessor.fit({ fields: [{ name: 's', kind: 'numeric', normalize: 'none' }], targets: [{ name: 'y', task: 'binary', positive: 'M' }] }, records);
const ds = pre.encode(records).dataset;
const rows = records.map((_, i) => i);

/** A model whose output is its input column: the scores are ours. */
class Passthrough extends Module implements models.TaskModel {
  constructor(readonly targets: data.TargetInfo[]) { super(); }
  forward(b: Batch): { outputs: Record<string, never> } {
    const f = b.fields.s;
    if (f.kind !== 'numeric') throw new Error('numeric expected');
    return { outputs: { y: f.values } as never };
  }
}

test('binary metrics: precision, recall and F1 of the positive class, macroF1 named, AUC — against a confusion built by hand (the old code gave macro values as precision/recall/f1)', () => {
  assert.deepEqual(pre.targetInfo()[0].classes, ['B', 'M'], 'binary class names [negative, positive]');
  const m = train.evaluate(new Passthrough(pre.targetInfo()), ds, rows).y;
  close(m.accuracy, 0.7, 'accuracy');
  close(m.precision, 3 / 4, 'precision(M)');
  close(m.recall, 3 / 5, 'recall(M)');
  close(m.f1, 2 / 3, 'f1(M)');
  close(m.macroF1, 23 / 33, 'macroF1');
  close(m.auc, AUC, 'auc');
  const s = classScores([1, 1, 1, 0, 0, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0, 0, 0, 0], 2);
  assert.deepEqual(s.map((c) => c.support), [5, 5]);
  close(s[0].f1, 8 / 11, 'F1(B)');
});

test('multi-class metrics are named macro*, and the text names the classes', () => {
  const recs = [['a', 'a'], ['a', 'b'], ['b', 'b'], ['c', 'c'], ['c', 'a'], ['b', 'b']].map(([t, p]) => ({ s: p, y: t }));
  const p = data.Preprocessor.fit({ fields: [{ name: 's', kind: 'categorical' }], targets: [{ name: 'y', task: 'multiclass' }] }, recs);
  const d = p.encode(recs).dataset;
  // one-hot logits from the category id (ids 2, 3, 4 are the categories in frequency order: a, b, c → re-mapped to class ids)
  const cats = (p.state().fields.s as { categories: string[] }).categories;
  class OneHot extends Module implements models.TaskModel {
    constructor(readonly targets: data.TargetInfo[]) { super(); }
    forward(b: Batch): { outputs: Record<string, never> } {
      const f = b.fields.s;
      if (f.kind !== 'categorical') throw new Error('categorical expected');
      const ids = Array.from(f.ids.data as Int32Array);
      const out = new Float32Array(ids.length * 3);
      ids.forEach((id, i) => { out[i * 3 + ['a', 'b', 'c'].indexOf(cats[id - 2])] = 5; });
      return { outputs: { y: tensor(out, { shape: [ids.length, 3] }) } as never };
    }
  }
  const m = train.evaluate(new OneHot(p.targetInfo()), d, [0, 1, 2, 3, 4, 5]).y;
  // truth a a b c c b, predicted a b b c a b: a P 1/2 R 1/2; b P 2/3 R 1; c P 1 R 1/2
  assert.deepEqual(Object.keys(m).sort(), ['accuracy', 'macroF1', 'macroPrecision', 'macroRecall']);
  close(m.accuracy, 4 / 6, 'accuracy');
  close(m.macroPrecision, (1 / 2 + 2 / 3 + 1) / 3, 'macroPrecision');
  close(m.macroRecall, (1 / 2 + 1 + 1 / 2) / 3, 'macroRecall');
  close(m.macroF1, (1 / 2 + 0.8 + 2 / 3) / 3, 'macroF1');
  assert.match(formatMetrics({ y: m }, p.targetInfo()), /^y \(classes 'a', 'b', 'c'\): accuracy 0\.6667, macroPrecision/);
});

test('predictions and metric text name the classes, not ids', () => {
  const scores = { y: Float32Array.from([0.9, 0.2]) };
  const t = pre.targetInfo();
  assert.deepEqual(train.predictionRecord(t, scores, 0), { y: { label: 'M', probability: 0.9, positive: 'M' } });
  assert.deepEqual(train.predictionRecord(t, scores, 1).y, { label: 'B', probability: 0.2, positive: 'M' });
  assert.match(formatMetrics({ y: { accuracy: 0.5, f1: 0.25 } }, t), /^y \(positive class 'M'\): accuracy 0\.5000, f1 0\.2500$/);
  // default spellings: the most frequent of each side
  const yn = data.Preprocessor.fit({ fields: [{ name: 's', kind: 'numeric' }], targets: [{ name: 'y', task: 'binary' }] }, [{ s: 1, y: 'yes' }, { s: 2, y: 'no' }, { s: 3, y: 'Yes' }, { s: 4, y: 'yes' }]);
  assert.deepEqual(yn.targetInfo()[0].classes, ['no', 'yes']);
  // several negative spellings: 'not <positive>'
  const many = data.Preprocessor.fit({ fields: [{ name: 's', kind: 'numeric' }], targets: [{ name: 'y', task: 'binary', positive: 'spam' }] }, [{ s: 1, y: 'spam' }, { s: 2, y: 'ham' }, { s: 3, y: 'eggs' }]);
  assert.deepEqual(many.targetInfo()[0].classes, ['not spam', 'spam']);
});

test('the validation pass gives the loss meanLoss gives and the metrics evaluate gives, from one forward', () => {
  const schema = { fields: [{ name: 'x', kind: 'numeric' }, { name: 'c', kind: 'categorical' }], targets: [{ name: 'y', task: 'binary' }, { name: 'r', task: 'regression' }] };
  const g = new Generator(4);
  const recs = Array.from({ length: 80 }, (_, i) => { const x = g.normal(); return { x, c: ['p', 'q'][i % 2], y: x > 0 ? 1 : 0, r: 2 * x + 1 }; });
  const p = data.Preprocessor.fit(schema, recs);
  const d = p.encode(recs).dataset;
  const model = new models.FusionModel(p.fieldInfo(), p.targetInfo(), { dim: 8, heads: 2, layers: 1 }, new Generator(1));
  const vrows = Array.from({ length: 30 }, (_, i) => i * 2);
  const v = validationPass(model, d, vrows);
  assert.equal(v.loss, train.meanLoss(model, d, vrows));
  assert.deepEqual(v.metrics, train.evaluate(model, d, vrows));

  // the trainer's history carries them per epoch
  const split = data.splitIndices(d.size, { seed: 0 });
  const trainer = new train.Trainer(model, d, split, { epochs: 2, batchSize: 16 }, { seed: 0 });
  const lines: string[] = [];
  trainer.callbacks.push(progressCallbacks({ epochs: 2, tty: false, log: (l) => lines.push(l) }));
  trainer.run();
  for (const h of trainer.history) {
    assert.deepEqual(Object.keys(h.valid!), ['y', 'r']);
    assert.deepEqual(Object.keys(h.valid!.y), ['accuracy', 'precision', 'recall', 'f1', 'macroF1', 'auc']);
    assert.deepEqual(Object.keys(h.valid!.r), ['mae', 'rmse', 'r2']);
  }
  // the progress line shows them beside the losses
  assert.match(lines.at(-1)!, /valid loss \d\.\d{4}  y accuracy \d\.\d{4} f1 \d\.\d{4} auc \d\.\d{4}  r rmse \d\.\d{4}  lr/);
  // and a checkpoint carries them through a resume (NaN ↔ null)
  const again = new train.Trainer(model, d, split, { epochs: 3, batchSize: 16 }, { seed: 0 });
  again.resume(trainer.checkpoint());
  assert.deepEqual(JSON.parse(JSON.stringify(again.history)), JSON.parse(JSON.stringify(trainer.history)));
});

test('the attention report names the classes of a binary target and keeps the validation metrics of each epoch', () => {
  const model = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 8, heads: 2, layers: 1 }, new Generator(2));
  const history = [{ epoch: 1, trainLoss: 0.5, validLoss: 0.4, valid: { y: { accuracy: 0.7, auc: 0.86 } }, lr: 1e-3, seconds: 1, best: true }];
  const r = analysis.buildReport({ title: 't', model, state: pre.state(), dataset: ds, rows: [0, 5], history });
  assert.deepEqual(r.samples.map((s) => s.target), ['M', 'B']);
  for (const s of r.samples) assert.match(s.prediction, /^[BM] \(p\(M\) = 0\.\d{3}\)$/);
  assert.deepEqual(r.history[0].valid, { y: { accuracy: 0.7, auc: 0.86 } });
});
