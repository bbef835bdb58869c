/**
 * The attention family, part 1: hand-derived values, gradchecks (float64 copies of the layers,
 * checked with respect to inputs and parameters), properties (causality, masking, relative
 * positions) and typed errors. PyTorch parity lives in attention.torch.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DTypeError, Generator, Module, ShapeError, Tensor, ValueError, backward, gradcheck, mean, mul, nn, noGrad,
  randn, square, sub, sum, tensor, zeros, F,
} from '../../src/index.js';
import { assertAllClose, r64, tapeNames } from '../helpers.js';
import { toFloat64 } from './contract.js';


/** Gradchecks a float64 module's output with respect to the given inputs and all its parameters. */
function checkGrads(m: Module, fn: () => Tensor, inputs: Tensor[], label: string): void {
  const r = gradcheck(() => fn(), [...inputs, ...m.parameters()], { atol: 1e-6, rtol: 1e-4 });
  assert.ok(r.ok, `${label}: gradcheck failed at ${JSON.stringify(r.worst)}`);
  assert.ok(r.checked > 0);
}

const bool = (rows: number[][]): Tensor => tensor(rows.map((r) => r.map((v) => v === 1)));
const rng = (s = 0): Generator => new Generator(s);

// ---------- scaledDotProductAttention ----------

test('sdpa: a bool mask and causal combine (both apply), a float mask adds, fully masked rows give zeros', () => {
  const g = rng(1);
  const [q, k, v] = [0, 1, 2].map(() => randn([1, 2, 4, 8], { rng: g }));
  const mask = bool([[1, 0, 1, 1], [1, 1, 1, 1], [0, 1, 1, 1], [1, 1, 1, 1]]);
  const { output, weights } = F.scaledDotProductAttention(q!, k!, v!, { mask, causal: true, returnWeights: true });
  for (let h = 0; h < 2; h++) for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
    const w = weights.data[((h * 4) + i) * 4 + j]!;
    if (j > i || mask.data[i * 4 + j] === 0) assert.equal(w, 0, `weight (${h},${i},${j}) must be masked`);
  }
  // row 2 under causal sees keys 0..2 but the mask removes 0: keys 1, 2 remain
  assert.ok(weights.data[2 * 4 + 1]! > 0 && weights.data[2 * 4 + 2]! > 0);
  // the fused path agrees with the weights path
  assertAllClose(F.scaledDotProductAttention(q!, k!, v!, { mask, causal: true }), output, { rtol: 1e-5, atol: 1e-6 });
  // a float mask of 0 / −∞ equals the bool mask
  const fm = tensor(Float32Array.from(mask.data, (m) => (m ? 0 : -Infinity)), { shape: [4, 4] });
  assertAllClose(F.scaledDotProductAttention(q!, k!, v!, { mask: fm, causal: true }), output, { rtol: 1e-5, atol: 1e-6 });
  // a query that may see nothing (causal row 0 with key 0 masked) gives zeros, not NaN
  const none = bool([[0, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]);
  const z = F.scaledDotProductAttention(q!, k!, v!, { mask: none, causal: true });
  for (let h = 0; h < 2; h++) for (let d = 0; d < 8; d++) assert.equal(z.data[h * 32 + d], 0);
});

// ---------- scoring functions ----------

/** Hand-computed scores for one batch element (float64 loops). */
function handScores(att: InstanceType<typeof nn.Attention>, q: Tensor, k: Tensor): number[][] {
  const [, T, Dq] = q.shape as number[];
  const S = k.shape[1]!, Dk = k.shape[2]!;
  const qa = (t: number, d: number): number => q.data[t * Dq! + d]!;
  const ka = (s: number, d: number): number => k.data[s * Dk + d]!;
  const out: number[][] = [];
  for (let t = 0; t < T!; t++) {
    out.push([]);
    for (let s = 0; s < S; s++) {
      let v = 0;
      if (att.score === 'dot' || att.score === 'scaledDot') {
        for (let d = 0; d < Dq!; d++) v += qa(t, d) * ka(s, d);
        if (att.score === 'scaledDot') v /= Math.sqrt(Dq!);
      } else if (att.score === 'general') {
        const W = att.w!.weight; // [Dk, Dq]: qᵀ(Wᵀ)k
        for (let i = 0; i < Dq!; i++) for (let j = 0; j < Dk; j++) v += qa(t, i) * W.data[j * Dq! + i]! * ka(s, j);
      } else if (att.score === 'additive') {
        const h = att.v!.weight.shape[1]!;
        for (let u = 0; u < h; u++) {
          let a = 0;
          for (let i = 0; i < Dq!; i++) a += att.wq!.weight.data[u * Dq! + i]! * qa(t, i);
          for (let j = 0; j < Dk; j++) a += att.wk!.weight.data[u * Dk + j]! * ka(s, j);
          v += att.v!.weight.data[u]! * Math.tanh(a);
        }
      } else {
        let dot = 0, nq = 0, nk = 0;
        for (let d = 0; d < Dq!; d++) { dot += qa(t, d) * ka(s, d); nq += qa(t, d) ** 2; nk += ka(s, d) ** 2; }
        v = (dot / Math.sqrt(nq * nk)) * Math.exp(att.logScale!.data[0]!);
      }
      out[t]!.push(v);
    }
  }
  return out;
}

