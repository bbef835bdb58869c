/**
 * Same config and seed ⇒ bit-identical weights, whatever ran before in the process: the first
 * training in the process, then other work (other models trained, attention / loss / matmul kernels
 * on large values and other shapes, the default generator drawn from and reseeded), then the same
 * training again. Runs on every backend (scripts/test.mjs), so a kernel reading stale per-thread
 * scratch, a cache keyed wrongly or a module-level stream shared between runs shows up here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Generator, backward, data, manualSeed, models, randint, randn, train } from '../../src/index.js';

/** 160 rows: numeric fields with each embedding, a categorical one, a binary target. */
function table(): data.DataRecord[] {
  const rng = new Generator(4);
  return Array.from({ length: 160 }, () => {
    const a = rng.normal(), b = rng.normal(), c = rng.uniform();
    return { a, b, c, cat: ['p', 'q', 'r'][rng.int(0, 3)], y: a - b + (c > 0.5 ? 1 : 0) + 0.3 * rng.normal() > 0.5 ? 1 : 0 };
  });
}
const SCHEMA: data.Schema = {
  fields: [
    { name: 'a', kind: 'numeric', embedding: 'piecewise', bins: 6 }, { name: 'b', kind: 'numeric', embedding: 'periodic' },
    { name: 'c', kind: 'numeric', embedding: 'linear' }, { name: 'cat', kind: 'categorical' },
  ],
  targets: [{ name: 'y', task: 'binary' }],
};
const recs = table();
const split = data.splitIndices(recs.length, { seed: 3, valid: 0.15, test: 0.15 });
const pre = data.Preprocessor.fit(SCHEMA, split.train.map((i) => recs[i]));
const ds = pre.encode(recs).dataset;

/** Trains a fusion model (dropout on, an ensemble of 2) for 2 epochs; returns every parameter's bits. */
function trained(seed: number, opts: { dim?: number; ensemble?: number } = {}): Uint32Array {
  const m = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(),
    { dim: opts.dim ?? 16, heads: 2, layers: 2, dropout: 0.1, ensemble: opts.ensemble ?? 2 }, new Generator(seed));
  train.fit(m, ds, split, { epochs: 2, seed, batchSize: 16, lr: 3e-3, weightDecay: 1e-2, warmup: 0.1, clipNorm: 1 });
  const ps = m.parameters();
  const out = new Float32Array(ps.reduce((n, p) => n + p.size, 0));
  let o = 0;
  for (const p of ps) { out.set(p.data as Float32Array, o); o += p.size; }
  return new Uint32Array(out.buffer);   // compares -0, NaN payloads and every last bit
}

/** Other work in between: kernels on large values and other shapes (fills any scratch they keep), default-generator draws. */
function otherWork(): void {
  const rng = new Generator(99);
  trained(0, { dim: 32, ensemble: 1 });
  new models.MLPModel(pre.fieldInfo(), pre.targetInfo(), { rng: new Generator(1) });
  for (const [B, H, T, D] of [[2, 2, 5, 8], [1, 4, 70, 16], [3, 2, 33, 8]]) {
    const q = randn([B, H, T, D], { rng, std: 30 }).requireGrad();
    const k = randn([B, H, T, D], { rng, std: 30 }).requireGrad();
    const v = randn([B, H, T, D], { rng, std: 1e3 }).requireGrad();
    const mask = F.gt(randn([B, 1, 1, T], { rng }), -0.5);
    for (const o of [{}, { causal: true }, { mask }, { dropout: 0.3 }, { blockMask: F.causalBlockMask(T, T) }]) {
      backward(F.sum(F.square(F.scaledDotProductAttention(q, k, v, o))));
    }
  }
  for (const [N, V, C] of [[40, 300, 16], [9, 7, 8]]) {
    const x = randn([N, C], { rng, std: 50 }).requireGrad(), w = randn([V, C], { rng, std: 50 }).requireGrad();
    const t = randint(0, V, [N], { rng });
    backward(F.linearCrossEntropy(x, w, null, t));
    backward(F.crossEntropy(F.linear(x, w), t));
  }
  backward(F.sum(F.matmul(randn([37, 53], { rng, std: 1e4 }).requireGrad(), randn([53, 71], { rng, std: 1e4 }).requireGrad())));
  randn([1000]);   // the default generator moves on…
  manualSeed(12345);   // …and is reseeded
}

test('the same training twice in one process, with other work in between, gives bit-identical weights', () => {
  const first = trained(3);   // the first training in this process
  otherWork();
  const again = trained(3);
  const diff = first.findIndex((x, i) => x !== again[i]);
  assert.equal(diff, -1, `parameter element ${diff} differs: ${new Float32Array(first.buffer)[diff]} then ${new Float32Array(again.buffer)[diff]}`);
  assert.notDeepEqual(trained(4), first, 'another seed gives other weights');
});
