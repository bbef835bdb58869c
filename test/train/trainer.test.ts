/** The Trainer: exact resume from a checkpoint, accumulation, schedules, parameter groups, optimiser state. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, Parameter, backward, data, models, optim, tensor, train, F } from '../../src/index.js';
import { assertAllClose, runUntilEpoch } from '../helpers.js';

const schema = { fields: [{ name: 'x', kind: 'numeric' }, { name: 'c', kind: 'categorical' }, { name: 't', kind: 'text', minCount: 1 }], targets: [{ name: 'y', task: 'binary' }] };
const rng0 = new Generator(3);
const records = Array.from({ length: 96 }, (_, i) => {
  const x = rng0.normal();
  return { x, c: ['a', 'b', 'c'][i % 3], t: i % 2 ? 'nice one' : 'bad one', y: x + (i % 2) - 0.5 > 0 ? 1 : 0 };
});
const pre = data.Preprocessor.fit(schema, records);
const ds = pre.encode(records).dataset;
const split = data.splitIndices(ds.size, { seed: 1 });
const model = (): models.FusionModel => new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 8, heads: 2, layers: 1, dropout: 0.2 }, new Generator(9));
const weights = (m: models.TaskModel): number[] => m.parameters().flatMap((p) => Array.from(p.data));

test('a run resumed from its epoch-2 checkpoint ends with exactly the weights of an uninterrupted run', () => {
  const opts = { epochs: 4, lr: 0.01, batchSize: 16, schedule: { type: 'plateau', patience: 1 } };
  const a = model();
  const full = new train.Trainer(a, ds, split, opts, { seed: 5 });
  full.run();

  const { last, best } = runUntilEpoch(new train.Trainer(model(), ds, split, opts, { seed: 5 }), 2);

  const c = model();                                   // fresh weights: everything must come from the checkpoint
  const resumed = new train.Trainer(c, ds, split, opts, { seed: 5 });
  resumed.resume(last, best, 'last.safetensors');
  assert.equal(resumed.epoch, 2);
  resumed.run();
  assert.deepEqual(weights(c), weights(a), 'bitwise equal final weights');
  assert.deepEqual(resumed.history.map((h) => h.trainLoss), full.history.map((h) => h.trainLoss));
});

test('resume refuses checkpoints that do not fit', () => {
  const t = new train.Trainer(model(), ds, split, { epochs: 1 }, { seed: 0 });
  const plain = train.encodeSafetensors(model().stateDict());
  assert.throws(() => t.resume(plain, null, 'x.safetensors'), /x\.safetensors: not a resumable attnkit checkpoint/);
  const other = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 16, heads: 2, layers: 1 }, new Generator(0));
  const ot = new train.Trainer(other, ds, split, { epochs: 1 }, { seed: 0 });
  assert.throws(() => t.resume(ot.checkpoint(), null, 'y.safetensors'), /y\.safetensors: weights do not fit this model/);
  assert.throws(() => new train.Trainer(model(), ds, split, { epochs: 1, lr: 1, sheduler: 'x' }, { seed: 0 }), /sheduler: unknown key/);
  // an optimiser buffer's name that names no parameter is refused, not skipped (it was skipped before)
  const f = train.decodeSafetensors(t.checkpoint());
  const odd = train.encodeSafetensors({ ...f.tensors, '__optim__.m.first': f.tensors[Object.keys(f.tensors)[0]] }, f.metadata);
  assert.throws(() => t.resume(odd, null, 'z.safetensors'), /z\.safetensors: optimiser buffer '__optim__\.m\.first' does not name a parameter/);
});

test('two micro-batches of 8 with accumulate 2 equal one batch of 16', () => {
  // SGD: the update is linear in the gradient, so float round-off cannot be amplified (Adam divides tiny gradients by their own size)
  const plain = { epochs: 2, lr: 0.05, optimizer: 'sgd', momentum: 0, clipNorm: 0, schedule: { type: 'constant' } };
  const noDrop = (): models.FusionModel => new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 8, heads: 2, layers: 1, dropout: 0 }, new Generator(9));
  const a = noDrop(), b = noDrop();
  new train.Trainer(a, ds, split, { ...plain, batchSize: 16 }, { seed: 2 }).run();
  new train.Trainer(b, ds, split, { ...plain, batchSize: 8, accumulate: 2 }, { seed: 2 }).run();
  assertAllClose(weights(b), weights(a), { rtol: 1e-4, atol: 1e-5 });
});

test('schedules: warm-up then cosine / linear, step decay, reduce on plateau', () => {
  const cos = new train.LrSchedule({ type: 'cosine', warmup: 0.1, minFactor: 0.1 }, 100, 10);
  assert.equal(cos.factor(0), 0.1);
  assert.equal(cos.factor(9), 1);
  assert.ok(Math.abs(cos.factor(55) - (0.1 + 0.9 * 0.5)) < 1e-12, 'half-way through the decay');
  assert.ok(Math.abs(cos.factor(100) - 0.1) < 1e-12);
  const lin = new train.LrSchedule({ type: 'linear' }, 100, 10);
  assert.ok(Math.abs(lin.factor(5 + 47.5) - 0.5) < 1e-12);
  const step = new train.LrSchedule({ type: 'step', everyEpochs: 2, gamma: 0.5 }, 100, 10);
  assert.deepEqual([0, 19, 20, 45].map((s) => step.factor(s)), [1, 1, 0.5, 0.25]);
  const plateau = new train.LrSchedule({ type: 'plateau', patience: 2, factor: 0.5 }, 100, 10);
  [1, 0.9, 0.95, 0.92, 0.93].forEach((l) => plateau.epochEnd(l));
  assert.equal(plateau.factor(0), 0.5, 'two epochs without improvement halve the lr');
  const copy = new train.LrSchedule({ type: 'plateau', patience: 2, factor: 0.5 }, 100, 10);
  copy.loadState(JSON.parse(JSON.stringify(plateau.state())));
  assert.equal(copy.factor(0), 0.5);
  assert.throws(() => new train.LrSchedule({ type: 'exp' }, 10, 1), /type/);
});

test('parameter groups: biases, norms and embeddings are exempt from decay; state round-trips', () => {
  const m = model();
  const groups = optim.decayGroups(m.namedParameters());
  const names = new Map(m.namedParameters().map(([n, p]) => [p, n]));
  const exempt = groups[1].params.map((p) => names.get(p)!);
  assert.ok(exempt.includes('headNorm.weight') && exempt.includes('tokenizers.1.embedding.weight') && exempt.some((n) => n.endsWith('bias')));
  assert.ok(groups[0].params.map((p) => names.get(p)!).includes('heads.heads.0.weight'));
  const w = new Parameter(tensor([1], { dtype: 'float64' })), b = new Parameter(tensor([1], { dtype: 'float64' }));
  w.grad = tensor([0], { dtype: 'float64' }); b.grad = tensor([0], { dtype: 'float64' });
  const opt = new optim.AdamW([{ params: [w] }, { params: [b], options: { weightDecay: 0 } }], { lr: 0.1, weightDecay: 0.5 });
  opt.step();
  assertAllClose(w, [0.95]); assertAllClose(b, [1]);
  assert.throws(() => new optim.SGD([{ params: [w] }, { params: [w] }], { lr: 1 }), /more than one group/);
  // Adam state survives a round trip: two optimisers continue identically
  const p1 = new Parameter(tensor([1, 2])), p2 = new Parameter(tensor([1, 2]));
  const o1 = new optim.Adam([p1], { lr: 0.1 }), o2 = new optim.Adam([p2], { lr: 0.1 });
  const quad = (p: Parameter): void => { p.grad = null; backward(F.sum(F.square(p))); };
  quad(p1); o1.step();
  p2.data.set(p1.data); o2.loadState(o1.state());
  quad(p1); o1.step(); quad(p2); o2.step();
  assert.deepEqual(Array.from(p2.data), Array.from(p1.data));
});