for (const score of ['dot', 'scaledDot', 'general', 'additive', 'cosine'] as const) {
  test(`Attention score '${score}': hand-derived scores and weights, masking, gradcheck`, () => {
    const sameDims = score === 'dot' || score === 'scaledDot' || score === 'cosine';
    const att = toFloat64(new nn.Attention({ score, queryDim: 4, keyDim: sameDims ? 4 : 3, hiddenDim: 5, rng: rng(3) }));
    const q = r64([1, 2, 4], 1), k = r64([1, 3, sameDims ? 4 : 3], 2), v = r64([1, 3, 2], 3);
    const expected = handScores(att, q, k);
    assertAllClose(att.scores(q, k), expected.flat(), { rtol: 1e-10, atol: 1e-12, msg: `${score} scores` });
    const mask = tensor([[[true, false, true]]]);                       // [1, 1, S]
    const { output, weights } = att.forward(q, k, v, { attnMask: mask, needWeights: true });
    for (let t = 0; t < 2; t++) {
      const row = expected[t]!;
      const z = Math.exp(row[0]!) + Math.exp(row[2]!);
      assertAllClose([weights!.data[t * 3]!, weights!.data[t * 3 + 1]!, weights!.data[t * 3 + 2]!], [Math.exp(row[0]!) / z, 0, Math.exp(row[2]!) / z], { rtol: 1e-10, atol: 1e-12 });
      for (let d = 0; d < 2; d++) {
        const want = (Math.exp(row[0]!) * v.data[d]! + Math.exp(row[2]!) * v.data[2 * 2 + d]!) / z;
        assertAllClose([output.data[t * 2 + d]!], [want], { rtol: 1e-10, atol: 1e-12 });
      }
    }
    checkGrads(att, () => att.forward(q, k, v, { attnMask: mask }).output, [q, k, v], `Attention(${score})`);
  });
}

test('Attention: unscaled dot-product softmax entropy collapses as d grows; scaled does not', () => {
  const entropy = (score: 'dot' | 'scaledDot', d: number): number => {
    const att = new nn.Attention({ score, queryDim: d });
    const g = rng(d);
    const q = randn([8, 16, d], { rng: g }), k = randn([8, 16, d], { rng: g });
    const { weights } = att.forward(q, k, k, { needWeights: true });
    let h = 0;
    for (const p of weights!.data) if (p > 0) h -= p * Math.log(p);
    return h / (8 * 16);
  };
  const [dotSmall, dotBig] = [entropy('dot', 4), entropy('dot', 256)];
  const [scSmall, scBig] = [entropy('scaledDot', 4), entropy('scaledDot', 256)];
  assert.ok(dotBig < 0.3 * dotSmall, `unscaled entropy should collapse: d=4 ${dotSmall.toFixed(3)}, d=256 ${dotBig.toFixed(3)}`);
  assert.ok(Math.abs(scBig - scSmall) < 0.5, `scaled entropy should stay put: d=4 ${scSmall.toFixed(3)}, d=256 ${scBig.toFixed(3)}`);
});

// ---------- multi-head attention ----------

test('MultiHeadAttention: gradcheck (packed self-attention with key mask, cross-attention with kDim/vDim and a float mask)', () => {
  const self = toFloat64(new nn.MultiHeadAttention({ embedDim: 4, numHeads: 2, rng: rng(1) }));
  const x = r64([2, 3, 4], 5);
  const keyMask = bool([[1, 1, 1], [1, 1, 0]]);
  checkGrads(self, () => self.forward(x, x, x, { keyMask }).output, [x], 'MHA self');
  const cross = toFloat64(new nn.MultiHeadAttention({ embedDim: 4, numHeads: 2, kDim: 3, vDim: 2, numKVHeads: 1, rng: rng(2) }));
  const q = r64([1, 2, 4], 6), k = r64([1, 3, 3], 7), v = r64([1, 3, 2], 8);
  const fm = r64([2, 3], 9, { grad: false });
  checkGrads(cross, () => cross.forward(q, k, v, { attnMask: fm, causal: true }).output, [q, k, v], 'MHA cross GQA');
});

