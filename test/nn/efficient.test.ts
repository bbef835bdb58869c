/**
 * The attention family, part 2 (so far): linear attention, Performer, Linformer, cross-modal
 * (MulT) blocks and the Perceiver encoder — each against a direct O(L²) computation or a
 * property, gradchecked in float64, with typed errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Buffer, F, Generator, IndexError, ShapeError, Tensor, ValueError, backward, gradcheck, optim, nn, randn, sub, sum, square, tensor,
} from '../../src/index.js';
import { assertAllClose, r64 } from '../helpers.js';
import { toFloat64 } from './contract.js';

const bool = (rows: number[][]): Tensor => tensor(rows.map((r) => r.map((v) => v === 1)));
const rng = (s = 0): Generator => new Generator(s);

/** The same attention written as an explicit T×S weight matrix: w_ij ∝ φq_i·φk_j over allowed j. */
function direct(fq: Tensor, fk: Tensor, v: Tensor, allowed: Tensor | null): Tensor {
  let a = F.matmul(fq, F.transpose(fk, -2, -1));                           // [B, H, T, S]
  if (allowed) a = F.where(allowed, a, 0);
  return F.matmul(F.div(a, F.sum(a, -1, { keepDim: true })), v);
}

test('linearAttention equals its explicit T×S form (non-causal with key mask, causal) and gradchecks', () => {
  const q = r64([2, 2, 5, 3], 1), k = r64([2, 2, 5, 3], 2), v = r64([2, 2, 5, 4], 3);
  const phi = (x: Tensor): Tensor => F.add(F.elu(x), 1);
  const keyMask = bool([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]);
  const allowed = F.reshape(keyMask, [2, 1, 1, 5]);
  assertAllClose(nn.linearAttention(q, k, v, { keyMask, eps: 0 }), direct(phi(q), phi(k), v, allowed), { rtol: 1e-10, atol: 1e-12 });
  const causal = tensor(Array.from({ length: 5 }, (_, i) => Array.from({ length: 5 }, (_, j) => j <= i)));
  assertAllClose(nn.linearAttention(q, k, v, { causal: true, eps: 0 }), direct(phi(q), phi(k), v, causal), { rtol: 1e-10, atol: 1e-12 });
  assert.ok(gradcheck((a, b, c) => nn.linearAttention(a!, b!, c!, { keyMask }), [q, k, v]).ok, 'non-causal gradcheck');
  assert.ok(gradcheck((a, b, c) => nn.linearAttention(a!, b!, c!, { causal: true }), [q, k, v]).ok, 'causal gradcheck');
  assert.throws(() => nn.linearAttention(q, r64([2, 2, 6, 3], 4), r64([2, 2, 6, 4], 5), { causal: true }), (e: unknown) => e instanceof ShapeError && /causal needs T = S/.test(e.message));
  assert.throws(() => nn.linearAttention(q, k, r64([2, 2, 4, 4], 6)), (e: unknown) => e instanceof ShapeError && /linearAttention: expected q \[B, H, T, D\]/.test(e.message));
});

