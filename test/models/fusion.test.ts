/** The fusion model (three strategies), its masking of missing values and sources, the baselines, fit and metrics. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, F, Generator, Tensor, analysis, backward, data, models, train } from '../../src/index.js';
import { FUSION_TEST_SCHEMA, assertAllClose } from '../helpers.js';

const schema = FUSION_TEST_SCHEMA;

function synthetic(n: number, seed: number): data.DataRecord[] {
  const rng = new Generator(seed);
  const words = ['good', 'bad', 'fine', 'odd'];
  return Array.from({ length: n }, () => {
    const x1 = rng.normal(), x2 = rng.normal();
    const w = words[rng.int(0, 4)];
    return {
      x1, x2, x3: x1 - x2, cat: ['a', 'b', 'c'][rng.int(0, 3)], text: `${w} day ${words[rng.int(0, 4)]}`, kv: { mood: w, n: rng.int(0, 3) },
      series: Array.from({ length: rng.int(2, 7) }, () => rng.normal()), img: [rng.uniform(), rng.uniform(), rng.uniform(), rng.uniform()],
      y: x1 + (w === 'good' ? 1 : 0) > 0.5 ? 1 : 0, k: ['p', 'q', 'r'][x2 > 0.5 ? 0 : x2 < -0.5 ? 1 : 2], r: 2 * x1 - x2,
    };
  });
}

const recs = synthetic(64, 1);
const pre = data.Preprocessor.fit(schema, recs);
const ds = pre.encode(recs).dataset;
const STRATEGIES = ['early', 'crossModal', 'latent'] as const;
const make = (strategy: (typeof STRATEGIES)[number], seed = 1): models.FusionModel =>
  new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { strategy, dim: 16, heads: 2, layers: 1, dropout: 0 }, new Generator(seed));

function clone(b: data.Batch): data.Batch {
  const fields: Record<string, data.FieldBatch> = {};
  for (const [k, f] of Object.entries(b.fields)) {
    fields[k] = Object.fromEntries(Object.entries(f).map(([n, v]) => [n, v instanceof Tensor ? new Tensor(v.data.slice(), v.shape) : v])) as data.FieldBatch;
  }
  return { ...b, fields };
}

test('every strategy gives one output per target with the right shape, and gradients reach every field encoder', () => {
  const b = ds.batch([0, 1, 2, 3]);
  for (const s of STRATEGIES) {
    const m = make(s).train();
    const { outputs } = m.forward(b);
    assert.deepEqual([...outputs.y.shape], [4], s);
    assert.deepEqual([...outputs.k.shape], [4, 3], s);
    assert.deepEqual([...outputs.r.shape], [4], s);
    backward(models.taskLoss(m.targets, outputs, b));
    m.tokenizers.forEach((t) => assert.ok(t.fieldEmbedding.grad && Array.from(t.fieldEmbedding.grad.data).some((v) => v !== 0), `${s}: ${t.info.name} gets no gradient`));
  }
});

test('missing values are masked, not zeros: a masked value cannot change the output, and missing ≠ present zero', () => {
  for (const s of STRATEGIES) {
    const m = make(s).eval();
    const b = clone(ds.batch([0, 1]));
    const x1 = b.fields.x1, text = b.fields.text;
    assert.ok(x1.kind === 'numeric' && text.kind === 'text');
    x1.present.data[0] = 0; x1.values.data[0] = 0;
    const y0 = m.forward(b).outputs;
    x1.values.data[0] = 123;                                       // behind the mask
    for (let i = 0; i < text.mask.size; i++) if (!text.mask.data[i]) text.ids.data[i] = 5;
    const y1 = m.forward(b).outputs;
    assertAllClose(y1.k, y0.k, { atol: 1e-5, msg: s });
    x1.values.data[0] = 0; x1.present.data[0] = 1;                  // a present zero is information
    const y2 = m.forward(b).outputs;
    assert.ok(Math.abs(y2.r.data[0] - y0.r.data[0]) > 1e-6, `${s}: present 0 and missing must differ`);
  }
});

test('a whole missing source is masked out: its values do not matter and outputs stay finite', () => {
  const recsMissing = recs.slice(0, 4).map((r) => ({ ...r, text: '', kv: null }));
  const b = pre.encode(recsMissing).dataset.batch([0, 1, 2, 3]);
  for (const s of STRATEGIES) {
    const m = make(s).eval();
    const y0 = m.forward(b).outputs;
    const b2 = clone(b);
    const kv = b2.fields.kv;
    assert.ok(kv.kind === 'keyValue');
    kv.ids.data.fill(3); kv.keys.data.fill(2);                     // every doc token is masked
    const y1 = m.forward(b2).outputs;
    assertAllClose(y1.y, y0.y, { atol: 1e-5, msg: s });
    assert.ok(Array.from(y0.k.data).every(Number.isFinite), s);
  }
});

test('early fusion returns per-layer, per-head attention over [CLS] + tokens, labelled by field', () => {
  const m = make('early').eval();
  const b = ds.batch([0, 1]);
  const r = m.forward(b, { needWeights: true });
  const N = r.tokenFields!.length;
  assert.equal(r.tokenFields![0], '[CLS]');
  assert.deepEqual([...r.weights![0].shape], [2, 2, N, N]);
  assertAllClose(r.outputs.y, m.forward(b).outputs.y, { msg: 'weights do not change outputs' });
  assert.ok(r.tokenFields!.includes('img') && r.tokenFields!.filter((f) => f === 'img').length === 4);
});

test('fusion configs: composite blocks for early fusion, source subsets, errors with paths', () => {
  const rng = new Generator(2);
  const m = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), {
    dim: 16, layers: 2, block: { type: 'fusion', mechanisms: [{ type: 'selfAttention', numHeads: 2 }, { type: 'conv', kernelSize: 3 }] },
  }, rng);
  assert.deepEqual([...m.forward(ds.batch([0, 1, 2])).outputs.k.shape], [3, 3]);
  const single = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 16, sources: ['doc'] }, rng);
  assert.deepEqual(single.fields.map((f) => f.name), ['text', 'kv']);
  assert.throws(() => new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 16, sources: ['nope'] }, rng), /sources lists 'nope'/);
  assert.throws(() => new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { strategy: 'late' }, rng), (e: Error) => e instanceof ConfigError && /strategy/.test(e.message));
  assert.throws(() => new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 16, layer: 2 }, rng), (e: Error) => e instanceof ConfigError && /layer: unknown key/.test(e.message));
  assert.throws(() => new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 18, heads: 4 }, rng), /divisible/);
});

test('composite early fusion with needWeights: one [B, H, N, N] map per attention block, layer by layer (viewer and report)', () => {
  const rng = new Generator(5);
  const m = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), {
    dim: 16, layers: 2,
    block: { type: 'serial', layers: [{ type: 'parallel', merge: 'attention', branches: [{ type: 'selfAttention', numHeads: 4 }, { type: 'conv', kernelSize: 3 }] }, { type: 'feedForward', hidden: 32 }] },
  }, rng);
  m.eval();
  const b = ds.batch([0, 1, 2]);
  const r = m.forward(b, { needWeights: true });
  assert.ok(r.weights && r.tokenFields && r.keyMask, 'maps, token labels and key mask');
  const N = r.tokenFields.length;
  assert.equal(r.weights.length, 2, 'one map per layer (one self-attention branch each)');
  for (const w of r.weights) {
    assert.deepEqual([...w.shape], [3, 4, N, N]);
    const row = Array.from(w.data.subarray(0, N));
    assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-4, 'softmax rows sum to 1');
  }
  assertAllClose(r.outputs.k, m.forward(b).outputs.k, { msg: 'weights do not change outputs' });
  assert.ok(analysis.hasAttentionMaps(m), 'the viewer and the report see maps');
  assert.deepEqual(analysis.attentionShape(m), { layers: 2, heads: 4 });
  const conv = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 16, layers: 1, block: { type: 'conv', kernelSize: 3 } }, rng);
  assert.equal(conv.forward(b, { needWeights: true }).weights, undefined, 'a block without attention has no maps');
  assert.ok(!analysis.hasAttentionMaps(conv));
  // the maps are on the prediction's tape: gradient × attention reaches each of them
  const g = m.forward(b, { needWeights: true });
  for (const w of g.weights!) w.retainGrad();
  backward(F.sum(g.outputs.k));
  g.weights!.forEach((w, i) => assert.ok(w.grad, `map ${i} has a gradient`));
  // local and linear attention compute their maps beside a fused or kernelised output, off the tape:
  // they are not offered (gradient × attention and the report would find no gradient)
  const side = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), {
    dim: 8, layers: 1, block: { type: 'fusion', gate: 'token', mechanisms: [{ type: 'localAttention', numHeads: 2, window: 1 }, { type: 'linearAttention', numHeads: 2 }] },
  }, rng);
  assert.equal(side.forward(b, { needWeights: true }).weights, undefined, 'local ‖ linear: no maps');
  assert.ok(!analysis.hasAttentionMaps(side));
});

test('baselines: the linear model is affine in a numeric value; every baseline trains one step', () => {
  const rng = new Generator(3);
  const lin = new models.LinearModel(pre.fieldInfo(), pre.targetInfo(), { rng });
  const at = (v: number): number => {
    const b = clone(ds.batch([5]));
    const x1 = b.fields.x1;
    assert.ok(x1.kind === 'numeric');
    x1.values.data[0] = v;
    return lin.forward(b).outputs.r.data[0];
  };
  assert.ok(Math.abs((at(2) - at(1)) - (at(1) - at(0))) < 1e-5, 'affine');
  const seqInfo = pre.fieldInfo();
  const cases: models.TaskModel[] = [
    lin, new models.MLPModel(seqInfo, pre.targetInfo(), { rng }),
    new models.TextCNN(seqInfo, pre.targetInfo(), { field: 'text', rng }),
    new models.TCN(seqInfo, pre.targetInfo(), { field: 'series', levels: 2, rng }),
    new models.SmallCNN2d(seqInfo, pre.targetInfo(), { field: 'img', height: 2, width: 2, patchSize: 1, filters: [4], rng }),
  ];
  const b = ds.batch(Array.from({ length: 16 }, (_, i) => i));
  for (const m of cases) {
    m.eval();
    const loss = (): number => models.taskLoss(m.targets, m.forward(b).outputs, b).item();
    const before = loss();
    m.zeroGrad();
    backward(models.taskLoss(m.targets, m.forward(b).outputs, b));
    for (const p of m.parameters()) if (p.grad) for (let i = 0; i < p.size; i++) p.data[i] -= 0.05 * p.grad.data[i];
    assert.ok(loss() < before, `${m.constructor.name}: ${before} → ${loss()}`);
  }
  assert.throws(() => new models.TextCNN(seqInfo, pre.targetInfo(), { field: 'x1', rng }), /needs a text, keyValue or timeSeries field/);
  assert.throws(() => new models.TCN(seqInfo, pre.targetInfo(), { field: 'nope', rng }), /no field 'nope'/);
});

test('fit learns a synthetic task, restores the best epoch, and is deterministic for a seed', () => {
  const all = synthetic(400, 7);
  const p = data.Preprocessor.fit(schema, all);
  const d = p.encode(all).dataset;
  const split = data.splitIndices(d.size, { seed: 0 });
  const run = (): { m: models.FusionModel; r: train.FitResult } => {
    const m = new models.FusionModel(p.fieldInfo(), p.targetInfo(), { dim: 16, heads: 2, layers: 1, dropout: 0.1 }, new Generator(5));
    return { m, r: train.fit(m, d, split, { epochs: 12, seed: 1, lr: 5e-3 }) };
  };
  const a = run(), b = run();
  assert.ok(a.r.history.at(-1)!.trainLoss < a.r.history[0].trainLoss, 'training loss falls');
  assert.deepEqual(a.r.history.map((h) => h.trainLoss.toFixed(5)), b.r.history.map((h) => h.trainLoss.toFixed(5)));
  assert.equal(a.r.bestValidLoss, Math.min(...a.r.history.map((h) => h.validLoss!)));
  assertAllClose([train.meanLoss(a.m, d, split.valid)], [a.r.bestValidLoss!], { rtol: 1e-5, msg: 'best weights restored' });
  const metrics = train.evaluate(a.m, d, split.test);
  assert.ok(metrics.y.accuracy > 0.8 && metrics.y.auc > 0.85, JSON.stringify(metrics.y));
  assert.ok(metrics.r.r2 > 0.5, JSON.stringify(metrics.r));
  assert.ok(metrics.k.accuracy > 0.5, JSON.stringify(metrics.k));
  assert.throws(() => train.fit(a.m, d, { train: [] }, { epochs: 1, seed: 0 }), /non-empty/);
  assert.throws(() => train.fit(a.m, d, { train: [1e6] }, { epochs: 1, seed: 0 }), /outside the dataset/);
});

test('metrics against hand-computed values', () => {
  // AUC: positives score 0.8, 0.4; negatives 0.4, 0.1 → pairs: (0.8>0.4) 1, (0.8>0.1) 1, (0.4=0.4) ½, (0.4>0.1) 1 → 3.5/4
  assert.equal(train.rocAuc([0.8, 0.4, 0.4, 0.1], [1, 1, 0, 0]), 0.875);
  assert.ok(Number.isNaN(train.rocAuc([0.1, 0.2], [1, 1])));
  // class 0: tp 1 fp 1 fn 0 → p ½ r 1 f ⅔; class 1: tp 1 fp 0 fn 1 → p 1 r ½ f ⅔
  const f = train.macroF1([0, 0, 1], [0, 1, 1], 2);
  assert.ok(Math.abs(f.f1 - 2 / 3) < 1e-12 && Math.abs(f.precision - 0.75) < 1e-12);
  assert.equal(train.accuracy([1, 2, 3], [1, 0, 3]), 2 / 3);
  assert.equal(train.rmse([1, 3], [0, 0]), Math.sqrt(5));
  assert.equal(train.mae([1, -3], [0, 0]), 2);
  assert.equal(train.r2([1, 2, 3], [1, 2, 3]), 1);
  assert.equal(train.r2([2, 2, 2], [1, 2, 3]), 0);
  assert.throws(() => train.accuracy([1], [1, 2]), /1 predictions for 2 targets/);
});

