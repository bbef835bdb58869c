/** Remedies for over-concentrated or redundant attention: their values by hand, their gradients, and their effect on a fixed task. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Generator, Tensor, analysis, backward, data, gradcheck, models, nn, randn, tensor, train } from '../../src/index.js';

const ones = (B: number, N: number): Tensor => tensor(new Uint8Array(B * N).fill(1), { shape: [B, N] });

test('entropy and diversity penalties: hand-computed values and gradchecks', () => {
  const u = new Tensor(new Float32Array(2 * 4 * 4).fill(0.25), [1, 2, 4, 4]);
  assert.ok(Math.abs(analysis.entropyLoss([u], ones(1, 4)).item() + Math.log(4)) < 1e-5, 'uniform over 4 keys: −ln 4');
  assert.ok(Math.abs(analysis.entropyLoss([u], ones(1, 4), { floor: 2 }).item() - (2 - Math.log(4))) < 1e-5);
  assert.equal(analysis.entropyLoss([u], ones(1, 4), { floor: 1 }).item(), 0, 'above the floor: no penalty');
  assert.ok(Math.abs(analysis.headDiversityLoss([u]).item() - 1) < 1e-5, 'identical heads: cosine 1');
  const disjoint = new Tensor(Float32Array.from([1, 0, 0, 1, /* head 2 */ 0, 1, 1, 0]), [1, 2, 2, 2]);
  assert.ok(Math.abs(analysis.headDiversityLoss([disjoint]).item()) < 1e-6);
  // gradients through the softmax that makes the weights
  const logits = randn([1, 2, 3, 3], { rng: new Generator(1), dtype: 'float64' }).requireGrad();
  const mask = tensor(Uint8Array.from([1, 1, 0]), { shape: [1, 3] });
  for (const f of [(z: Tensor) => analysis.entropyLoss([F.softmax(z, -1)], mask), (z: Tensor) => analysis.entropyLoss([F.softmax(z, -1)], mask, { floor: 1.5 }), (z: Tensor) => analysis.headDiversityLoss([F.softmax(z, -1)])]) {
    const r = gradcheck(f, [logits]);
    assert.ok(r.ok, JSON.stringify(r.worst));
  }
});

// a task on which attention concentrates: the label is one token of a short text
const rng0 = new Generator(4);
const words = ['alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta'];
const recs = Array.from({ length: 300 }, () => {
  const t = Array.from({ length: 6 }, () => words[rng0.int(0, 6)]);
  return { t: t.join(' '), n: rng0.normal(), y: t.includes('alpha') ? 1 : 0 };
});
const schema = { fields: [{ name: 't', kind: 'text', minCount: 1 }, { name: 'n', kind: 'numeric' }], targets: [{ name: 'y', task: 'binary' }] };
const pre = data.Preprocessor.fit(schema, recs);
const ds = pre.encode(recs).dataset;
const split = data.splitIndices(ds.size, { seed: 0 });
const probe = split.valid;

function trainWith(remedies: Record<string, unknown> | undefined, config: Record<string, unknown> = {}): models.FusionModel {
  const m = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 16, heads: 4, layers: 1, dropout: 0, ...config }, new Generator(2));
  new train.Trainer(m, ds, split, { epochs: 6, lr: 0.01, remedies }, { seed: 1 }).run();
  return m;
}
const stats = (m: models.FusionModel): { entropy: number; redundancy: number } => {
  const { weights, keyMask } = analysis.probeWeights(m, ds.batch(probe));
  const layer = analysis.layerStats(weights[0], keyMask, keyMask);
  const H = layer.redundancy.length;
  const off = layer.redundancy.flatMap((r, i) => r.filter((_, j) => j !== i));
  return { entropy: layer.heads.reduce((s, h) => s + h.entropy, 0) / H, redundancy: off.reduce((a, b) => a + b, 0) / (H * (H - 1)) };
};

test('the entropy regulariser raises mean attention entropy; the diversity penalty lowers head redundancy', () => {
  const none = stats(trainWith(undefined));
  const ent = stats(trainWith({ entropy: { weight: 0.5 } }));
  const div = stats(trainWith({ diversity: { weight: 1 } }));
  assert.ok(ent.entropy > none.entropy + 0.05, `entropy ${none.entropy.toFixed(3)} → ${ent.entropy.toFixed(3)} with the regulariser`);
  assert.ok(div.redundancy < none.redundancy - 0.02, `redundancy ${none.redundancy.toFixed(3)} → ${div.redundancy.toFixed(3)} with the penalty`);
  assert.throws(() => new train.Trainer(new models.MLPModel(pre.fieldInfo(), pre.targetInfo(), { rng: new Generator(0) }), ds, split, { epochs: 1, remedies: { entropy: { weight: 1 } } }, { seed: 0 }).run(), /need attention maps/);
});