test('MultiHeadAttention: grouped-query heads equal full heads with each k/v head repeated for its group', () => {
  const gqa = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 4, numKVHeads: 2, rng: rng(4) });
  const full = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 4, rng: rng(5) });
  // packed [C + 2·Hkv·D, C] → [3C, C]: kv head g serves query heads 2g, 2g+1
  const D = 2, C = 8, w = gqa.inProjWeight!, b = gqa.inProjBias!;
  const W = new Float32Array(3 * C * C), Bv = new Float32Array(3 * C);
  W.set(w.data.subarray(0, C * C));
  Bv.set(b.data.subarray(0, C));
  for (const part of [0, 1]) {
    for (let h = 0; h < 4; h++) {
      const g = h >> 1;
      for (let d = 0; d < D; d++) {
        const src = C + part * 2 * D + g * D + d, dst = C + part * C + h * D + d;
        W.set(w.data.subarray(src * C, (src + 1) * C), dst * C);
        Bv[dst] = b.data[src]!;
      }
    }
  }
  full.loadStateDict({ inProjWeight: tensor(W, { shape: [3 * C, C] }), inProjBias: tensor(Bv), 'outProj.weight': gqa.outProj.weight, 'outProj.bias': gqa.outProj.bias! });
  const x = randn([2, 5, 8], { rng: rng(6) });
  assertAllClose(gqa.forward(x).output, full.forward(x).output, { rtol: 1e-5, atol: 1e-6 });
  assert.equal(gqa.numParameters(), 8 * 8 + 2 * 4 * 8 + (8 + 2 * 4) + 8 * 8 + 8);
});

test('MultiHeadAttention: weights per head or averaged, and asking for them does not change the output', () => {
  const mha = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: rng(7) });
  const x = randn([2, 4, 8], { rng: rng(8) });
  const plain = mha.forward(x, x, x, { causal: true });
  const per = mha.forward(x, x, x, { causal: true, needWeights: true, averageWeights: false });
  const avg = mha.forward(x, x, x, { causal: true, needWeights: true });
  assert.deepEqual(per.weights!.shape, [2, 2, 4, 4]);
  assert.deepEqual(avg.weights!.shape, [2, 4, 4]);
  assertAllClose(avg.weights!, mean(per.weights!, 1), { rtol: 1e-6, atol: 1e-7 });
  assertAllClose(per.output, plain.output, { rtol: 1e-5, atol: 1e-6 });
  assertAllClose(sum(avg.weights!, -1), new Float32Array(8).fill(1), { rtol: 1e-5, atol: 1e-6 });
});

test('MultiHeadAttention: self-attention runs the packed fused kernel, equal to the split path in values and gradients', () => {
  const mha = new nn.MultiHeadAttention({ embedDim: 16, numHeads: 4, numKVHeads: 2, rng: rng(3) });
  const x = randn([2, 9, 16], { rng: rng(4) }).requireGrad();
  const x2 = new Tensor(Float32Array.from(x.data as Float32Array), x.shape).requireGrad();
  const keyMask = bool([[1, 1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1]]);
  const fused = mha.forward(x, x, x, { causal: true, keyMask }).output;
  assert.ok(tapeNames(fused).has('packedAttention'), 'packed fused kernel on the tape');
  assert.ok(!tapeNames(fused).has('attention'));
  const split = mha.forward(x2, x2, x2, { causal: true, keyMask, needWeights: true }).output;  // weights asked: split + composite
  assert.ok(!tapeNames(split).has('packedAttention'));
  assertAllClose(fused, split, { rtol: 1e-5, atol: 1e-6 });
  const u = randn(fused.shape, { rng: rng(5) });
  const grads = (out: Tensor, inp: Tensor): Float32Array[] => {
    for (const p of mha.parameters()) p.grad = null;
    backward(out, u);
    return [inp.grad!, ...mha.parameters().map((p) => p.grad!)].map((g) => Float32Array.from(g.data as Float32Array));
  };
  const gf = grads(fused, x), gs = grads(split, x2);
  gf.forEach((g, i) => assertAllClose(g, gs[i]!, { rtol: 1e-4, atol: 1e-5, msg: `gradient ${i}` }));
  // rotary positions rotate q and k after the split: the per-head fused kernel then
  const rope = new nn.MultiHeadAttention({ embedDim: 16, numHeads: 4, rope: true, rng: rng(3) });
  const names = tapeNames(rope.forward(x, x, x).output);
  assert.ok(names.has('attention') && !names.has('packedAttention'));
});

