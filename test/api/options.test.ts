/**
 * API traps (issue 19, finding 11): every public options object refuses keys it does not define
 * (a misspelt or renamed option would otherwise be ignored), key masks have one name and shape,
 * `tensor(data, { shape })` honours the shape, and tril/triu keep the dtype.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Generator, ShapeError, Tensor, ValueError, analysis, data, models, nn, optim, train, tensor, randn, rand, zeros, ones, full, arange,
  linspace, eye, randint, bernoulli, tril, triu, F, gradcheck,
} from '../../src/index.js';
import { checkOptions } from '../../src/config.js';
import { listOps } from '../../src/experiments/efficient.js';
import { associativeRecall } from '../../src/experiments/heads.js';
import { assertAllClose, i32 } from '../helpers.js';

const rng = (s = 0): Generator => new Generator(s);
const bogus = { bogus: 1 } as Record<string, unknown>;
/** Adds the unknown key `bogus` to a valid options object (typed as the original so the call compiles). */
const plus = <T extends object>(o: T): T => ({ ...o, ...bogus });

const x3 = (): Tensor => randn([2, 3, 8], { rng: rng(1) });
const q4 = (): Tensor => randn([1, 2, 3, 4], { rng: rng(2) });
const recs = [{ x: 1, y: 0 }, { x: 2, y: 1 }, { x: 3, y: 0 }];
const pre = data.Preprocessor.fit({ fields: [{ name: 'x', kind: 'numeric' }], targets: [{ name: 'y', task: 'binary' }] }, recs);
const mha = (): nn.MultiHeadAttention => new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: rng() });
const block = (): nn.SelfAttentionBlock => new nn.SelfAttentionBlock({ embedDim: 8, numHeads: 2, rng: rng() });

