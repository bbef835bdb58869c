/**
 * The fusion model's `ensemble: k` (TabM-style: one shared backbone, a per-member multiplier on
 * the tokens and per-member heads, members averaged in probability space): members differ, the
 * prediction is their mean, k = 1 is the plain model, the training loss is the members' mean
 * loss, checkpoints round-trip, and bad configs are refused (ONNX Runtime: test/onnx/export.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError, Generator, ValueError, backward, models, sigmoid, softmax, stack, mean, sum, train,
} from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { assertAllClose, fusionFixture } from '../helpers.js';

const { pre, ds, base, make } = fusionFixture();

test('ensemble: k members give k different outputs, and the prediction is their mean in probability space', () => {
  const b = ds.batch([0, 1, 2, 3, 4]);
  for (const strategy of ['early', 'crossModal', 'latent'] as const) {
    const m = make({ strategy, ensemble: 3 }).eval();
    const r = m.forward(b);
    assert.equal(r.members?.length, 3, strategy);
    for (const t of ['y', 'k', 'r']) {
      r.members!.forEach((o) => assert.deepEqual([...o[t].shape], [...r.outputs[t].shape], `${strategy} ${t}`));
      for (let i = 0; i < 3; i++) {
        for (let j = i + 1; j < 3; j++) {
          const d = Math.max(...Array.from(r.members![i][t].data, (v, e) => Math.abs(v - r.members![j][t].data[e])));
          assert.ok(d > 1e-4, `${strategy} ${t}: members ${i} and ${j} agree (max diff ${d})`);
        }
      }
    }
    const all = (f: (o: models.TaskOutputs) => Tensor): Tensor => mean(stack(r.members!.map(f), 0), 0);
    assertAllClose(sigmoid(r.outputs.y), all((o) => sigmoid(o.y)), { atol: 1e-5, msg: `${strategy} binary: mean probability` });
    assertAllClose(softmax(r.outputs.k, -1), all((o) => softmax(o.k, -1)), { atol: 1e-5, msg: `${strategy} multiclass: mean probabilities` });
    assertAllClose(r.outputs.r, all((o) => o.r), { atol: 1e-5, msg: `${strategy} regression: mean value` });
  }
});

test('ensemble: 1 is the plain model (same parameters, same outputs) and has no members', () => {
  const b = ds.batch([0, 1, 2, 3]);
  for (const strategy of ['early', 'latent'] as const) {
    const plain = make({ strategy }).eval(), one = make({ strategy, ensemble: 1 }).eval();
    assert.deepEqual(one.namedParameters().map(([n]) => n), plain.namedParameters().map(([n]) => n));
    const a = plain.forward(b), c = one.forward(b);
    for (const t of ['y', 'k', 'r']) assertAllClose(c.outputs[t], a.outputs[t], { atol: 0, msg: `${strategy} ${t}` });
    assert.equal(c.members, undefined);
  }
});

test('ensemble: the training loss is the mean of the members\' task losses, and every member head gets a gradient', () => {
  const b = ds.batch([0, 1, 2, 3, 5, 6]);
  const m = make({ ensemble: 3 }).train();
  const r = m.forward(b);
  const loss = models.modelLoss(m.targets, r, b);
  const each = r.members!.map((o) => models.taskLoss(m.targets, o, b).item());
  assert.ok(Math.abs(loss.item() - each.reduce((s, v) => s + v, 0) / 3) < 1e-5, `${loss.item()} vs mean of ${each}`);
  backward(loss);
  const heads = m.namedParameters().filter(([n]) => n.startsWith('heads.'));
  assert.equal(heads.length, 3 * 3 * 2, heads.map(([n]) => n).join(', '));   // members × targets × (weight, bias)
  for (const [n, p] of heads) assert.ok(p.grad && Array.from(p.grad.data).some((v) => v !== 0), `${n} gets no gradient`);
  const plain = make({}).train(), rp = plain.forward(b);
  assert.equal(models.modelLoss(plain.targets, rp, b).item(), models.taskLoss(plain.targets, rp.outputs, b).item());
});

test('ensemble: fit trains it, and its checkpoint round-trips (a model of another k refuses it)', () => {
  const split = { train: Array.from({ length: 36 }, (_, i) => i), valid: [36, 37, 38, 39, 40, 41], test: [42, 43, 44, 45, 46, 47] };
  const m = make({ ensemble: 2 });
  const r = train.fit(m, ds, split, { epochs: 3, lr: 3e-3, batchSize: 8, seed: 1 });
  assert.ok(r.history.every((e) => Number.isFinite(e.trainLoss)));
  const bytes = train.encodeSafetensors(m.stateDict());
  const back = make({ ensemble: 2 }, 99);
  back.loadStateDict(train.decodeSafetensors(bytes).tensors);
  const b = ds.batch(split.test);
  for (const t of ['y', 'k', 'r']) assertAllClose(back.eval().forward(b).outputs[t], m.eval().forward(b).outputs[t], { atol: 0, msg: t });
  assert.throws(() => make({ ensemble: 3 }).checkStateDict(train.decodeSafetensors(bytes).tensors));
  assert.throws(() => make({}).checkStateDict(train.decodeSafetensors(bytes).tensors));
});

test('ensemble: attention maps are the first member\'s, one map per row, and the prediction\'s gradient reaches them', () => {
  const m = make({ ensemble: 3, layers: 2 }).eval();
  const b = ds.batch([0, 1]);
  const r = m.forward(b, { needWeights: true });
  for (const w of r.weights!) w.retainGrad();
  backward(sum(r.outputs.r));
  r.weights!.forEach((w, l) => assert.ok(w.grad && Array.from(w.grad.data).some((v) => v !== 0), `layer ${l}: no gradient`));
  const N = r.tokenFields!.length;
  assert.equal(r.weights!.length, 2);
  assert.deepEqual([...r.weights![0].shape], [2, 2, N, N]);
  assert.deepEqual([...r.keyMask!.shape], [2, N]);
  const rows = Array.from(r.weights![1].data);
  for (let i = 0; i < rows.length; i += N) assert.ok(Math.abs(rows.slice(i, i + N).reduce((s, v) => s + v, 0) - 1) < 1e-5);
  assertAllClose(r.outputs.y, m.forward(b).outputs.y, { msg: 'weights do not change outputs' });
});

test('ensemble: config validation names the option; buildModel takes it', () => {
  for (const bad of [0, 1.5, -2, 'four', 65]) {
    assert.throws(() => make({ ensemble: bad }), (e: Error) => e instanceof ConfigError && /ensemble/.test(e.message), String(bad));
  }
  const m = models.buildModel({ type: 'fusion', ...base, ensemble: 4 }, pre.fieldInfo(), pre.targetInfo(), new Generator(1)) as models.FusionModel;
  assert.equal(m.config.ensemble, 4);
  assert.equal(make({}).config.ensemble, 1);
  assert.throws(() => models.buildModel({ type: 'mlp', ensemble: 4 }, pre.fieldInfo(), pre.targetInfo(), new Generator(1)), (e: Error) => e instanceof ConfigError && /ensemble/.test(e.message));
});

test('ensembleMode independent: k whole models, the first is the model\'s own parts, each member equals a plain model with its parameters', () => {
  const b = ds.batch([0, 1, 2, 3, 4]);
  for (const strategy of ['early', 'crossModal', 'latent'] as const) {
    const m = make({ strategy, ensemble: 3, ensembleMode: 'independent' }).eval();
    assert.equal(m.memberModels.length, 2, strategy);
    assert.equal(m.sharedMembers, 1);
    assert.equal(m.ensembleScale, null);
    const plain = make({ strategy });
    const own = m.namedParameters().filter(([n]) => !n.startsWith('memberModels.'));
    assert.deepEqual(own.map(([n]) => n), plain.namedParameters().map(([n]) => n), `${strategy}: the own parts are a plain model's`);
    assert.equal(m.namedParameters().length, 3 * own.length);
    const r = m.forward(b);
    assert.equal(r.members?.length, 3);
    // each member is exactly a plain model holding that member's weights
    const members = [own, ...m.memberModels.map((mm) => mm.namedParameters())];
    members.forEach((params, j) => {
      const copy = make({ strategy }, 7).eval();
      copy.loadStateDict(Object.fromEntries(params.map(([n, p]) => [n.replace(/^memberModels\.\d+\./, ''), p])));
      const o = copy.forward(b).outputs;
      for (const t of ['y', 'k', 'r']) assertAllClose(r.members![j][t], o[t], { atol: 0, msg: `${strategy} member ${j} ${t}` });
    });
    const d = Math.max(...Array.from(r.members![0].y.data, (v, e) => Math.abs(v - r.members![1].y.data[e])));
    assert.ok(d > 1e-4, `${strategy}: members 0 and 1 agree (max diff ${d})`);
    const all = (f: (o: models.TaskOutputs) => Tensor): Tensor => mean(stack(r.members!.map(f), 0), 0);
    assertAllClose(sigmoid(r.outputs.y), all((o) => sigmoid(o.y)), { atol: 1e-5, msg: `${strategy} binary: mean probability` });
    assertAllClose(softmax(r.outputs.k, -1), all((o) => softmax(o.k, -1)), { atol: 1e-5, msg: `${strategy} multiclass: mean probabilities` });
    assertAllClose(r.outputs.r, all((o) => o.r), { atol: 1e-5, msg: `${strategy} regression: mean value` });
  }
});

test('ensembleMode independent: trained on the members\' mean loss (every member learns), checkpoints round-trip, maps are the first member\'s', () => {
  const split = { train: Array.from({ length: 36 }, (_, i) => i), valid: [36, 37, 38, 39, 40, 41], test: [42, 43, 44, 45, 46, 47] };
  const cfg = { ensemble: 2, ensembleMode: 'independent', wide: true };
  const m = make(cfg);
  const before = m.namedParameters().map(([n, p]) => [n, Float32Array.from(p.data)] as const);
  const r = train.fit(m, ds, split, { epochs: 2, lr: 3e-3, batchSize: 8, seed: 1 });
  assert.ok(r.history.every((e) => Number.isFinite(e.trainLoss)));
  for (const prefix of ['heads.', 'wide.', 'memberModels.0.heads.', 'memberModels.0.wide.', 'memberModels.0.encoder.']) {
    const moved = before.filter(([n]) => n.startsWith(prefix) && !n.slice(prefix.length).startsWith('memberModels'))
      .some(([n, v]) => Array.from(m.namedParameters().find(([k]) => k === n)![1].data).some((x, i) => x !== v[i]));
    assert.ok(moved, `${prefix}… did not train`);
  }
  const bytes = train.encodeSafetensors(m.stateDict());
  const back = make(cfg, 99);
  back.loadStateDict(train.decodeSafetensors(bytes).tensors);
  const b = ds.batch(split.test);
  for (const t of ['y', 'k', 'r']) assertAllClose(back.eval().forward(b).outputs[t], m.eval().forward(b).outputs[t], { atol: 0, msg: t });
  assert.throws(() => make({ ensemble: 2 }).checkStateDict(train.decodeSafetensors(bytes).tensors), (e: Error) => e instanceof ValueError && /missing \[ensembleScale, heads\.members\.0\./.test(e.message), 'a shared ensemble refuses it, naming its own parts');
  assert.throws(() => make({ ensemble: 3, ensembleMode: 'independent', wide: true }).checkStateDict(train.decodeSafetensors(bytes).tensors), (e: Error) => e instanceof ValueError && /missing \[memberModels\.1\./.test(e.message), 'k = 3 refuses it, naming the missing member');
  const w = m.forward(ds.batch([0, 1]), { needWeights: true });
  const own = make({ wide: true }).eval();
  own.loadStateDict(Object.fromEntries(m.namedParameters().filter(([n]) => !n.startsWith('memberModels.'))));
  const mine = own.forward(ds.batch([0, 1]), { needWeights: true });
  w.weights!.forEach((x, l) => assertAllClose(x, mine.weights![l], { atol: 0, msg: `layer ${l}: the first member's map` }));
});

test('ensembleMode: validated by name, needs ensemble beside it, recorded in the config; ensemble 1 is the plain model in either mode', () => {
  assert.throws(() => make({ ensemble: 2, ensembleMode: 'separate' }), (e: Error) => e instanceof ConfigError && /ensembleMode/.test(e.message));
  assert.throws(() => make({ ensembleMode: 'independent' }), (e: Error) => e instanceof ConfigError && /ensembleMode 'independent'.*give ensemble: k/.test(e.message));
  const m = models.buildModel({ type: 'fusion', ...base, ensemble: 3, ensembleMode: 'independent' }, pre.fieldInfo(), pre.targetInfo(), new Generator(1)) as models.FusionModel;
  assert.equal(m.config.ensembleMode, 'independent');
  assert.equal(m.memberModels.length, 2);
  assert.equal(make({}).config.ensembleMode, 'shared');
  const b = ds.batch([0, 1, 2]);
  const plain = make({}).eval(), one = make({ ensemble: 1, ensembleMode: 'independent' }).eval();
  assert.deepEqual(one.namedParameters().map(([n]) => n), plain.namedParameters().map(([n]) => n));
  assert.equal(one.forward(b).members, undefined);
  assertAllClose(one.forward(b).outputs.y, plain.forward(b).outputs.y, { atol: 0 });
});

test('fit without a seed is a ValueError naming fit and options.seed (was the Trainer\'s, naming neither)', () => {
  const m = make({});
  assert.throws(() => train.fit(m, ds, { train: [0, 1, 2, 3], valid: [4, 5] }, { epochs: 1 } as never), (e: Error) => e instanceof ValueError && /^fit: options\.seed must be an integer/.test(e.message));
});

test('ensembleMode independent: the entropy and diversity remedies are refused (they would regularise the first member only); dropHead trains', () => {
  const split = { train: Array.from({ length: 24 }, (_, i) => i), valid: [30, 31, 32, 33] };
  for (const remedies of [{ entropy: { weight: 0.1 } }, { diversity: { weight: 0.1 } }]) {
    const name = Object.keys(remedies)[0];
    assert.throws(() => train.fit(make({ ensemble: 2, ensembleMode: 'independent' }), ds, split, { epochs: 1, seed: 0, remedies }),
      (e: Error) => e instanceof ConfigError && new RegExp(`remedies\\.${name} .*2 independent members`).test(e.message), name);
    assert.ok(Number.isFinite(train.fit(make({ ensemble: 2 }), ds, split, { epochs: 1, seed: 0, remedies }).history[0].trainLoss), `${name} on a shared ensemble`);
  }
  assert.ok(Number.isFinite(train.fit(make({ ensemble: 2, ensembleMode: 'independent' }), ds, split, { epochs: 1, seed: 0, remedies: { dropHead: { p: 0.1 } } }).history[0].trainLoss));
});
