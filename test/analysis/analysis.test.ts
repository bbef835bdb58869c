/** Attention diagnostics, rollout and attributions against hand-derived values; the report of a trained early-fusion model. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, Tensor, analysis, data, models, tensor, train } from '../../src/index.js';

const w4 = (rows: number[][][][]): Tensor => {
  const B = rows.length, H = rows[0].length, T = rows[0][0].length, S = rows[0][0][0].length;
  return new Tensor(Float32Array.from(rows.flat(3)), [B, H, T, S]);
};

test('layerStats: uniform rows have normalised entropy 1 and support n; one-hot rows entropy 0 and their distance', () => {
  const u = 1 / 4;
  const w = w4([[
    [[u, u, u, u], [u, u, u, u], [u, u, u, u], [u, u, u, u]],                    // head 0: uniform
    [[0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0]],                    // head 1: one key, |i − j| = 2
  ]]);
  const [h0, h1] = analysis.layerStats(w).heads;
  assert.ok(Math.abs(h0.normEntropy - 1) < 1e-6 && Math.abs(h0.support - 4) < 1e-5 && Math.abs(h0.maxWeight - 0.25) < 1e-7);
  assert.ok(Math.abs(h0.entropy - Math.log(4)) < 1e-6);
  assert.ok(Math.abs(h0.distance - (1.5 + 1 + 1 + 1.5) / 4) < 1e-6, 'uniform over 4: mean |i−j| per row 1.5, 1, 1, 1.5');
  assert.equal(h1.entropy, 0); assert.equal(h1.maxWeight, 1); assert.equal(h1.support, 1); assert.equal(h1.distance, 2);
  assert.deepEqual(h1.distanceProfile.map((p) => Math.round(p * 1e6) / 1e6), [0, 0, 1, 0, 0, 0, 0], 'all mass at distance 2 (bucket 2–3)');
  assert.equal(h1.entropyHist[0], 1);
  // with the last key masked (three real keys), uniform over them is normalised entropy 1
  const third = 1 / 3;
  const masked = analysis.layerStats(w4([[[[third, third, third, 0], [0, 0, 0, 0]]]]), tensor(Uint8Array.from([1, 1, 1, 0]), { shape: [1, 4] }));
  assert.ok(Math.abs(masked.heads[0].normEntropy - 1) < 1e-6, 'the all-zero (fully masked) query row is skipped');
  assert.throws(() => analysis.layerStats(new Tensor(new Float32Array(4), [2, 2])), /\[B, H, T, S\]/);
});

test('headRedundancy: identical heads → 1, heads on disjoint keys → 0, symmetric', () => {
  const a = [[0.5, 0.5, 0], [0, 0.5, 0.5]], b = [[0, 0, 1], [1, 0, 0]];
  const r = analysis.headRedundancy(w4([[a, a, b]]));
  assert.ok(Math.abs(r[0][1] - 1) < 1e-6);
  assert.ok(Math.abs(r[0][2]) < 1e-6, 'no shared support: JSD = ln 2');
  assert.equal(r[2][0], r[0][2]);
  assert.equal(r[1][1], 1);
});

test('rollout: Â = ½A + ½I with renormalised rows, multiplied through layers (hand-computed 2×2)', () => {
  // layer A1 = [[.5, .5], [0, 1]] → Â1 = [[.75, .25], [0, 1]]; layer A2 = [[0, 1], [1, 0]] → Â2 = [[.5, .5], [.5, .5]]
  const A1 = w4([[[[0.5, 0.5], [0, 1]]]]), A2 = w4([[[[0, 1], [1, 0]]]]);
  assert.deepEqual(analysis.rollout([A1])[0], [[0.75, 0.25], [0, 1]]);
  const R = analysis.rollout([A1, A2])[0];                          // Â2 · Â1 = [[.375, .625], [.375, .625]]
  R.flat().forEach((v, i) => assert.ok(Math.abs(v - [0.375, 0.625, 0.375, 0.625][i]) < 1e-12));
  // heads are averaged first: two heads [[1,0],[0,1]] and [[0,1],[1,0]] mean to ½ everywhere
  const two = w4([[[[1, 0], [0, 1]], [[0, 1], [1, 0]]]]);
  assert.deepEqual(analysis.rollout([two], { residual: false })[0], [[0.5, 0.5], [0.5, 0.5]]);
  assert.throws(() => analysis.rollout([]), /at least one layer/);
});

test('gradTimesAttention is relu(A ⊙ ∂y/∂A) averaged over heads and needs retained gradients', () => {
  const w = w4([[[[0.2, 0.8]], [[0.6, 0.4]]]]);
  assert.throws(() => analysis.gradTimesAttention(w), /retainGrad/);
  w.grad = w4([[[[1, -1]], [[2, 0.5]]]]);
  const g = analysis.gradTimesAttention(w)[0][0];
  assert.ok(Math.abs(g[0] - (0.2 + 1.2) / 2) < 1e-6 && Math.abs(g[1] - (0 + 0.2) / 2) < 1e-6);
});

test('the report of a trained early-fusion model: labelled real tokens, row-stochastic maps, rollout, diagnostics', () => {
  const recs = Array.from({ length: 120 }, (_, i) => ({ x: i % 7 === 0 ? 'NA' : (i % 10) / 10, c: ['a', 'b'][i % 2], t: i % 3 ? 'good day' : 'bad day', y: i % 3 ? 1 : 0 }));
  const schema = { fields: [{ name: 'x', kind: 'numeric' }, { name: 'c', kind: 'categorical' }, { name: 't', kind: 'text', minCount: 1 }], targets: [{ name: 'y', task: 'binary' }] };
  const pre = data.Preprocessor.fit(schema, recs);
  const ds = pre.encode(recs).dataset;
  const m = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 8, heads: 2, layers: 2 }, new Generator(1));
  const split = data.splitIndices(ds.size, { seed: 0 });
  const fit = train.fit(m, ds, split, { epochs: 2, seed: 0 });
  const rep = analysis.buildReport({ title: 't', model: m, state: pre.state(), dataset: ds, rows: [0, 3], records: recs, history: fit.history });
  const s0 = rep.samples[0];                                          // row 0: x is missing → its token is left out
  assert.deepEqual(s0.tokens.map((t) => t.label), ['[CLS]', 'c = a', 'bad', 'day']);
  assert.equal(s0.layers.length, 2);
  assert.equal(s0.layers[0].length, 2);
  for (const row of s0.layers[1][0]) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-3, 'rows over real tokens sum to 1');
  assert.ok(Math.abs(s0.rollout.reduce((a, b) => a + b, 0) - 1) < 1e-3);
  assert.equal(s0.gradAttention.length, 4);
  assert.deepEqual(s0.fields.map((f) => f.field), ['x', 'c', 't']);
  assert.equal(s0.fields[0].rollout, 0, 'a missing field has no tokens, so no attribution');
  assert.ok(Math.abs(s0.fields[2].rollout - (s0.rollout[2] + s0.rollout[3])) < 2e-4, 'the text field sums its two tokens');
  assert.equal(rep.samples[1].tokens[1].label, 'x = 0.3');
  assert.equal(rep.diagnostics!.length, 2);
  assert.equal(rep.diagnostics![0].redundancy.length, 2);
  assert.equal(rep.history.length, 2);
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(rep)));
  const mlp = new models.MLPModel(pre.fieldInfo(), pre.targetInfo(), { rng: new Generator(0) });
  const none = analysis.buildReport({ title: 'mlp', model: mlp, state: pre.state(), dataset: ds, rows: [0] });
  assert.match(none.note!, /no token-to-token attention maps/);
  assert.deepEqual(none.samples, []);
});