test('PerformerAttention approximates softmax attention, better with more features; seeded; redraw; causal; orthogonal features', () => {
  const g = rng(7);
  const [q, k, v] = [0, 1, 2].map(() => F.mul(randn([1, 2, 32, 16], { rng: g }), 0.5));
  const exact = F.scaledDotProductAttention(q!, k!, v!);
  const err = (m: number): number => {
    const out = new nn.PerformerAttention({ headDim: 16, numFeatures: m, rng: rng(3) }).forward(q!, k!, v!).output;
    return Math.sqrt(sum(square(sub(out, exact))).item() / sum(square(exact)).item());
  };
  const [few, many] = [err(8), err(4096)];
  assert.ok(many < 0.08 && many < few / 4, `relative error: m=8 ${few.toFixed(3)}, m=4096 ${many.toFixed(3)}`);
  const a = new nn.PerformerAttention({ headDim: 16, numFeatures: 64, rng: rng(5) });
  const b = new nn.PerformerAttention({ headDim: 16, numFeatures: 64, rng: rng(5) });
  assertAllClose(a.forward(q, k, v).output, b.forward(q, k, v).output, { msg: 'same seed, same features' });
  const before = Float32Array.from(a.omega.data as Float32Array);
  a.redraw();
  assert.notDeepEqual(Array.from(a.omega.data), Array.from(before), 'redraw draws new features');
  // within a block of d rows the directions are orthogonal
  const w = nn.gaussianOrthogonalFeatures(16, 16, rng(9));
  for (let i = 0; i < 16; i++) for (let j = i + 1; j < 16; j++) {
    let dot = 0, ni = 0, nj = 0;
    for (let t = 0; t < 16; t++) { dot += w.data[i * 16 + t]! * w.data[j * 16 + t]!; ni += w.data[i * 16 + t]! ** 2; nj += w.data[j * 16 + t]! ** 2; }
    assert.ok(Math.abs(dot) / Math.sqrt(ni * nj) < 1e-4, `rows ${i}, ${j} not orthogonal`);
  }
  // causal: a query never reads a later key
  const v2 = new Tensor(v!.data.slice(), v!.shape);
  for (let i = 20 * 16; i < 32 * 16; i++) v2.data[i] += 3;
  const c1 = a.forward(q!, k!, v!, { causal: true }), c2 = a.forward(q!, k!, v2, { causal: true });
  assertAllClose(c2.output.data.subarray(0, 20 * 16), c1.output.data.subarray(0, 20 * 16), { rtol: 1e-5, atol: 1e-6 });
  const p64 = new nn.PerformerAttention({ headDim: 3, numFeatures: 6, rng: rng(1) });
  const qs = r64([1, 1, 4, 3], 1, { scale: 0.5 }), ks = r64([1, 1, 4, 3], 2, { scale: 0.5 }), vs = r64([1, 1, 4, 2], 3);
  assert.ok(gradcheck((x, y, z) => p64.forward(x, y, z, { causal: true }).output, [qs, ks, vs], { rtol: 1e-4, atol: 1e-6 }).ok, 'Performer gradcheck');
  assert.throws(() => a.forward(r64([1, 1, 4, 8], 1), r64([1, 1, 4, 8], 2), r64([1, 1, 4, 8], 3)), (e: unknown) => e instanceof ShapeError && /head dim 8 differs from headDim 16/.test(e.message));
});

test('PerformerAttention: a sample\'s output depends only on its own real keys (stabiliser per sample and head)', () => {
  const favor = new nn.PerformerAttention({ headDim: 8, numFeatures: 32, rng: rng(21) });
  const g = rng(22);
  const [q, k, v] = [0, 1, 2].map(() => randn([3, 2, 6, 8], { rng: g }));
  const keyMask = bool([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]]);
  const edit = (t: Tensor, from: number, to: number, f: (x: number) => number): Tensor => {
    const d = Float32Array.from(t.data as Float32Array);
    for (let i = from; i < to; i++) d[i] = f(d[i]!);
    return new Tensor(d, t.shape);
  };
  const per = 2 * 6 * 8, head = 6 * 8;   // elements of one sample [H, S, D] and of one head [S, D]
  for (const causal of [false, true]) {
    const base = favor.forward(q!, k!, v!, { keyMask, causal });
    const same = (out: Tensor, from: number, to: number, msg: string): void =>
      assertAllClose(out.data.subarray(from, to), base.output.data.subarray(from, to), { rtol: 0, atol: 1e-6, msg: `${msg} (causal ${causal})` });
    // a neighbour's keys ×2 (sample 0): samples 1 and 2 are unchanged
    same(favor.forward(q, edit(k, 0, per, (x) => 2 * x), v, { keyMask, causal }).output, per, 3 * per, 'a neighbour\'s keys');
    // padded keys and values of sample 1 (positions 4, 5 of both heads): no output moves
    let k2 = k!, v2 = v!;
    for (let h = 0; h < 2; h++) {
      const at = per + h * head + 4 * 8;
      k2 = edit(k2, at, at + 16, () => 9);
      v2 = edit(v2, at, at + 16, () => -50);
    }
    same(favor.forward(q, k2, v2, { keyMask, causal }).output, 0, 3 * per, 'padded keys and values');
    // another head's keys (sample 2, head 0 ×3): head 1 is unchanged
    same(favor.forward(q, edit(k, 2 * per, 2 * per + head, (x) => 3 * x), v, { keyMask, causal }).output, 2 * per + head, 3 * per, 'another head\'s keys');
    // the elu kernel has no stabiliser: the same holds
    const lin = nn.linearAttention(q!, k!, v!, { keyMask, causal });
    assertAllClose(nn.linearAttention(q!, edit(k!, 0, per, (x) => 2 * x), v!, { keyMask, causal }).data.subarray(per), lin.data.subarray(per), { rtol: 0, atol: 1e-6, msg: 'elu kernel' });
  }
  // still FAVOR+: with many features, each sample's output approaches its own masked softmax attention
  const big = new nn.PerformerAttention({ headDim: 8, numFeatures: 4096, rng: rng(24) });
  const [qs, ks] = [q!, k!].map((t) => F.mul(t, 0.5));
  const exact = F.scaledDotProductAttention(qs!, ks!, v!, { mask: F.reshape(keyMask, [3, 1, 1, 6]) });
  const approx = big.forward(qs!, ks!, v!, { keyMask }).output;
  for (let b = 0; b < 3; b++) {
    const [x1, x0] = [approx, exact].map((t) => F.narrow(t, 0, b, 1));
    const e = Math.sqrt(sum(square(sub(x1!, x0!))).item() / sum(square(x0!)).item());
    assert.ok(e < 0.1, `sample ${b}: relative error ${e.toFixed(3)} against masked softmax attention`);
  }
  // Linformer projects each sample's own sequence: a neighbour's tokens move nothing
  const linf = new nn.LinformerSelfAttention({ embedDim: 8, numHeads: 2, maxLen: 6, projectedLen: 3, rng: rng(23) });
  const x = randn([3, 6, 8], { rng: g });
  const y = linf.forward(x, { keyMask });
  assertAllClose(linf.forward(edit(x, 0, 48, (t) => 4 * t + 1), { keyMask }).output.data.subarray(48), y.output.data.subarray(48), { rtol: 0, atol: 1e-6, msg: 'Linformer' });
});

