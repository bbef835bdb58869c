/**
 * The fusion model's `wide: true` (Wide & Deep, Cheng et al. 2016): a linear model of every field
 * (the `LinearModel`) beside the deep one, its outputs added to the deep outputs, trained jointly.
 * The deep part is the plain model (same seed, same parameters); outputs are the sum; every wide
 * parameter gets a gradient; checkpoints round-trip and a model without `wide` refuses them; bad
 * configs are refused (ONNX Runtime: test/onnx/export.test.ts; PyTorch export: test/cli/pytorch.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, Generator, add, backward, models, sigmoid, softmax, stack, mean, train } from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { assertAllClose, fusionFixture } from '../helpers.js';

const { pre, ds, base, make } = fusionFixture();
const TARGETS = ['y', 'k', 'r'];

test('wide: the outputs are the plain model\'s plus a linear model\'s of every field, in each strategy', () => {
  const b = ds.batch([0, 1, 2, 3, 4]);
  for (const strategy of ['early', 'crossModal', 'latent'] as const) {
    const plain = make({ strategy }).eval(), wide = make({ strategy, wide: true }).eval();
    assert.ok(wide.wide instanceof models.LinearModel, strategy);
    assert.equal(plain.wide, null);
    assert.deepEqual(wide.wide!.fields.map((f) => f.name), wide.fields.map((f) => f.name));
    // the deep part is the plain model: same names and values (the wide part is built last)
    const deep = wide.namedParameters().filter(([n]) => !n.startsWith('wide.'));
    assert.deepEqual(deep.map(([n]) => n), plain.namedParameters().map(([n]) => n));
    deep.forEach(([n, p], i) => assert.deepEqual(p.data, plain.namedParameters()[i][1].data, n));
    // the linear part has outputs-wide vectors: binary 1 + multiclass 3 + regression 1 = 5
    const K = pre.targetInfo().reduce((s, t) => s + t.outputs, 0);
    assert.equal(K, 5);
    assert.deepEqual([...wide.wide!.vectors[3].embedding!.weight.shape], [pre.fieldInfo()[3].vocabSize!, K], 'categorical: an embedding of width K');
    const got = wide.forward(b).outputs, lin = wide.wide!.forward(b).outputs, p = plain.forward(b).outputs;
    for (const t of TARGETS) {
      assert.deepEqual([...got[t].shape], [...p[t].shape], `${strategy} ${t} shape`);
      assertAllClose(got[t], add(p[t], lin[t]), { atol: 1e-6, msg: `${strategy} ${t}` });
    }
  }
});

test('wide: every wide parameter and the deep ones get a gradient; one Adam step lowers the loss', () => {
  const b = ds.batch([0, 1, 2, 3, 5, 6, 7, 8]);
  const m = make({ wide: true }).train();
  backward(models.modelLoss(m.targets, m.forward(b), b));
  const wide = m.namedParameters().filter(([n]) => n.startsWith('wide.'));
  assert.ok(wide.length >= 10, wide.map(([n]) => n).join(', '));
  for (const [n, p] of m.namedParameters()) {
    // the categorical/text embeddings' padding rows stay zero; every tensor must get some gradient
    assert.ok(p.grad && Array.from(p.grad.data).some((v) => v !== 0), `${n} gets no gradient`);
  }
  const split = { train: [0, 1, 2, 3, 5, 6, 7, 8], valid: [9, 10], test: [11] };
  const before = models.modelLoss(m.targets, m.eval().forward(b), b).item();
  train.fit(m, ds, split, { epochs: 1, lr: 1e-2, batchSize: 8, seed: 1, warmup: 0 });
  assert.ok(models.modelLoss(m.targets, m.eval().forward(b), b).item() < before);
});

test('wide with an ensemble: the wide outputs are added to every member, the prediction is the members\' mean', () => {
  const b = ds.batch([0, 1, 2, 3]);
  const m = make({ wide: true, ensemble: 3 }).eval();
  const r = m.forward(b);
  const lin = m.wide!.forward(b).outputs;
  const plain = make({ ensemble: 3 }).eval().forward(b);
  r.members!.forEach((o, i) => { for (const t of TARGETS) assertAllClose(o[t], add(plain.members![i][t], lin[t]), { atol: 1e-5, msg: `member ${i} ${t}` }); });
  const all = (f: (o: models.TaskOutputs) => Tensor): Tensor => mean(stack(r.members!.map(f), 0), 0);
  assertAllClose(sigmoid(r.outputs.y), all((o) => sigmoid(o.y)), { atol: 1e-5 });
  assertAllClose(softmax(r.outputs.k, -1), all((o) => softmax(o.k, -1)), { atol: 1e-5 });
  assertAllClose(r.outputs.r, all((o) => o.r), { atol: 1e-5 });
  // needWeights gives the same outputs
  assertAllClose(m.forward(b, { needWeights: true }).outputs.y, r.outputs.y, { atol: 1e-5 });
});

test('wide: fit trains it and its checkpoint round-trips; a model without wide refuses it, and the other way round', () => {
  const split = { train: Array.from({ length: 36 }, (_, i) => i), valid: [36, 37, 38, 39, 40, 41], test: [42, 43, 44, 45, 46, 47] };
  const m = make({ wide: true });
  const r = train.fit(m, ds, split, { epochs: 3, lr: 3e-3, batchSize: 8, seed: 1 });
  assert.ok(r.history.every((e) => Number.isFinite(e.trainLoss)));
  const bytes = train.encodeSafetensors(m.stateDict());
  const back = make({ wide: true }, 99);
  back.loadStateDict(train.decodeSafetensors(bytes).tensors);
  const b = ds.batch(split.test);
  for (const t of TARGETS) assertAllClose(back.eval().forward(b).outputs[t], m.eval().forward(b).outputs[t], { atol: 0, msg: t });
  assert.throws(() => make({}).checkStateDict(train.decodeSafetensors(bytes).tensors));
  assert.throws(() => make({ wide: true }).checkStateDict(train.decodeSafetensors(train.encodeSafetensors(make({}).stateDict())).tensors));
});

test('wide: config validation names the option; buildModel takes it; the default is no wide part', () => {
  for (const bad of [1, 'yes', null]) {
    assert.throws(() => make({ wide: bad }), (e: Error) => e instanceof ConfigError && /wide/.test(e.message), String(bad));
  }
  const m = models.buildModel({ type: 'fusion', ...base, wide: true }, pre.fieldInfo(), pre.targetInfo(), new Generator(1)) as models.FusionModel;
  assert.equal(m.config.wide, true);
  assert.equal(make({}).config.wide, false);
  assert.equal(make({}).wide, null);
  assert.throws(() => models.buildModel({ type: 'mlp', wide: true }, pre.fieldInfo(), pre.targetInfo(), new Generator(1)), (e: Error) => e instanceof ConfigError && /wide/.test(e.message));
});