test('MultiHeadAttention: causal outputs ignore later tokens; masked keys are never read', () => {
  const mha = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: rng(9) });
  const x = randn([1, 5, 8], { rng: rng(10) });
  const x2 = new Tensor(x.data.slice(), x.shape);
  for (let i = 3 * 8; i < 5 * 8; i++) x2.data[i] += 5;                 // change tokens 3 and 4
  const a = mha.forward(x, x, x, { causal: true }).output, b = mha.forward(x2, x2, x2, { causal: true }).output;
  assertAllClose(b.data.subarray(0, 3 * 8), a.data.subarray(0, 3 * 8), { rtol: 1e-6, atol: 1e-7, msg: 'earlier outputs' });
  assert.ok(Math.abs(b.data[4 * 8]! - a.data[4 * 8]!) > 1e-4, 'later outputs do change');
  const keyMask = bool([[1, 1, 1, 0, 0]]);
  const q = randn([1, 2, 8], { rng: rng(11) });
  const m1 = mha.forward(q, x, x, { keyMask }).output, m2 = mha.forward(q, x2, x2, { keyMask }).output;
  assertAllClose(m2, m1, { rtol: 1e-6, atol: 1e-7, msg: 'padded keys must not matter' });
});

test('MultiHeadAttention rejects bad input with typed errors naming the layer, argument and shapes', () => {
  const mk = (o: Partial<ConstructorParameters<typeof nn.MultiHeadAttention>[0]>) => () => new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: rng(), ...o });
  assert.throws(mk({ numHeads: 3 }), (e: unknown) => e instanceof ValueError && /MultiHeadAttention: numHeads \(3\) must divide embedDim \(8\)/.test(e.message));
  assert.throws(mk({ numKVHeads: 3 }), (e: unknown) => e instanceof ValueError && /numKVHeads \(3\) must divide numHeads \(2\)/.test(e.message));
  assert.throws(mk({ rng: 42 as unknown as Generator }), (e: unknown) => e instanceof ValueError && /MultiHeadAttention: options.rng must be a Generator/.test(e.message));
  const mha = mk({})();
  const x = randn([2, 3, 8], { rng: rng() });
  assert.throws(() => mha.forward(randn([2, 3, 6], { rng: rng() })), (e: unknown) => e instanceof ShapeError && /MultiHeadAttention.forward: query must be \[B, L, 8\], got \[2,3,6\]/.test(e.message));
  assert.throws(() => mha.forward(x, randn([1, 3, 8], { rng: rng() })), (e: unknown) => e instanceof ShapeError && /batch sizes differ/.test(e.message));
  assert.throws(() => mha.forward(x, x, randn([2, 4, 8], { rng: rng() })), (e: unknown) => e instanceof ShapeError && /key and value lengths differ/.test(e.message));
  assert.throws(() => mha.forward(x, x, x, { keyMask: bool([[1, 1], [1, 1]]) }), (e: unknown) => e instanceof ShapeError && /keyMask has shape \[2,2\], expected \[B, S\] = \[2,3\]/.test(e.message));
  assert.throws(() => mha.forward(x, x, x, { keyMask: tensor([[1, 1, 1], [1, 1, 1]]) }), (e: unknown) => e instanceof DTypeError && /keyMask must be bool/.test(e.message));
  assert.throws(() => mha.forward(x, x, x, { attnMask: bool([[1, 1], [1, 1]]) }), (e: unknown) => e instanceof ShapeError && /attnMask has shape \[2,2\]/.test(e.message));
  assert.throws(() => mha.forward(x, x, x, { attnMask: tensor(Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1]), { shape: [3, 3] }) }), DTypeError);
});

// ---------- pooling ----------