/** [function name in the message, call with one unknown key]. */
const cases: [string, () => unknown][] = [
  // tensor/
  ['tensor', () => tensor([1, 2], plus({}))],
  ['zeros', () => zeros([2], plus({}))],
  ['ones', () => ones([2], plus({}))],
  ['full', () => full([2], 1, plus({}))],
  ['arange', () => arange(0, 3, 1, plus({}))],
  ['linspace', () => linspace(0, 1, 3, plus({}))],
  ['eye', () => eye(2, 2, plus({}))],
  ['rand', () => rand([2], plus({ rng: rng() }))],
  ['randn', () => randn([2], plus({ rng: rng() }))],
  ['randint', () => randint(0, 3, [2], plus({ rng: rng() }))],
  ['bernoulli', () => bernoulli([2], 0.5, plus({ rng: rng() }))],
  // ops/
  ['scaledDotProductAttention', () => F.scaledDotProductAttention(q4(), q4(), q4(), plus({ causal: true }))],
  ['packedAttention', () => F.packedAttention(randn([1, 3, 12], { rng: rng() }), plus({ numHeads: 2 }))],
  ['crossEntropy', () => F.crossEntropy(randn([2, 3], { rng: rng() }), i32([0, 1]), plus({}))],
  ['binaryCrossEntropyWithLogits', () => F.binaryCrossEntropyWithLogits(zeros([2]), zeros([2]), plus({}))],
  ['mseLoss', () => F.mseLoss(zeros([2]), zeros([2]), plus({}))],
  ['l1Loss', () => F.l1Loss(zeros([2]), zeros([2]), plus({}))],
  ['huberLoss', () => F.huberLoss(zeros([2]), zeros([2]), plus({}))],
  ['conv1d', () => F.conv1d(zeros([1, 1, 4]), zeros([1, 1, 2]), null, plus({}))],
  ['conv2d', () => F.conv2d(zeros([1, 1, 4, 4]), zeros([1, 1, 2, 2]), null, plus({}))],
  ['maxPool1d', () => F.maxPool1d(zeros([1, 1, 4]), 2, plus({}))],
  ['avgPool1d', () => F.avgPool1d(zeros([1, 1, 4]), 2, plus({}))],
  ['maxPool2d', () => F.maxPool2d(zeros([1, 1, 4, 4]), 2, plus({}))],
  ['avgPool2d', () => F.avgPool2d(zeros([1, 1, 4, 4]), 2, plus({}))],
  ['softplus', () => F.softplus(zeros([2]), plus({}))],
  ['gelu', () => F.gelu(zeros([2]), plus({}))],
  ['clamp', () => F.clamp(zeros([2]), plus({ min: 0 }))],
  ['dropout', () => F.dropout(zeros([2]), 0.5, plus({ training: false }))],
  ['sum', () => F.sum(zeros([2]), 0, plus({}))],
  ['mean', () => F.mean(zeros([2]), 0, plus({}))],
  ['var', () => F.variance(zeros([2]), 0, plus({}))],
  ['std', () => F.std(zeros([2]), 0, plus({}))],
  ['amax', () => F.amax(zeros([2]), 0, plus({}))],
  ['amin', () => F.amin(zeros([2]), 0, plus({}))],
  ['max', () => F.max(zeros([2]), 0, plus({}))],
  ['min', () => F.min(zeros([2]), 0, plus({}))],
  ['argmax', () => F.argmax(zeros([2]), 0, plus({}))],
  ['argmin', () => F.argmin(zeros([2]), 0, plus({}))],
  ['logsumexp', () => F.logsumexp(zeros([2]), 0, plus({}))],
  ['gradcheck', () => gradcheck((a) => a, [zeros([1], { dtype: 'float64' }).requireGrad()], plus({}))],
  // nn/
  ['Linear', () => new nn.Linear(2, 2, plus({ rng: rng() }))],
  ['Embedding', () => new nn.Embedding(3, 2, plus({ rng: rng() }))],
  ['LayerNorm', () => new nn.LayerNorm(2, plus({}))],
  ['Conv1d', () => new nn.Conv1d(1, 1, 2, plus({ rng: rng() }))],
  ['Conv2d', () => new nn.Conv2d(1, 1, 2, plus({ rng: rng() }))],
  ['GRU', () => new nn.GRU(plus({ inputSize: 2, hiddenSize: 2, rng: rng() }))],
  ['GRU.forward', () => new nn.GRU({ inputSize: 2, hiddenSize: 2, rng: rng() }).forward(zeros([1, 2, 2]), plus({}))],
  ['Module.loadStateDict', () => new nn.Linear(2, 2, { rng: rng() }).loadStateDict({}, plus({ strict: false }))],
  ['Attention', () => new nn.Attention(plus({ score: 'dot', queryDim: 8 }))],
  ['Attention.forward', () => new nn.Attention({ score: 'dot', queryDim: 8 }).forward(x3(), x3(), x3(), plus({}))],
  ['MultiHeadAttention', () => new nn.MultiHeadAttention(plus({ embedDim: 8, numHeads: 2, rng: rng() }))],
  ['MultiHeadAttention.forward', () => mha().forward(x3(), x3(), x3(), plus({}))],
  ['AttentionPooling', () => new nn.AttentionPooling(plus({ embedDim: 8, rng: rng() }))],
  ['AttentionPooling.forward', () => new nn.AttentionPooling({ embedDim: 8, rng: rng() }).forward(x3(), plus({}))],
  ['GatedAttentionPooling', () => new nn.GatedAttentionPooling(plus({ inDim: 8, rng: rng() }))],
  ['GatedAttentionPooling.forward', () => new nn.GatedAttentionPooling({ inDim: 8, rng: rng() }).forward(x3(), plus({}))],
  ['NadarayaWatson', () => new nn.NadarayaWatson(plus({}))],
  ['TransformerEncoderLayer', () => new nn.TransformerEncoderLayer(plus({ dModel: 8, nhead: 2, rng: rng() }))],
  ['TransformerEncoderLayer.forward', () => new nn.TransformerEncoderLayer({ dModel: 8, nhead: 2, rng: rng() }).forward(x3(), plus({}))],
  ['TransformerDecoderLayer', () => new nn.TransformerDecoderLayer(plus({ dModel: 8, nhead: 2, rng: rng() }))],
  ['TransformerDecoderLayer.forward', () => new nn.TransformerDecoderLayer({ dModel: 8, nhead: 2, rng: rng() }).forward(x3(), x3(), plus({}))],
  ['TransformerEncoder', () => new nn.TransformerEncoder(plus({ dModel: 8, nhead: 2, numLayers: 1, rng: rng() }))],
  ['TransformerEncoder.forward', () => new nn.TransformerEncoder({ dModel: 8, nhead: 2, numLayers: 1, rng: rng() }).forward(x3(), plus({}))],
  ['TransformerDecoder', () => new nn.TransformerDecoder(plus({ dModel: 8, nhead: 2, numLayers: 1, rng: rng() }))],
  ['TransformerDecoder.forward', () => new nn.TransformerDecoder({ dModel: 8, nhead: 2, numLayers: 1, rng: rng() }).forward(x3(), x3(), plus({}))],
  ['sinusoidalEncoding', () => nn.sinusoidalEncoding(4, 8, plus({}))],
  ['SinusoidalPositionalEncoding', () => new nn.SinusoidalPositionalEncoding(plus({ embedDim: 8 }))],
  ['SinusoidalPositionalEncoding.forward', () => new nn.SinusoidalPositionalEncoding({ embedDim: 8 }).forward(x3(), plus({}))],
  ['LearnedPositionalEmbedding', () => new nn.LearnedPositionalEmbedding(plus({ maxLen: 4, embedDim: 8, rng: rng() }))],
  ['applyRotary', () => nn.applyRotary(q4(), plus({}))],
  ['CrossModalLayer', () => new nn.CrossModalLayer(plus({ dModel: 8, nhead: 2, rng: rng() }))],
  ['CrossModalLayer.forward', () => new nn.CrossModalLayer({ dModel: 8, nhead: 2, rng: rng() }).forward(x3(), x3(), plus({}))],
  ['CrossModalTransformer', () => new nn.CrossModalTransformer(plus({ dModel: 8, nhead: 2, numLayers: 1, rng: rng() }))],
  ['PerceiverEncoder', () => new nn.PerceiverEncoder(plus({ numLatents: 2, latentDim: 8, inputDim: 8, rng: rng() }))],
  ['PerceiverEncoder.forward', () => new nn.PerceiverEncoder({ numLatents: 2, latentDim: 8, inputDim: 8, rng: rng() }).forward(x3(), plus({}))],
  ['slidingWindowPattern', () => nn.slidingWindowPattern(4, plus({ window: 1 }))],
  ['blockPattern', () => nn.blockPattern(4, plus({ blockSize: 2 }))],
  ['bigBirdPattern', () => nn.bigBirdPattern(4, plus({ blockSize: 2 }))],
  ['sparseAttention', () => nn.sparseAttention(q4(), q4(), q4(), nn.slidingWindowPattern(3, { window: 1 }), plus({}))],
  ['SparseSelfAttention', () => new nn.SparseSelfAttention(plus({ embedDim: 8, numHeads: 2, pattern: 'window', window: 1, rng: rng() }))],
  ['SparseSelfAttention.forward', () => new nn.SparseSelfAttention({ embedDim: 8, numHeads: 2, pattern: 'window', window: 1, rng: rng() }).forward(x3(), plus({}))],
  ['LinformerSelfAttention.forward', () => new nn.LinformerSelfAttention({ embedDim: 8, numHeads: 2, maxLen: 3, projectedLen: 2, rng: rng() }).forward(x3(), plus({}))],
  ['LinearSelfAttention.forward', () => new nn.LinearSelfAttention({ embedDim: 8, numHeads: 2, rng: rng() }).forward(x3(), plus({}))],
  ['ContextAttention', () => new nn.ContextAttention(plus({ dim: 8, rng: rng() }))],
  ['HierarchicalAttentionNetwork', () => new nn.HierarchicalAttentionNetwork(plus({ vocabSize: 5, embedDim: 8, rng: rng() }))],
  ['SelfAttentionBlock', () => new nn.SelfAttentionBlock(plus({ embedDim: 8, numHeads: 2, rng: rng() }))],
  ['SelfAttentionBlock.forward', () => block().forward(x3(), plus({}))],
  ['Parallel', () => new nn.Parallel(plus({ embedDim: 8, branches: [block()], merge: 'sum', rng: rng() }))],
  ['Parallel.forward', () => new nn.Parallel({ embedDim: 8, branches: [block()], merge: 'sum', rng: rng() }).forward(x3(), plus({}))],
  ['Serial', () => new nn.Serial(plus({ embedDim: 8, layers: [block()] }))],
  ['Serial.forward', () => new nn.Serial({ embedDim: 8, layers: [block()] }).forward(x3(), plus({}))],
  ['Fusion', () => new nn.Fusion(plus({ embedDim: 8, mechanisms: [block()], rng: rng() }))],
  ['Fusion.forward', () => new nn.Fusion({ embedDim: 8, mechanisms: [block()], rng: rng() }).forward(x3(), plus({}))],
  ['linearAttention', () => nn.linearAttention(q4(), q4(), q4(), plus({}))],
  ['PerformerAttention', () => new nn.PerformerAttention(plus({ headDim: 4, rng: rng() }))],
  ['PerformerAttention.forward', () => new nn.PerformerAttention({ headDim: 4, rng: rng() }).forward(q4(), q4(), q4(), plus({}))],
  ['LinformerSelfAttention', () => new nn.LinformerSelfAttention(plus({ embedDim: 8, numHeads: 2, maxLen: 3, projectedLen: 2, rng: rng() }))],
  ['LinearSelfAttention', () => new nn.LinearSelfAttention(plus({ embedDim: 8, numHeads: 2, rng: rng() }))],
  ['CrossModalTransformer.forward', () => new nn.CrossModalTransformer({ dModel: 8, nhead: 2, numLayers: 1, rng: rng() }).forward(x3(), x3(), plus({}))],
  ['HierarchicalAttentionNetwork.forward', () => new nn.HierarchicalAttentionNetwork({ vocabSize: 5, embedDim: 8, rng: rng() }).forward(i32([1, 2, 3, 4], [1, 2, 2]), plus({}))],
  ['ConvBlock', () => new nn.ConvBlock(plus({ embedDim: 8, kernelSize: 3, rng: rng() }))],
  ['FeedForwardBlock', () => new nn.FeedForwardBlock(plus({ embedDim: 8, rng: rng() }))],
  ['FeedForwardBlock.forward', () => new nn.FeedForwardBlock({ embedDim: 8, rng: rng() }).forward(x3(), plus({}))],
  ['LocalAttentionBlock', () => new nn.LocalAttentionBlock(plus({ embedDim: 8, numHeads: 2, window: 1, rng: rng() }))],
  ['LinearAttentionBlock', () => new nn.LinearAttentionBlock(plus({ embedDim: 8, numHeads: 2, rng: rng() }))],
  ['TransformerBlock', () => new nn.TransformerBlock(plus({ embedDim: 8, numHeads: 2, rng: rng() }))],
  ['loadTorchSafetensors', () => nn.loadTorchSafetensors(new nn.Linear(2, 2, { rng: rng() }), new Uint8Array(0), 'x', plus({}))],
  // data/, models/, analysis/, train/
  ['splitIndices', () => data.splitIndices(10, plus({ seed: 0 }))],
  ['Preprocessor.fit', () => data.Preprocessor.fit({ fields: [{ name: 'x', kind: 'numeric' }] }, recs, plus({}))],
  ['Preprocessor.encode', () => pre.encode(recs, plus({}))],
  ['Vocabulary.fit', () => data.Vocabulary.fit([['a']], plus({ offset: 0 }))],
  ['LinearModel', () => new models.LinearModel(pre.fieldInfo(), pre.targetInfo(), plus({ rng: rng() }))],
  ['MLPModel', () => new models.MLPModel(pre.fieldInfo(), pre.targetInfo(), plus({ rng: rng() }))],
  ['taskLoss', () => models.taskLoss(pre.targetInfo(), { y: zeros([1]) }, pre.encode(recs).dataset.batch([0]), plus({}))],
  ['rollout', () => analysis.rollout([full([1, 1, 2, 2], 0.5)], plus({}))],
  ['entropyLoss', () => analysis.entropyLoss([full([1, 1, 2, 2], 0.5)], ones([1, 2], { dtype: 'bool' }), plus({}))],
  ['validateRecords', () => data.validateRecords(pre.fieldInfo(), recs, plus({}))],
  ['inferSchema', () => data.inferSchema(recs, 'y', plus({}))],
  ['FusionModel.forward', () => new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 8, heads: 2, layers: 1 }, rng()).forward(pre.encode(recs).dataset.batch([0]), plus({}))],
  ['predict', () => train.predict(new models.LinearModel(pre.fieldInfo(), pre.targetInfo(), { rng: rng() }), pre.encode(recs).dataset, [0], plus({}))],
  ['SGD', () => new optim.SGD([new nn.Linear(2, 2, { rng: rng() }).weight], plus({ lr: 0.1 }))],
  ['Adam', () => new optim.Adam([new nn.Linear(2, 2, { rng: rng() }).weight], plus({}))],
  ['AdamW', () => new optim.AdamW([new nn.Linear(2, 2, { rng: rng() }).weight], plus({}))],
  ['SGD group 0', () => new optim.SGD([{ params: [new nn.Linear(2, 2, { rng: rng() }).weight], options: plus({}) }], { lr: 0.1 })],
  // nested options objects and the remaining plain-argument options (issue 19 review)
  ['MultiHeadAttention rope', () => new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rope: plus({ base: 100 }), rng: rng() })],
  ['TransformerEncoderLayer rope', () => new nn.TransformerEncoderLayer({ dModel: 8, nhead: 2, rope: plus({ base: 100 }), rng: rng() })],
  ['TransformerDecoderLayer rope', () => new nn.TransformerDecoderLayer({ dModel: 8, nhead: 2, rope: plus({}), rng: rng() })],
  ['Trainer split', () => new train.Trainer(new models.LinearModel(pre.fieldInfo(), pre.targetInfo(), { rng: rng() }), pre.encode(recs).dataset, plus({ train: [0] }), {}, { seed: 1 })],
  ['Trainer seeds', () => new train.Trainer(new models.LinearModel(pre.fieldInfo(), pre.targetInfo(), { rng: rng() }), pre.encode(recs).dataset, { train: [0] }, {}, plus({ seed: 1 }))],
  ['listOps', () => listOps(1, plus({ minLength: 1, maxLength: 50, seed: 1 }))],
  ['associativeRecall', () => associativeRecall(1, plus({ pairs: 2, keys: 4, values: 4, seed: 1 }))],
];