test('LinformerSelfAttention: with identity projections it is full attention; shorter inputs and padding', () => {
  const lin = new nn.LinformerSelfAttention({ embedDim: 8, numHeads: 2, maxLen: 6, projectedLen: 6, rng: rng(11) });
  const eye = new Float32Array(36);
  for (let i = 0; i < 6; i++) eye[i * 6 + i] = 1;
  lin.projE.data.set(eye);
  lin.projF!.data.set(eye);
  const x = randn([2, 6, 8], { rng: rng(12) });
  const heads = (t: Tensor): Tensor => F.transpose(F.reshape(t, [2, 6, 2, 4]), 1, 2);
  const ref = F.scaledDotProductAttention(heads(lin.qProj.forward(x)), heads(lin.kProj.forward(x)), heads(lin.vProj.forward(x)));
  assertAllClose(lin.forward(x).output, lin.outProj.forward(F.reshape(F.transpose(ref, 1, 2), [2, 6, 8])), { rtol: 1e-5, atol: 1e-6 });
  const small = new nn.LinformerSelfAttention({ embedDim: 8, numHeads: 2, maxLen: 16, projectedLen: 4, shareKV: true, rng: rng(13) });
  assert.equal(small.projF, null);
  const xs = randn([2, 5, 8], { rng: rng(14) });
  const keyMask = bool([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]);
  const y1 = small.forward(xs, { keyMask });
  assert.deepEqual(y1.output.shape, [2, 5, 8]);
  const xs2 = new Tensor(xs.data.slice(), xs.shape);
  for (let i = (5 + 3) * 8; i < 10 * 8; i++) xs2.data[i] = 50;
  assertAllClose(small.forward(xs2, { keyMask }).output.data.subarray(40, 64), y1.output.data.subarray(40, 64), { rtol: 1e-5, atol: 1e-6, msg: 'padded tokens do not reach real ones' });
  assert.throws(() => small.forward(randn([1, 17, 8], { rng: rng() })), (e: unknown) => e instanceof ValueError && /length 17 exceeds maxLen 16/.test(e.message));
  const l64 = toFloat64(new nn.LinformerSelfAttention({ embedDim: 4, numHeads: 2, maxLen: 5, projectedLen: 2, rng: rng(15) }));
  const x64 = r64([1, 4, 4], 16);
  const r = gradcheck(() => l64.forward(x64).output, [x64, ...l64.parameters()], { rtol: 1e-4, atol: 1e-6 });
  assert.ok(r.ok, `Linformer gradcheck ${JSON.stringify(r.worst)}`);
});