test('AttentionPooling: one or several learned queries, padded tokens ignored, gradcheck', () => {
  const pool = new nn.AttentionPooling({ embedDim: 8, numHeads: 2, rng: rng(12) });
  const x = randn([2, 5, 8], { rng: rng(13) });
  const keyMask = bool([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]);
  const { output, weights } = pool.forward(x, { keyMask, needWeights: true });
  assert.deepEqual(output.shape, [2, 8]);
  assert.deepEqual(weights!.shape, [2, 1, 5]);
  for (let j = 2; j < 5; j++) assert.equal(weights!.data[5 + j], 0, 'padded token weight');
  const x2 = new Tensor(x.data.slice(), x.shape);
  for (let i = 5 * 8 + 2 * 8; i < 10 * 8; i++) x2.data[i] = 99;
  assertAllClose(pool.forward(x2, { keyMask }).output.data.subarray(8), output.data.subarray(8), { rtol: 1e-6, atol: 1e-6 });
  const multi = new nn.AttentionPooling({ embedDim: 8, numQueries: 3, rng: rng(14) });
  assert.deepEqual(multi.forward(x).output.shape, [2, 3, 8]);
  const small = toFloat64(new nn.AttentionPooling({ embedDim: 4, numQueries: 2, numHeads: 2, rng: rng(15) }));
  const xs = r64([1, 3, 4], 16);
  checkGrads(small, () => small.forward(xs).output, [xs], 'AttentionPooling');
});

test('GatedAttentionPooling (Ilse et al. 2018): hand-derived weights, gated and plain, masked instances, gradcheck', () => {
  for (const gated of [true, false]) {
    const pool = toFloat64(new nn.GatedAttentionPooling({ inDim: 3, hiddenDim: 4, gated, rng: rng(17) }));
    const h = r64([1, 4, 3], 18);
    const mask = bool([[1, 1, 0, 1]]);
    const lin = (l: InstanceType<typeof nn.Linear>, x: number[]): number[] =>
      Array.from({ length: l.outFeatures }, (_, o) => l.bias!.data[o]! + x.reduce((s, xi, i) => s + l.weight.data[o * l.inFeatures + i]! * xi, 0));
    const scores = [0, 1, 2, 3].map((n) => {
      const hn = Array.from(h.data.subarray(n * 3, n * 3 + 3));
      const a = lin(pool.attentionV, hn).map(Math.tanh);
      const g = gated ? lin(pool.attentionU!, hn).map((z) => 1 / (1 + Math.exp(-z))) : a.map(() => 1);
      return lin(pool.attentionW, a.map((ai, i) => ai * g[i]!))[0]!;
    });
    const kept = [0, 1, 3];
    const zsum = kept.reduce((s, n) => s + Math.exp(scores[n]!), 0);
    const want = [0, 1, 2, 3].map((n) => (n === 2 ? 0 : Math.exp(scores[n]!) / zsum));
    const { output, weights } = pool.forward(h, { keyMask: mask, needWeights: true });
    assertAllClose(weights!, want, { rtol: 1e-10, atol: 1e-12 });
    const z = [0, 1, 2].map((c) => want.reduce((s, a, n) => s + a * h.data[n * 3 + c]!, 0));
    assertAllClose(output, z, { rtol: 1e-10, atol: 1e-12 });
    checkGrads(pool, () => pool.forward(h, { keyMask: mask }).output, [h], `GatedAttentionPooling(gated=${gated})`);
  }
});