test('a misspelt split key (vaild) no longer disables validation silently', () => {
  const make = (split: { train: number[]; valid?: number[] }) => new train.Trainer(new models.LinearModel(pre.fieldInfo(), pre.targetInfo(), { rng: rng() }), pre.encode(recs).dataset, split, {}, { seed: 1 });
  assert.throws(() => make({ train: [0], vaild: [0] } as { train: number[] }), /^ValueError: Trainer split: unknown option 'vaild' \(accepted: train, valid, test\)$/);
});

for (const [fn, call] of cases) {
  test(`${fn}: an unknown option key is a ValueError naming it and the accepted keys`, () => {
    assert.throws(call, (e: unknown) => {
      assert.ok(e instanceof ValueError, `${fn}: expected ValueError, got ${String(e)}`);
      assert.match(e.message, new RegExp(`^${fn.replace(/[.]/g, '\\.')}: unknown option 'bogus' \\(accepted: [\\w, ]+\\)$`));
      return true;
    });
  });
}

test('checkOptions: the compiler demands every key of the options type and no other; null passes, a non-object does not', () => {
  const o: { a?: number; b?: string } = { a: 1 };
  // @ts-expect-error -- 'b' is missing from the accepted keys
  checkOptions('f', o, { a: true });
  // @ts-expect-error -- 'c' is not a key of the options type
  checkOptions('f', o, { a: true, b: true, c: true });
  checkOptions('f', o, { a: true, b: true });
  checkOptions('f', undefined as typeof o | undefined, { a: true, b: true });
  assert.throws(() => checkOptions('f', { a: 1, c: 2 } as typeof o, { a: true, b: true }), (e: unknown) => e instanceof ValueError && e.message === "f: unknown option 'c' (accepted: a, b)");
  assert.throws(() => checkOptions('f', [1] as typeof o, { a: true, b: true }), /^ValueError: f: options must be an object, got an array$/);
});