test('DropHead drops whole heads at its rate, rescales the rest, and is off in eval mode', () => {
  const mha = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 4, rng: new Generator(3) });
  mha.dropHead = 0.5;
  const mask = (mha as unknown as { headMask(B: number, H: number, d: string): Tensor }).headMask(2000, 4, 'float32');
  const zeros = Array.from(mask.data).filter((v) => v === 0).length / mask.size;
  // a sample whose every head would drop keeps them all: the expected dropped fraction is p − p^H
  assert.ok(Math.abs(zeros - (0.5 - 0.5 ** 4)) < 0.03, `dropped fraction ${zeros}`);
  for (let b = 0; b < 2000; b++) {
    let s = 0;
    for (let h = 0; h < 4; h++) s += mask.data[b * 4 + h];
    assert.ok(Math.abs(s - 4) < 1e-5, 'kept heads are rescaled by H / kept');
  }
  const x = randn([3, 5, 8], { rng: new Generator(5) });
  const train1 = mha.train().forward(x).output, evalOut = mha.eval().forward(x).output;
  mha.dropHead = 0;
  assert.deepEqual(Array.from(mha.eval().forward(x).output.data), Array.from(evalOut.data), 'eval ignores DropHead');
  assert.notDeepEqual(Array.from(train1.data), Array.from(evalOut.data));
  // the trainer's V schedule: p at the ends, 0 in the middle
  const m = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 16, heads: 4, layers: 1, dropout: 0 }, new Generator(2));
  const seen: number[] = [];
  const t = new train.Trainer(m, ds, split, { epochs: 2, batchSize: 64, remedies: { dropHead: { p: 0.4, schedule: 'v' } } }, { seed: 1 });
  const attn = m.encoder!.layers[0].selfAttn;
  t.callbacks.push({ onStep: () => seen.push(attn.dropHead) });
  t.run();
  assert.ok(Math.abs(seen[0] - 0.4) < 1e-9 && Math.min(...seen) < 0.1 && seen.at(-1)! > 0.2, seen.map((v) => v.toFixed(2)).join(' '));
});

test('σReparam: σ converges to the spectral norm, the effective weight has norm γ, γ learns, u and v are checkpointed', () => {
  const lin = new nn.Linear(6, 4, { rng: new Generator(7) }).useSigmaReparam(new Generator(8));
  const W = lin.weight;
  for (let i = 0; i < 50; i++) lin.train().forward(randn([2, 6], { rng: new Generator(i) }));
  // the largest singular value by a long power iteration on WᵀW
  let v = new Float64Array(6).fill(1);
  for (let it = 0; it < 500; it++) {
    const wv = Array.from({ length: 4 }, (_, r) => v.reduce((s, x, c) => s + W.data[r * 6 + c] * x, 0));
    const n = Float64Array.from({ length: 6 }, (_, c) => wv.reduce((s, x, r) => s + W.data[r * 6 + c] * x, 0));
    const norm = Math.hypot(...n); v = n.map((x) => x / norm);
  }
  const sigmaTrue = Math.hypot(...Array.from({ length: 4 }, (_, r) => v.reduce((s, x, c) => s + W.data[r * 6 + c] * x, 0)));
  assert.ok(Math.abs(lin.reparam!.sigma(W) - sigmaTrue) < 1e-4, `σ ${lin.reparam!.sigma(W)} vs ${sigmaTrue}`);
  const eff = lin.reparam!.apply(W, false);
  assert.ok(Math.abs(lin.reparam!.sigma(eff) / 1 - 1) < 1e-3, 'the reparametrised weight has spectral norm γ = 1');
  lin.zeroGrad();
  backward(F.sum(F.square(lin.train().forward(randn([3, 6], { rng: new Generator(9) })))));
  assert.ok(lin.reparam!.gamma.grad && lin.reparam!.gamma.grad.data[0] !== 0, 'γ receives a gradient');
  assert.equal(lin.reparam!.u.grad, null, 'u is state, not trained');
  const names = Object.keys(lin.stateDict());
  assert.deepEqual(names.sort(), ['bias', 'reparam.gamma', 'reparam.u', 'reparam.v', 'weight']);
  const m = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 16, heads: 4, layers: 1, sigmaReparam: true }, new Generator(2));
  assert.ok(Object.keys(m.stateDict()).some((k) => k.endsWith('selfAttn.reparams.0.gamma')));
  new train.Trainer(m, ds, split, { epochs: 1 }, { seed: 0 }).run();
});