test('NadarayaWatson: hand-derived kernel weights; a learned bandwidth fits y = 2 sin x + x^0.8 better than mean pooling', () => {
  const nw = new nn.NadarayaWatson({ bandwidth: 0.5 });
  const xq = tensor([[0.3]]), xk = tensor([[0, 1, 2]]), yk = tensor([[1, 2, 3]]);
  const { output, weights } = nw.forward(xq, xk, yk, { needWeights: true });
  const e = [0, 1, 2].map((xi) => Math.exp(-(((0.3 - xi) / 0.5) ** 2) / 2));
  const z = e.reduce((a, b) => a + b);
  assertAllClose(weights!, e.map((v) => v / z), { rtol: 1e-5, atol: 1e-7 });
  assertAllClose(output, [e.reduce((s, v, i) => s + v * (i + 1), 0) / z], { rtol: 1e-5, atol: 1e-6 });
  // the d2l setup: 50 sorted x ~ U(0, 5), y = 2 sin x + x^0.8 + N(0, 0.5); test on 0:0.1:5
  const g = rng(19);
  const xs = Array.from({ length: 50 }, () => 5 * g.uniform()).sort((a, b) => a - b);
  const f = (x: number): number => 2 * Math.sin(x) + x ** 0.8;
  const ys = xs.map((x) => f(x) + 0.5 * g.normal());
  const xTrain = tensor([xs]), yTrain = tensor([ys]);
  const grid = Array.from({ length: 51 }, (_, i) => i / 10);
  const xTest = tensor([grid]), yTest = tensor([grid.map(f)]);
  const mse = (m: InstanceType<typeof nn.NadarayaWatson>): number => noGrad(() => mean(square(sub(m.forward(xTest, xTrain, yTrain).output, yTest))).item());
  const meanPool = mean(square(sub(yTest, mean(yTrain)))).item();
  const learned = new nn.NadarayaWatson({ bandwidth: 3, learned: true });
  // leave-one-out training: each training point predicted from the others
  const loo = tensor(Array.from({ length: 50 }, (_, i) => Array.from({ length: 50 }, (_, j) => i !== j)));
  const xOthers = tensor(Array.from({ length: 50 }, () => xs)), yOthers = tensor(Array.from({ length: 50 }, () => ys));
  for (let step = 0; step < 60; step++) {
    learned.zeroGrad();
    const diff = mul(sub(F.unsqueeze(tensor(xs), -1), xOthers), learned.w!);
    const w = F.softmax(F.where(loo, F.div(square(diff), -2), -Infinity), -1);
    const pred = sum(mul(w, yOthers), -1);
    backward(mean(square(sub(pred, tensor(ys)))));
    learned.w!.data[0] -= 0.5 * learned.w!.grad!.data[0]!;
  }
  const [mseFixedWide, mseLearned] = [mse(new nn.NadarayaWatson({ bandwidth: 3 })), mse(learned)];
  assert.ok(mseLearned < mseFixedWide && mseLearned < 0.5 * meanPool, `learned ${mseLearned.toFixed(3)} vs bandwidth-3 ${mseFixedWide.toFixed(3)} vs mean pooling ${meanPool.toFixed(3)}`);
  assert.ok(learned.bandwidth < 3, `bandwidth shrinks from 3, got ${learned.bandwidth}`);
  const small = toFloat64(new nn.NadarayaWatson({ learned: true }));
  const a = r64([2, 3], 20), b = r64([2, 4], 21), c = r64([2, 4, 2], 22);
  checkGrads(small, () => small.forward(a, b, c).output, [a, b, c], 'NadarayaWatson');
  assert.throws(() => new nn.NadarayaWatson({ bandwidth: 0 }), ValueError);
  assert.throws(() => nw.forward(tensor([[1]]), tensor([[1, 2]]), tensor([[1, 2, 3]])), ShapeError);
});

// ---------- positions ----------

test('positions: sinusoidal table values, learned table, RoPE relative property and gradcheck, ALiBi slopes and bias', () => {
  const pe = nn.sinusoidalEncoding(4, 6);
  for (let p = 0; p < 4; p++) for (let i = 0; i < 6; i += 2) {
    assertAllClose([pe.data[p * 6 + i]!, pe.data[p * 6 + i + 1]!], [Math.sin(p / 10000 ** (i / 6)), Math.cos(p / 10000 ** (i / 6))], { rtol: 1e-6, atol: 1e-7 });
  }
  const enc = new nn.SinusoidalPositionalEncoding({ embedDim: 6 });
  assertAllClose(enc.forward(zeros([1, 4, 6])).data, pe.data);
  const learned = new nn.LearnedPositionalEmbedding({ maxLen: 4, embedDim: 6, rng: rng(23) });
  assertAllClose(learned.forward(zeros([2, 3, 6])).data.subarray(18), learned.weight.data.subarray(0, 18));
  assert.throws(() => learned.forward(zeros([1, 5, 6])), (e: unknown) => e instanceof ValueError && /length 5 exceeds maxLen 4/.test(e.message));

  // RoPE: ⟨R_m q, R_n k⟩ depends only on m − n; rotation keeps norms
  const q = randn([1, 1, 1, 8], { rng: rng(24) }), k = randn([1, 1, 1, 8], { rng: rng(25) });
  const dot = (m: number, n: number): number => sum(mul(nn.applyRotary(q, { offset: m }), nn.applyRotary(k, { offset: n }))).item();
  assertAllClose([dot(7, 3), dot(14, 10)], [dot(4, 0), dot(4, 0)], { rtol: 1e-4, atol: 1e-5 });
  assert.ok(Math.abs(dot(4, 0) - dot(0, 0)) > 1e-3, 'rotation changes scores at other distances');
  assertAllClose([sum(square(nn.applyRotary(q, { offset: 5 }))).item()], [sum(square(q)).item()], { rtol: 1e-5 });
  const x = r64([1, 2, 3, 4], 26);
  assert.ok(gradcheck((t) => nn.applyRotary(t, { offset: 2 }), [x]).ok);
  assert.throws(() => nn.applyRotary(randn([1, 3, 5], { rng: rng() })), (e: unknown) => e instanceof ShapeError && /must be even/.test(e.message));

  assertAllClose(nn.alibiSlopes(8), [1, 2, 3, 4, 5, 6, 7, 8].map((i) => 2 ** -i), { rtol: 1e-12 });
  assertAllClose(nn.alibiSlopes(6), [2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3], { rtol: 1e-12 });
  const bias = nn.alibiBias(2, 3, 3);
  assert.deepEqual(bias.shape, [1, 2, 3, 3]);
  assertAllClose(bias.data.subarray(9, 18), [0, -1, -2, -1, 0, -1, -2, -1, 0].map((d) => d * 2 ** -8), { rtol: 1e-6, atol: 1e-9 });
});