test('checkOptions messages list what is accepted: GatedAttentionPooling.forward takes keyMask and needWeights', () => {
  const pool = new nn.GatedAttentionPooling({ inDim: 8, rng: rng() });
  assert.throws(() => pool.forward(x3(), { keyMsk: null } as never), /GatedAttentionPooling\.forward: unknown option 'keyMsk' \(accepted: keyMask, needWeights\)/);
});

test('GatedAttentionPooling: keyMask [B, N] (true = real) gives padded instances zero weight, and the output ignores them', () => {
  const pool = new nn.GatedAttentionPooling({ inDim: 8, hiddenDim: 4, rng: rng(3) });
  const h = x3();                                                       // [2, 3, 8]
  const keyMask = tensor([[true, true, false], [true, false, false]]);
  const { output, weights } = pool.forward(h, { keyMask, needWeights: true });
  assert.deepEqual(Array.from(weights!.data).map((w, i) => (keyMask.data[i] ? w > 0 : w === 0)), [true, true, true, true, true, true]);
  // the same bags without their padding give the same outputs
  const first = pool.forward(tensor(Array.from(h.data.slice(0, 16)), { shape: [1, 2, 8] })).output;
  const second = pool.forward(tensor(Array.from(h.data.slice(24, 32)), { shape: [1, 1, 8] })).output;
  assertAllClose(output, [...first.data, ...second.data], { atol: 1e-6 });
  // the old name `mask` is gone: refused, naming the accepted keys
  assert.throws(() => pool.forward(h, { mask: keyMask } as never), /GatedAttentionPooling\.forward: unknown option 'mask' \(accepted: keyMask, needWeights\)/);
});