test('CrossModalTransformer (MulT): target queries a source of another width; padded source tokens ignored; weights; gradcheck', () => {
  const mult = new nn.CrossModalTransformer({ dModel: 8, nhead: 2, sourceDim: 6, dimFeedforward: 16, dropout: 0, numLayers: 2, rng: rng(17) });
  const text = randn([2, 4, 8], { rng: rng(18) }), audio = randn([2, 7, 6], { rng: rng(19) });
  const mask = bool([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]]);
  const { output, weights } = mult.forward(text, audio, { sourceKeyMask: mask, needWeights: true });
  assert.deepEqual(output.shape, [2, 4, 8]);
  assert.equal(weights!.length, 2);
  assert.deepEqual(weights![0]!.shape, [2, 2, 4, 7]);
  for (let h = 0; h < 2; h++) for (let t = 0; t < 4; t++) for (let s = 4; s < 7; s++) assert.equal(weights![1]!.data[((1 * 2 + h) * 4 + t) * 7 + s], 0);
  const audio2 = new Tensor(audio.data.slice(), audio.shape);
  for (let i = (7 + 4) * 6; i < 14 * 6; i++) audio2.data[i] = -20;
  assertAllClose(mult.forward(text, audio2, { sourceKeyMask: mask }).output.data.subarray(32), output.data.subarray(32), { rtol: 1e-5, atol: 1e-6 });
  assertAllClose(mult.forward(text, audio, { sourceKeyMask: mask }).output, output, { rtol: 1e-5, atol: 1e-6, msg: 'weights do not change outputs' });
  assert.throws(() => mult.forward(text, randn([3, 7, 6], { rng: rng() })), (e: unknown) => e instanceof ShapeError && /batch sizes differ/.test(e.message));
  const layer = toFloat64(new nn.CrossModalLayer({ dModel: 4, nhead: 2, sourceDim: 3, dimFeedforward: 6, dropout: 0, rng: rng(20) }));
  const t64 = r64([1, 2, 4], 21), s64 = r64([1, 3, 3], 22);
  const r = gradcheck(() => layer.forward(t64, s64).output, [t64, s64, ...layer.parameters()], { rtol: 1e-4, atol: 1e-6 });
  assert.ok(r.ok, `CrossModalLayer gradcheck ${JSON.stringify(r.worst)}`);
});

test('PerceiverEncoder: latents read any number of inputs, with masks; cost set by the latents; gradcheck', () => {
  const enc = new nn.PerceiverEncoder({ numLatents: 3, latentDim: 8, inputDim: 5, crossHeads: 1, latentHeads: 2, numLatentLayers: 1, dimFeedforward: 16, rng: rng(23) });
  const a = randn([2, 6, 5], { rng: rng(24) }), b = randn([2, 2, 5], { rng: rng(25) });
  const out = enc.forward([a, b], { keyMask: [null, bool([[1, 0], [1, 1]])], needWeights: true });
  assert.deepEqual(out.output.shape, [2, 3, 8]);
  assert.deepEqual(out.weights!.cross.shape, [2, 1, 3, 8]);
  assert.deepEqual(out.weights!.latent[0]!.shape, [2, 2, 3, 3]);
  for (let n = 0; n < 3; n++) assert.equal(out.weights!.cross.data[n * 8 + 7], 0, 'masked element of the second input');
  assert.deepEqual(enc.forward(randn([2, 40, 5], { rng: rng(26) })).output.shape, [2, 3, 8], 'any input length, same latent shape');
  assertAllClose(enc.forward([a, b], { keyMask: [null, bool([[1, 0], [1, 1]])] }).output, out.output, { rtol: 1e-5, atol: 1e-6 });
  assert.throws(() => enc.forward([]), (e: unknown) => e instanceof ValueError && /at least one input/.test(e.message));
  assert.throws(() => enc.forward([a, randn([3, 2, 5], { rng: rng() })]), (e: unknown) => e instanceof ShapeError && /inputs\[1\] has batch 3/.test(e.message));
  assert.throws(() => enc.forward([a, b], { keyMask: [null] }), (e: unknown) => e instanceof ValueError && /keyMask has 1 entries for 2 inputs/.test(e.message));
  // one input array takes one mask; a list of inputs takes a list
  const m6 = bool([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]]);
  assertAllClose(enc.forward(a, { keyMask: m6 }).output, enc.forward([a], { keyMask: [m6] }).output, { rtol: 1e-6, atol: 1e-7 });
  assert.throws(() => enc.forward([a, b], { keyMask: m6 }), (e: unknown) => e instanceof ValueError && /keyMask must be a list of 2 masks/.test(e.message));
  const p64 = toFloat64(new nn.PerceiverEncoder({ numLatents: 2, latentDim: 4, inputDim: 3, latentHeads: 2, numLatentLayers: 1, dimFeedforward: 4, rng: rng(27) }));
  const x64 = r64([1, 3, 3], 28);
  const r = gradcheck(() => p64.forward(x64).output, [x64, ...p64.parameters()], { rtol: 1e-4, atol: 1e-6 });
  assert.ok(r.ok, `Perceiver gradcheck ${JSON.stringify(r.worst)}`);
});

