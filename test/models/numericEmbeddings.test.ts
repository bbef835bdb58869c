/** Numeric fields' embeddings in the fusion model: 'linear', 'piecewise' (PLE over fitted quantile bins) and 'periodic' (PLR). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, Generator, backward, data, models } from '../../src/index.js';
import { sum } from '../../src/ops/index.js';
import { binEdges } from '../../src/data/fields/numeric.js';
import { assertAllClose } from '../helpers.js';

const rows = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((x) => ({ x, y: x > 4 ? 1 : 0 }));

test('piecewise bin edges are training quantiles, duplicates dropped; a constant column gets one bin', () => {
  // 9 values 0…8, 4 bins: quantiles at ranks 0, 2, 4, 6, 8
  assert.deepEqual(binEdges([0, 1, 2, 3, 4, 5, 6, 7, 8], 4), [0, 2, 4, 6, 8]);
  // two distinct values: ranks 0, 1, 2, 3 of [0, 0, 0, 1] → 0, 0, 0, 1 → edges [0, 1]
  assert.deepEqual(binEdges([0, 0, 0, 1], 3), [0, 1]);
  assert.deepEqual(binEdges([5, 5], 8), [5, 6]);
});

test('piecewise: edges fitted on the normalised training values, saved in the state, each bin clamp((x − left) / width, 0, 1)', () => {
  const schema = { fields: [{ name: 'x', kind: 'numeric', embedding: 'piecewise', bins: 2, normalize: 'none' }], targets: [{ name: 'y', task: 'binary' }] };
  const pre = data.Preprocessor.fit(schema, rows);
  const info = pre.fieldInfo()[0];
  assert.deepEqual(info.binEdges, [0, 4, 8]);                                   // quantiles 0, ½, 1 of 0…8
  const again = data.Preprocessor.fromState(JSON.parse(JSON.stringify(pre.state())) as data.PreprocessorState);
  assert.deepEqual(again.fieldInfo()[0].binEdges, [0, 4, 8]);
  const m = new models.FusionModel(again.fieldInfo(), again.targetInfo(), { dim: 2, heads: 1, layers: 1 }, new Generator(1));
  const t = m.tokenizers[0];
  assert.equal(t.weight, null);
  // proj: identity on the two bins, zero bias → the token is the PLE itself (+ the field embedding)
  t.proj!.weight.data.set([1, 0, 0, 1]);
  t.proj!.bias!.data.fill(0);
  t.fieldEmbedding.data.fill(0);
  const batch = again.encode([{ x: -1, y: 0 }, { x: 2, y: 0 }, { x: 6, y: 1 }, { x: 9, y: 1 }]).dataset.batch([0, 1, 2, 3]);
  const { tokens } = t.forward(batch.fields.x);
  // x = −1 → [0, 0]; 2 → [0.5, 0]; 6 → [1, 0.5]; 9 → [1, 1] (clamped beyond the training range)
  assertAllClose(tokens, [0, 0, 0.5, 0, 1, 0.5, 1, 1], { atol: 1e-6 });
});

test('periodic (PLR): relu(proj([cos 2πfx, sin 2πfx])) with trainable frequencies that get gradients', () => {
  const schema = { fields: [{ name: 'x', kind: 'numeric', embedding: 'periodic', frequencies: 1, normalize: 'none' }], targets: [{ name: 'y', task: 'binary' }] };
  const pre = data.Preprocessor.fit(schema, rows);
  const m = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 2, heads: 1, layers: 1 }, new Generator(1));
  const t = m.tokenizers[0];
  assert.deepEqual(t.frequencies!.shape, [1]);
  t.frequencies!.data[0] = 0.25;                                                 // 2π·0.25·x = πx/2
  t.proj!.weight.data.set([1, 0, 0, -1]);                                      // [cos, −sin]
  t.proj!.bias!.data.fill(0);
  t.fieldEmbedding.data.fill(0);
  const batch = pre.encode([{ x: 0, y: 0 }, { x: 1, y: 1 }, { x: 3, y: 1 }]).dataset.batch([0, 1, 2]);
  const { tokens } = t.forward(batch.fields.x);
  // x = 0: [cos 0, −sin 0] = [1, 0]; x = 1: [0, −1] → relu [0, 0]; x = 3: [0, 1]
  assertAllClose(tokens, [1, 0, 0, 0, 0, 1], { atol: 1e-6 });
  // x = 0.5: token [cos π/4, 0]; d/df cos(2πf·0.5) = −sin(π/4)·π
  backward(sum(t.forward(pre.encode([{ x: 0.5, y: 0 }]).dataset.batch([0]).fields.x).tokens));
  assertAllClose(t.frequencies!.grad!, [-Math.SQRT1_2 * Math.PI], { rtol: 1e-4 });
});

test('an embedding option of another embedding is refused, naming the field', () => {
  const fit = (f: Record<string, unknown>): unknown => data.Preprocessor.fit({ fields: [{ name: 'x', kind: 'numeric', ...f }], targets: [{ name: 'y', task: 'binary' }] }, rows);
  assert.throws(() => fit({ embedding: 'periodic', bins: 4 }), (e: Error) => e instanceof ConfigError && /'x'.*'bins' belongs to embedding 'piecewise'.*'periodic'/.test(e.message));
  assert.throws(() => fit({ embedding: 'linear', frequencies: 4 }), (e: Error) => e instanceof ConfigError && /'frequencies' belongs to embedding 'periodic'/.test(e.message));
  assert.throws(() => fit({ embedding: 'piecewise', bins: 0 }), ConfigError);
});

test('the default embedding is piecewise; a state saved without bin edges (before that default) keeps the linear token', () => {
  const schema = { fields: [{ name: 'x', kind: 'numeric' }], targets: [{ name: 'y', task: 'binary' }] };
  const pre = data.Preprocessor.fit(schema, rows);
  assert.ok(pre.fieldInfo()[0].binEdges);
  const old = JSON.parse(JSON.stringify(pre.state())) as data.PreprocessorState;
  delete (old.fields.x as { edges?: number[] }).edges;
  const legacy = data.Preprocessor.fromState(old);
  assert.equal(legacy.fieldInfo()[0].binEdges, undefined);
  const m = new models.FusionModel(legacy.fieldInfo(), legacy.targetInfo(), { dim: 2, heads: 1, layers: 1 }, new Generator(1));
  assert.ok(m.tokenizers[0].weight && !m.tokenizers[0].proj);
});

test('piecewise-linear: the linear token x·w + b plus the piecewise one, each part with its gradient; bins allowed, saved edges needed', () => {
  const schema = { fields: [{ name: 'x', kind: 'numeric', embedding: 'piecewise-linear', bins: 2, normalize: 'none' }], targets: [{ name: 'y', task: 'binary' }] };
  const pre = data.Preprocessor.fit(schema, rows);
  assert.deepEqual(pre.fieldInfo()[0].binEdges, [0, 4, 8]);
  assert.equal(pre.fieldInfo()[0].withLinear, true);
  const again = data.Preprocessor.fromState(JSON.parse(JSON.stringify(pre.state())) as data.PreprocessorState);
  const m = new models.FusionModel(again.fieldInfo(), again.targetInfo(), { dim: 2, heads: 1, layers: 1 }, new Generator(1));
  const t = m.tokenizers[0];
  assert.deepEqual([...t.weight!.shape], [2]);
  assert.deepEqual([...t.proj!.weight.shape], [2, 2]);
  t.weight!.data.set([1, -1]);
  t.bias!.data.set([0.5, 0]);
  t.proj!.weight.data.set([1, 0, 0, 1]);
  t.proj!.bias!.data.fill(0);
  t.fieldEmbedding.data.fill(0);
  const batch = again.encode([{ x: -1, y: 0 }, { x: 2, y: 0 }, { x: 6, y: 1 }, { x: 9, y: 1 }]).dataset.batch([0, 1, 2, 3]);
  const { tokens } = t.forward(batch.fields.x);
  // [x + 0.5, −x] + PLE: x = −1 → [−0.5, 1]; 2 → [3, −2]; 6 → [7.5, −5.5]; 9 → [10.5, −8] (the linear part is not clamped)
  assertAllClose(tokens, [-0.5, 1, 3, -2, 7.5, -5.5, 10.5, -8], { atol: 1e-6 });
  backward(sum(t.forward(batch.fields.x).tokens));
  assertAllClose(t.weight!.grad!, [16, 16], { atol: 1e-5 });                    // Σx = −1 + 2 + 6 + 9
  assert.ok(Array.from(t.proj!.weight.grad!.data).some((v) => v !== 0));
  assert.ok(data.Preprocessor.fit({ fields: [{ name: 'x', kind: 'numeric', embedding: 'piecewise-linear', bins: 3 }], targets: [{ name: 'y', task: 'binary' }] }, rows));
  assert.throws(() => data.Preprocessor.fit({ fields: [{ name: 'x', kind: 'numeric', embedding: 'piecewise-linear', frequencies: 3 }], targets: [{ name: 'y', task: 'binary' }] }, rows),
    (e: Error) => e instanceof ConfigError && /'frequencies' belongs to embedding 'periodic'.*'piecewise-linear'/.test(e.message));
  const old = JSON.parse(JSON.stringify(pre.state())) as data.PreprocessorState;
  delete (old.fields.x as { edges?: number[] }).edges;
  assert.throws(() => data.Preprocessor.fromState(old), /no piecewise bin edges/);
});
