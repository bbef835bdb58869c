/** The Trainer's moving average of the weights (train option `ema`). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, data, models, train } from '../../src/index.js';
import { runUntilEpoch } from '../helpers.js';

const schema = { fields: [{ name: 'x', kind: 'numeric' }, { name: 'c', kind: 'categorical' }], targets: [{ name: 'y', task: 'binary' }] };
const rng0 = new Generator(4);
const records = Array.from({ length: 80 }, (_, i) => {
  const x = rng0.normal();
  return { x, c: ['a', 'b', 'c'][i % 3], y: x + (i % 3) - 1 > 0 ? 1 : 0 };
});
const pre = data.Preprocessor.fit(schema, records);
const ds = pre.encode(records).dataset;
const split = data.splitIndices(ds.size, { seed: 2 });
const model = (): models.FusionModel => new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 8, heads: 2, layers: 1, dropout: 0.1 }, new Generator(7));
const weights = (m: models.TaskModel): number[] => m.parameters().flatMap((p) => Array.from(p.data));

test('ema: the trained model is the moving average of the weights after every step, with the warm-up of the decay', () => {
  const m = model();
  const decay = 0.9;
  let avg = weights(m);   // starts at the weights training starts from
  let t = 0;
  const trainer = new train.Trainer(m, ds, { train: split.train }, { epochs: 3, batchSize: 16, lr: 0.01, ema: decay }, { seed: 1 });
  trainer.callbacks.push({
    onStep: () => {
      const d = Math.min(decay, (1 + t) / (10 + t));
      const w = weights(m);   // the weights as trained: the average is not in the model between validations
      avg = avg.map((a, j) => Math.fround(d * a + (1 - d) * w[j]));
      t++;
    },
  });
  trainer.run();
  assert.equal(t, 3 * Math.ceil(split.train.length / 16));
  assert.deepEqual(weights(m), avg, 'without validation rows the model ends as the average after the last step');
  assert.equal(trainer.resolvedOptions().ema, decay);
  assert.equal(new train.Trainer(model(), ds, split, {}, { seed: 0 }).resolvedOptions().ema, 0, 'off by default, and said so');
});

test('ema: validation, the best epoch and the restored weights are the average\'s', () => {
  const m = model();
  const trainer = new train.Trainer(m, ds, split, { epochs: 4, batchSize: 16, lr: 0.02, ema: 0.8 }, { seed: 3 });
  const seen: number[] = [];
  trainer.callbacks.push({ onEpochEnd: () => seen.push(train.meanLoss(m, ds, split.valid)) });
  const r = trainer.run();
  // each epoch's recorded validation loss is not the live weights' (those train on), but the restored model's is the best epoch's
  for (const [i, h] of trainer.history.entries()) assert.notEqual(h.validLoss, seen[i], `epoch ${i + 1}: validated on the average, not the live weights`);
  assert.ok(Math.abs(train.meanLoss(m, ds, split.valid) - r.bestValidLoss!) < 1e-6, 'the restored weights are the averaged ones that were validated');
});

test('ema: a run resumed from its checkpoint ends with the weights of an uninterrupted run', () => {
  const opts = { epochs: 4, lr: 0.01, batchSize: 16, ema: 0.95 };
  const a = model();
  new train.Trainer(a, ds, split, opts, { seed: 5 }).run();
  const { last, best } = runUntilEpoch(new train.Trainer(model(), ds, split, opts, { seed: 5 }), 2);
  // the best checkpoint holds the average (what was validated); the last one the weights as trained, and the average beside them
  const names = Object.keys(train.decodeSafetensors(last).tensors);
  assert.equal(names.filter((n) => n.startsWith('__ema__.')).length, a.parameters().length);
  const c = model();
  const resumed = new train.Trainer(c, ds, split, opts, { seed: 5 });
  resumed.resume(last, best, 'last.safetensors');
  resumed.run();
  assert.deepEqual(weights(c), weights(a), 'bitwise equal final weights');

  // a checkpoint and a trainer that disagree about ema are refused, naming the checkpoint
  assert.throws(() => new train.Trainer(model(), ds, split, { ...opts, ema: 0 }, { seed: 5 }).resume(last, best, 'last.safetensors'),
    /last\.safetensors: the checkpoint holds a moving average of the weights \(ema\) and this run has none/);
  const plain = new train.Trainer(model(), ds, split, { epochs: 1 }, { seed: 5 }).checkpoint();
  assert.throws(() => new train.Trainer(model(), ds, split, opts, { seed: 5 }).resume(plain, null, 'p.safetensors'),
    /p\.safetensors: this run averages the weights \(ema 0\.95\) and the checkpoint has no average/);
});

test('ema: bad values are refused with the option named', () => {
  assert.throws(() => new train.Trainer(model(), ds, split, { ema: 1 }, { seed: 0 }), /ema/);
  assert.throws(() => new train.Trainer(model(), ds, split, { ema: -0.1 }, { seed: 0 }), /ema/);
  const lin = new models.LinearModel(pre.fieldInfo(), pre.targetInfo(), { rng: new Generator(0) });
  assert.throws(() => new train.Trainer(lin, ds, split, { ema: 0.9 }, { seed: 0 }), /Trainer: ema \(0\.9\) averages the steps of a stochastic optimiser; the 'lbfgs' fit has none/);
});