test('nn.Attention: keyMask [B, S] masks keys per batch row; a 2-d mask is refused (it would broadcast onto [T, S])', () => {
  const attn = new nn.Attention({ score: 'scaledDot', queryDim: 8 });
  const q = randn([3, 3, 8], { rng: rng(4) });                          // B = T = 3: the trap
  const keyMask = tensor([[true, true, true], [true, false, false], [true, true, false]]);
  const weights = attn.forward(q, q, q, { keyMask, needWeights: true }).weights!;
  for (let b = 0; b < 3; b++) for (let t = 0; t < 3; t++) for (let s = 0; s < 3; s++) {
    const w = weights.data[(b * 3 + t) * 3 + s];
    assert.ok(keyMask.data[b * 3 + s] ? w > 0 : w === 0, `b ${b} t ${t} s ${s}: ${w}`);
  }
  // the same as the documented 3-d form [B, 1, S]
  assertAllClose(weights, attn.forward(q, q, q, { attnMask: F.unsqueeze(keyMask, 1), needWeights: true }).weights!);
  assert.throws(() => attn.forward(q, q, q, { attnMask: keyMask }), (e: unknown) => e instanceof ShapeError
    && /Attention\.forward: attnMask has 2 dims \[3,3\]; pass keyMask \[B, S\] for padding, or a 3-d mask \[B, T\|1, S\]/.test(e.message));
  assert.throws(() => attn.forward(q, q, q, { keyMask: tensor([[true, false, true]]) }), (e: unknown) => e instanceof ShapeError
    && /Attention\.forward: keyMask has shape \[1,3\], expected \[B, S\] = \[3,3\]/.test(e.message));
});