// ---------- sparse patterns: each equals full attention with its dense mask ----------

function checkPattern(label: string, p: ReturnType<typeof nn.slidingWindowPattern>, keyMask: Tensor | null = null, chunkRows?: number): void {
  const T = p.T;
  const q = r64([2, 2, T, 4], 31), k = r64([2, 2, T, 4], 32), v = r64([2, 2, T, 3], 33);
  const dense = patternMask(p, keyMask);
  const sparse = nn.sparseAttention(q, k, v, p, { keyMask, chunkRows });
  const ref = F.scaledDotProductAttention(q, k, v, { mask: dense, returnWeights: true }).output;
  assertAllClose(sparse, ref, { rtol: 1e-10, atol: 1e-12, msg: `${label}: values` });
  const u = r64([2, 2, T, 3], 34, { grad: false });
  const grads = (fn: () => Tensor): Tensor[] => {
    for (const t of [q, k, v]) t.grad = null;
    backward(F.sum(F.mul(fn(), u)));
    return [q.grad!, k.grad!, v.grad!];
  };
  const gs = grads(() => nn.sparseAttention(q, k, v, p, { keyMask, chunkRows }));
  const gr = grads(() => F.scaledDotProductAttention(q, k, v, { mask: dense, returnWeights: true }).output);
  gs.forEach((g, i) => assertAllClose(g, gr[i]!, { rtol: 1e-9, atol: 1e-11, msg: `${label}: gradient ${'qkv'[i]}` }));
}

/** The dense [B, 1, T, T] mask: the pattern's, and the key mask's. */
function patternMask(p: ReturnType<typeof nn.slidingWindowPattern>, keyMask: Tensor | null): Tensor {
  const m = nn.patternToMask(p);
  return keyMask ? F.logicalAnd(m, F.reshape(keyMask, [keyMask.shape[0]!, 1, 1, p.T])) : m;
}

test('sparse attention equals masked full attention (values and gradients): windows, dilation, blocks, global tokens, BigBird', () => {
  const keyMask = bool([[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]]);
  checkPattern('two-sided window 2', nn.slidingWindowPattern(12, { window: 2 }));
  checkPattern('one-sided window 3 (causal local)', nn.slidingWindowPattern(12, { window: 3, oneSided: true }));
  checkPattern('dilated window 2 × 2, key mask', nn.slidingWindowPattern(12, { window: 2, dilation: 2 }), keyMask);
  checkPattern('blocks of 4', nn.blockPattern(12, { blockSize: 4 }));
  checkPattern('blocks of 5 (ragged last block)', nn.blockPattern(12, { blockSize: 5 }), keyMask);
  checkPattern('window 1 + global tokens 0, 7', nn.withGlobalTokens(nn.slidingWindowPattern(12, { window: 1 }), [0, 7]), keyMask);
  checkPattern('window 2 + global token 3, queries in chunks of 5 rows', nn.withGlobalTokens(nn.slidingWindowPattern(12, { window: 2 }), [3]), keyMask, 5);
  checkPattern('BigBird blocks of 2: window 3, global 1, random 1', nn.bigBirdPattern(12, { blockSize: 2, windowBlocks: 3, globalBlocks: 1, randomBlocks: 1, rng: rng(35) }), keyMask);
  const m = nn.patternToMask(nn.slidingWindowPattern(6, { window: 1 }));
  assert.deepEqual(Array.from(m.data.subarray(6, 12)), [1, 1, 1, 0, 0, 0], 'row 1 of a window-1 mask');
  const a = nn.bigBirdPattern(32, { blockSize: 4, randomBlocks: 2, rng: rng(36) }), b = nn.bigBirdPattern(32, { blockSize: 4, randomBlocks: 2, rng: rng(36) });
  assert.deepEqual(Array.from(a.index), Array.from(b.index), 'same seed, same random blocks');
});