test('MultiHeadAttention with ALiBi equals an explicit ALiBi float mask; with RoPE it is shift-invariant', () => {
  const x = randn([1, 5, 8], { rng: rng(27) });
  const withAlibi = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, alibi: true, rng: rng(28) });
  const plain = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: rng(28) });
  assertAllClose(withAlibi.forward(x, x, x, { causal: true }).output, plain.forward(x, x, x, { causal: true, attnMask: nn.alibiBias(2, 5, 5) }).output, { rtol: 1e-5, atol: 1e-6 });
  const rope = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rope: true, rng: rng(29) });
  const at0 = rope.forward(x).output, at9 = rope.forward(x, x, x, { positionOffset: 9 }).output;
  assertAllClose(at9, at0, { rtol: 1e-4, atol: 1e-5, msg: 'RoPE scores depend only on relative positions' });
  const noRope = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: rng(29) });
  assert.ok(sum(square(sub(noRope.forward(x).output, at0))).item() > 1e-6, 'RoPE changes the output');
});

test('MultiHeadAttention with relativeBias equals the same layer given the materialised bias as attnMask (packed, weights and cross paths; the table trains); refusals', () => {
  const g = rng(31);
  const layer = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, relativeBias: { maxDistance: 3 }, rng: rng(32) });
  assert.deepEqual(layer.relativeBias!.shape, [2, 7]);
  layer.relativeBias!.data.set(randn([2, 7], { rng: g }).data);
  const x = randn([2, 9, 8], { rng: g }), mem = randn([2, 12, 8], { rng: g });
  const keyMask = tensor([Array(9).fill(true), [...Array(7).fill(true), false, false]]);
  const cases: [string, (m: nn.MultiHeadAttention, extra: Tensor | null) => Tensor][] = [
    ['packed self-attention, causal, key mask', (m, b) => m.forward(x, x, x, { causal: true, keyMask, attnMask: b }).output],
    ['with weights', (m, b) => { const r = m.forward(x, x, x, { needWeights: true, attnMask: b }); return F.add(F.sum(r.output), F.sum(F.mul(r.weights!, r.weights!))); }],
    ['cross-attention, T 9 ≠ S 12', (m, b) => m.forward(x, mem, mem, { attnMask: b }).output],
  ];
  for (const [label, run] of cases) {
    for (const p of layer.parameters()) p.grad = null;
    const fused = run(layer, null);
    backward(F.sum(F.mul(fused, fused)));
    const gTable = layer.relativeBias!.grad!, gIn = layer.inProjWeight!.grad!;
    const table = new Tensor(layer.relativeBias!.data.slice(), [2, 7]).requireGrad();
    const plain = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: rng(32) });
    const S = label.startsWith('cross') ? 12 : 9;
    const ref = run(plain, F.relativePositionBias({ table, maxDistance: 3 }, 9, S));
    backward(F.sum(F.mul(ref, ref)));
    assertAllClose(fused, ref, { rtol: 2e-4, atol: 2e-5, msg: `${label}: values` });
    assertAllClose(gTable, table.grad!, { rtol: 2e-4, atol: 2e-5, msg: `${label}: table gradient` });
    assertAllClose(gIn, plain.inProjWeight!.grad!, { rtol: 2e-4, atol: 2e-5, msg: `${label}: in-projection gradient` });
  }
  assert.throws(() => layer.forward(x, x, x, { positionOffset: 4 }), (e: unknown) => e instanceof ValueError && /^MultiHeadAttention\.forward: positionOffset \(4\) cannot be combined with relativeBias/.test((e as Error).message));
  for (const bad of [Infinity, -2, 0.5]) {
    assert.throws(() => new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, relativeBias: { maxDistance: bad } }),
      (e: unknown) => e instanceof ValueError && /^MultiHeadAttention: relativeBias\.maxDistance must be a non-negative integer/.test((e as Error).message));
  }
});

// ---------- Transformer blocks ----------