test('tensor(number[], { shape }) honours the shape, and a wrong element count is a ShapeError naming both', () => {
  const t = tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3] });
  assert.deepEqual(t.shape, [2, 3]);
  assert.deepEqual(Array.from(t.data), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(tensor([[1, 2], [3, 4]], { shape: [4] }).shape, [4]);
  assert.deepEqual(tensor(5, { shape: [1, 1] }).shape, [1, 1]);
  assert.deepEqual(tensor([true, false], { shape: [2, 1] }).dtype, 'bool');
  assert.throws(() => tensor([1, 2, 3], { shape: [2, 2] }), (e: unknown) => e instanceof ShapeError
    && /tensor: data has 3 elements \(shape \[3\]\), shape \[2,2\] needs 4/.test(e.message));
  assert.throws(() => tensor(new Float32Array(3), { shape: [2, 2] }), ShapeError);
});

test('tril/triu keep the dtype: bool → bool, int32 → int32, float → float', () => {
  const b = tensor([[true, true], [true, true]]);
  assert.equal(tril(b).dtype, 'bool');
  assert.deepEqual(Array.from(tril(b).data), [1, 0, 1, 1]);
  assert.equal(triu(b).dtype, 'bool');
  assert.deepEqual(Array.from(triu(b, 1).data), [0, 1, 0, 0]);
  const n = i32([1, 2, 3, 4], [2, 2]);
  assert.equal(tril(n).dtype, 'int32');
  assert.deepEqual(Array.from(triu(n).data), [1, 2, 0, 4]);
  assert.equal(tril(ones([2, 2], { dtype: 'float64' })).dtype, 'float64');
});

test('the Node readers and dataset adapters refuse unknown option keys too (before reading anything)', async () => {
  const { data: nodeData } = await import('../../src/node.js');
  const unknown = (fn: string) => (e: unknown): boolean => e instanceof ValueError && new RegExp(`^${fn}: unknown option 'bogus'`).test(e.message);
  await assert.rejects(nodeData.readRecords('nowhere.csv', plus({})), unknown('readRecords'));
  await assert.rejects(nodeData.streamRecords('nowhere.csv', plus({})).next(), unknown('streamRecords'));
  const adapters: [string, () => unknown][] = [
    ['spamAssassin', () => nodeData.spamAssassin(plus({}))], ['sotu', () => nodeData.sotu(plus({}))],
    ['usBirths', () => nodeData.usBirths(plus({}))], ['mnist', () => nodeData.mnist(plus({}))], ['co2', () => nodeData.co2(plus({}))],
  ];
  for (const [fn, call] of adapters) assert.throws(call, unknown(fn));
  const { startInspectServer } = await import('../../src/cli/inspect.js');
  await assert.rejects(startInspectServer(plus({ dir: '.' })), unknown('startInspectServer'));
});