test('sparse patterns: memory O(T·W) (no T×T tensor) and typed errors for impossible settings', () => {
  const p = nn.slidingWindowPattern(4096, { window: 4 });
  assert.equal(p.index.length, 4096 * 9, 'the pattern holds T·W entries');
  const g = rng(37);
  const [q, k, v] = [0, 1, 2].map(() => randn([1, 1, 4096, 8], { rng: g }));
  assert.deepEqual(nn.sparseAttention(q!, k!, v!, p).shape, [1, 1, 4096, 8]);
  assert.throws(() => nn.slidingWindowPattern(8, { window: 8 }), (e: unknown) => e instanceof ValueError && /window 8 × dilation 1 reaches past the sequence \(T = 8\)/.test(e.message));
  assert.throws(() => nn.blockPattern(4, { blockSize: 5 }), (e: unknown) => e instanceof ValueError && /blockSize 5 exceeds the sequence length 4/.test(e.message));
  assert.throws(() => nn.bigBirdPattern(16, { blockSize: 2, randomBlocks: 1, rng: 1 as never }), (e: unknown) => e instanceof ValueError && /bigBirdPattern: options.rng must be a Generator/.test(e.message));
  assert.throws(() => nn.bigBirdPattern(10, { blockSize: 4 }), (e: unknown) => e instanceof ValueError && /multiple of blockSize/.test(e.message));
  assert.throws(() => nn.bigBirdPattern(8, { blockSize: 4, rng: rng() }), (e: unknown) => e instanceof ValueError && /exceed the 2 blocks/.test(e.message));
  assert.throws(() => nn.withGlobalTokens(p, [5000]), (e: unknown) => e instanceof ValueError && /global position 5000/.test(e.message));
  assert.throws(() => nn.sparseAttention(q!, k!, v!, nn.slidingWindowPattern(100, { window: 2 })), (e: unknown) => e instanceof ShapeError && /pattern of T = 100/.test(e.message));
});

test('SparseSelfAttention: each pattern as a layer, padded tokens ignored, gradcheck', () => {
  for (const pattern of ['window', 'block', 'bigBird'] as const) {
    const layer = new nn.SparseSelfAttention({ embedDim: 8, numHeads: 2, pattern, window: 2, blockSize: 2, randomBlocks: 1, globalTokens: [0], rng: rng(38) });
    const x = randn([2, 16, 8], { rng: rng(39) });
    const keyMask = bool([Array(16).fill(1), [...Array(12).fill(1), 0, 0, 0, 0]]);
    const y = layer.forward(x, { keyMask });
    assert.deepEqual(y.output.shape, [2, 16, 8]);
    const x2 = new Tensor(x.data.slice(), x.shape);
    for (let i = (16 + 12) * 8; i < 32 * 8; i++) x2.data[i] = 9;
    assertAllClose(layer.forward(x2, { keyMask }).output.data.subarray(128, 128 + 12 * 8), y.output.data.subarray(128, 128 + 12 * 8), { rtol: 1e-5, atol: 1e-6, msg: `${pattern}: padding` });
  }
  const l64 = toFloat64(new nn.SparseSelfAttention({ embedDim: 4, numHeads: 2, pattern: 'window', window: 1, globalTokens: [2], rng: rng(40) }));
  const x64 = r64([1, 5, 4], 41);
  const r = gradcheck(() => l64.forward(x64).output, [x64, ...l64.parameters()], { rtol: 1e-4, atol: 1e-6 });
  assert.ok(r.ok, `SparseSelfAttention gradcheck ${JSON.stringify(r.worst)}`);
});

test('SparseSelfAttention with relativeBias: a [numHeads, 2·maxDistance + 1] table, zero at first, trained in the kernel; gradcheck; typed errors', () => {
  const layer = new nn.SparseSelfAttention({ embedDim: 8, numHeads: 2, pattern: 'window', window: 3, relativeBias: { maxDistance: 4 }, rng: rng(42) });
  assert.deepEqual(layer.relativeBias!.shape, [2, 9]);
  assert.ok(layer.namedParameters().some(([n]) => n === 'relativeBias'), 'a parameter named relativeBias');
  const plain = new nn.SparseSelfAttention({ embedDim: 8, numHeads: 2, pattern: 'window', window: 3, rng: rng(42) });
  const x = randn([2, 20, 8], { rng: rng(43) });
  assertAllClose(layer.forward(x).output, plain.forward(x).output, { rtol: 1e-6, atol: 1e-7, msg: 'a zero table changes nothing' });
  backward(sum(square(layer.forward(x).output)));
  assert.ok(layer.relativeBias!.grad!.data.some((v) => v !== 0), 'the table gets a gradient');
  const l64 = toFloat64(new nn.SparseSelfAttention({ embedDim: 4, numHeads: 2, pattern: 'block', blockSize: 3, relativeBias: { maxDistance: 1 }, rng: rng(44) }));
  l64.relativeBias!.data.set([0.3, -0.2, 0.5, 0.1, 0.4, -0.6]);
  const x64 = r64([1, 6, 4], 45);
  const r = gradcheck(() => l64.forward(x64).output, [x64, ...l64.parameters()], { rtol: 1e-4, atol: 1e-6 });
  assert.ok(r.ok, `gradcheck ${JSON.stringify(r.worst)}`);
  for (const bad of [Infinity, NaN, -1, 2.5]) {
    assert.throws(() => new nn.SparseSelfAttention({ embedDim: 8, numHeads: 2, pattern: 'window', relativeBias: { maxDistance: bad } }),
      (e: unknown) => e instanceof ValueError && /^SparseSelfAttention: relativeBias\.maxDistance must be a non-negative integer/.test((e as Error).message));
  }
  assert.throws(() => new nn.SparseSelfAttention({ embedDim: 8, numHeads: 2, pattern: 'window', relativeBias: { maxDist: 3 } as never }),
    (e: unknown) => e instanceof ValueError && /unknown option 'maxDist'/.test((e as Error).message));
});