test('Transformer layers: weights handed back without changing outputs; decoder self-attention is causal by default; gradcheck', () => {
  const g = rng(30);
  const enc = new nn.TransformerEncoder({ dModel: 8, nhead: 2, dimFeedforward: 16, numLayers: 2, normFirst: true, finalNorm: true, rng: g });
  enc.eval();
  const x = randn([2, 4, 8], { rng: g });
  const keyMask = bool([[1, 1, 1, 1], [1, 1, 1, 0]]);
  const plain = enc.forward(x, { keyMask }).output;
  assert.equal(enc.forward(x, { keyMask }).weights, undefined, 'no weights unless asked');
  const withW = enc.forward(x, { keyMask, needWeights: true });
  assert.equal(withW.weights!.length, 2);
  assert.deepEqual(withW.weights![0]!.shape, [2, 2, 4, 4]);
  assertAllClose(withW.output, plain, { rtol: 1e-5, atol: 1e-6 });
  for (let l = 0; l < 2; l++) for (let h = 0; h < 2; h++) for (let i = 0; i < 4; i++) assert.equal(withW.weights![l]!.data[((1 * 2 + h) * 4 + i) * 4 + 3], 0);

  const dec = new nn.TransformerDecoder({ dModel: 8, nhead: 2, dimFeedforward: 16, numLayers: 2, rng: g });
  dec.eval();
  const tgt = randn([1, 4, 8], { rng: g }), mem = randn([1, 6, 8], { rng: g });
  const tgt2 = new Tensor(tgt.data.slice(), tgt.shape);
  for (let i = 3 * 8; i < 4 * 8; i++) tgt2.data[i] -= 3;
  const [a, b] = [dec.forward(tgt, mem), dec.forward(tgt2, mem)];
  assertAllClose(b.output.data.subarray(0, 24), a.output.data.subarray(0, 24), { rtol: 1e-5, atol: 1e-6, msg: 'decoder: earlier targets ignore later ones' });
  const dw = dec.forward(tgt, mem, { needWeights: true });
  assert.deepEqual(dw.weights!.cross[1]!.shape, [1, 2, 4, 6]);
  assertAllClose(dw.output, a.output, { rtol: 1e-5, atol: 1e-6 });

  const layer = toFloat64(new nn.TransformerEncoderLayer({ dModel: 4, nhead: 2, dimFeedforward: 6, dropout: 0, activation: 'gelu', rng: rng(31) }));
  const xs = r64([1, 3, 4], 32);
  checkGrads(layer, () => layer.forward(xs, { causal: true }).output, [xs], 'TransformerEncoderLayer');
  const dl = toFloat64(new nn.TransformerDecoderLayer({ dModel: 4, nhead: 2, dimFeedforward: 6, dropout: 0, normFirst: true, rng: rng(33) }));
  const t64 = r64([1, 2, 4], 34), m64 = r64([1, 3, 4], 35);
  checkGrads(dl, () => dl.forward(t64, m64).output, [t64, m64], 'TransformerDecoderLayer');
});

test('Transformer layers: dropout is active in training and off in eval; bad options are typed errors', () => {
  const layer = new nn.TransformerEncoderLayer({ dModel: 8, nhead: 2, dimFeedforward: 16, dropout: 0.5, rng: rng(36) });
  const x = randn([1, 4, 8], { rng: rng(37) });
  const [t1, t2] = [layer.forward(x).output, layer.forward(x).output];
  assert.ok(sum(square(sub(t1, t2))).item() > 1e-6, 'two training passes draw different dropout masks');
  layer.eval();
  assertAllClose(layer.forward(x).output, layer.forward(x).output);
  assert.throws(() => new nn.TransformerEncoderLayer({ dModel: 8, nhead: 3, rng: rng() }), (e: unknown) => e instanceof ValueError && /numHeads \(3\) must divide embedDim \(8\)/.test(e.message));
  assert.throws(() => new nn.TransformerEncoderLayer({ dModel: 8, nhead: 2, activation: 'tanh' as 'relu', rng: rng() }), (e: unknown) => e instanceof ValueError && /TransformerEncoderLayer: activation/.test(e.message));
  assert.throws(() => layer.forward(randn([1, 4, 6], { rng: rng() })), (e: unknown) => e instanceof ShapeError && /TransformerEncoderLayer.forward: x must be \[B, L, 8\], got \[1,4,6\]/.test(e.message));
  const dec = new nn.TransformerDecoderLayer({ dModel: 8, nhead: 2, rng: rng() });
  assert.throws(() => dec.forward(randn([2, 3, 8], { rng: rng() }), randn([3, 3, 8], { rng: rng() })), (e: unknown) => e instanceof ShapeError && /batch sizes differ/.test(e.message));
});