// ---------- GRU and the hierarchical attention network ----------

test('GRU: gradcheck with a mask in both directions (PyTorch parity is in attention.torch.test.ts)', () => {
  const gru = toFloat64(new nn.GRU({ inputSize: 3, hiddenSize: 2, bidirectional: true, numLayers: 2, rng: rng(50) }));
  const x = r64([2, 4, 3], 51);
  const mask = bool([[1, 1, 1, 1], [1, 1, 0, 0]]);
  const r = gradcheck(() => gru.forward(x, { mask }).output, [x, ...gru.parameters()], { rtol: 1e-4, atol: 1e-7 });
  assert.ok(r.ok, `GRU gradcheck ${JSON.stringify(r.worst)}`);
  const { output, hN } = gru.forward(x, { mask });
  assert.deepEqual(output.shape, [2, 4, 4]);
  assert.deepEqual(hN.shape, [4, 2, 2]);
  for (let t = 2; t < 4; t++) for (let c = 0; c < 4; c++) assert.equal(output.data[(4 + t) * 4 + c], 0, 'padded steps output zeros');
  assert.deepEqual(nn.toTorchStateDict(gru.stateDict())['weight_ih_l1_reverse']?.shape, [6, 4]);
  assert.throws(() => gru.forward(r64([2, 4, 5], 1)), (e: unknown) => e instanceof ShapeError && /GRU.forward: x must be \[B, T, 3\]/.test(e.message));
});

test('HierarchicalAttentionNetwork: ragged documents, weights at both levels, padding ignored, both encoders train', () => {
  // doc 0: 3 sentences (the last one empty); doc 1: 2 sentences of 4 and 2 words
  const ids = tensor(Int32Array.from([
    4, 5, 6, 0, 7, 8, 0, 0, 0, 0, 0, 0,
    9, 10, 11, 12, 13, 14, 0, 0, 0, 0, 0, 0,
  ]), { shape: [2, 3, 4] });
  for (const encoder of ['gru', 'transformer'] as const) {
    const han = new nn.HierarchicalAttentionNetwork({ vocabSize: 20, embedDim: 8, hiddenSize: 4, encoder, numHeads: 2, dropout: 0, numClasses: 2, rng: rng(52) });
    const { output, weights } = han.forward(ids, { needWeights: true });
    const { word: wordWeights, sentence: sentenceWeights } = weights!;
    assert.deepEqual(output.shape, [2, 2]);
    assert.deepEqual(wordWeights.shape, [2, 3, 4]);
    assert.equal(wordWeights.data[3], 0, 'padded word');
    assert.equal(sentenceWeights.data[2], 0, 'empty sentence of doc 0');
    assert.equal(sentenceWeights.data[5], 0, 'missing sentence of doc 1');
    assertAllClose(F.sum(sentenceWeights, -1), [1, 1], { rtol: 1e-5 });
    // ids at padded positions do not matter once masked explicitly
    const mask = F.ne(ids, 0);
    const ids2 = new Tensor(Int32Array.from(ids.data as Int32Array, (v) => (v === 0 ? 19 : v)), ids.shape);
    assertAllClose(han.forward(ids2, { keyMask: mask }).output, output, { rtol: 1e-5, atol: 1e-6, msg: `${encoder}: padding ignored` });
    // a few steps on "does the document contain token 7?" lower the loss
    const labels = tensor(Int32Array.from([1, 0]));
    const opt = new optim.Adam(han.parameters(), { lr: 0.05 });
    const loss = (): Tensor => F.crossEntropy(han.forward(ids).output, labels);
    const first = loss().item();
    for (let i = 0; i < 10; i++) { opt.zeroGrad(); backward(loss()); opt.step(); }
    assert.ok(loss().item() < first, `${encoder}: loss ${first} → ${loss().item()}`);
  }
  const han = new nn.HierarchicalAttentionNetwork({ vocabSize: 20, embedDim: 8, hiddenSize: 4, rng: rng(53) });
  assert.throws(() => han.forward(tensor(Int32Array.from([1, 2, 0, 0, 0, 0, 0, 0]), { shape: [2, 2, 2] })), (e: unknown) => e instanceof ValueError && /document 1 has no words/.test(e.message));
  assert.throws(() => han.forward(tensor(Int32Array.from([1, 25]), { shape: [1, 1, 2] })), (e: unknown) => e instanceof IndexError && /token id 25/.test(e.message));
  assert.throws(() => han.forward(tensor([[[1, 2]]])), (e: unknown) => e instanceof ShapeError && /ids must be int32 \[B, S, W\]/.test(e.message));
  const h64 = toFloat64(new nn.HierarchicalAttentionNetwork({ vocabSize: 6, embedDim: 3, hiddenSize: 2, numClasses: 2, rng: rng(54) }));
  const small = tensor(Int32Array.from([1, 2, 3, 0, 4, 5]), { shape: [1, 2, 3] });
  const r = gradcheck(() => h64.forward(small).output, h64.parameters(), { rtol: 1e-4, atol: 1e-7 });
  assert.ok(r.ok, `HAN gradcheck ${JSON.stringify(r.worst)}`);
});

test('LinearSelfAttention: elu and Performer kernels as layers; causal layers ignore later tokens; gradcheck', () => {
  for (const kernel of ['elu', 'performer'] as const) {
    const layer = new nn.LinearSelfAttention({ embedDim: 8, numHeads: 2, kernel, numFeatures: 32, causal: true, rng: rng(60) });
    const x = randn([1, 6, 8], { rng: rng(61) });
    const x2 = new Tensor(x.data.slice(), x.shape);
    for (let i = 4 * 8; i < 6 * 8; i++) x2.data[i] += 2;
    const [a, b] = [layer.forward(x), layer.forward(x2)];
    assert.deepEqual(a.output.shape, [1, 6, 8]);
    assertAllClose(b.output.data.subarray(0, 32), a.output.data.subarray(0, 32), { rtol: 1e-5, atol: 1e-6, msg: `${kernel}: causal` });
    layer.redraw();
  }
  const l64 = toFloat64(new nn.LinearSelfAttention({ embedDim: 4, numHeads: 2, rng: rng(62) }));
  const x64 = r64([1, 3, 4], 63);
  const r = gradcheck(() => l64.forward(x64, { keyMask: bool([[1, 1, 0]]) }).output, [x64, ...l64.parameters()], { rtol: 1e-4, atol: 1e-7 });
  assert.ok(r.ok, `LinearSelfAttention gradcheck ${JSON.stringify(r.worst)}`);
  assert.throws(() => new nn.LinearSelfAttention({ embedDim: 8, numHeads: 2, kernel: 'relu' as 'elu', rng: rng() }), ValueError);
});

test('PerformerAttention: its random features are a buffer, carried by stateDict (not trained); LinearSelfAttention takes causal per call', () => {
  const a = new nn.PerformerAttention({ headDim: 4, numFeatures: 8, rng: rng(61) });
  assert.ok(a.omega instanceof Buffer, 'omega is a Buffer');
  assert.deepEqual(Object.keys(a.stateDict()), ['omega']);
  assert.equal(a.parameters().length, 0, 'not a parameter');
  const b = new nn.PerformerAttention({ headDim: 4, numFeatures: 8, rng: rng(62) });
  const q = randn([1, 2, 3, 4], { rng: rng(63) });
  b.loadStateDict(a.stateDict());
  assertAllClose(b.forward(q, q, q).output, a.forward(q, q, q).output, { msg: 'same features, same output' });
  const lsa = new nn.LinearSelfAttention({ embedDim: 8, numHeads: 2, kernel: 'performer', numFeatures: 8, rng: rng(64) });
  assert.deepEqual(lsa.stateDict()['performer.omega']!.shape, [8, 4]);
  const causal = new nn.LinearSelfAttention({ embedDim: 8, numHeads: 2, causal: true, rng: rng(65) });
  const plain = new nn.LinearSelfAttention({ embedDim: 8, numHeads: 2, rng: rng(65) });
  const xs = randn([2, 5, 8], { rng: rng(66) });
  assertAllClose(plain.forward(xs, { causal: true }).output, causal.forward(xs).output, { msg: 'causal per call = causal at construction' });
});
