import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, nn, randn, tensor, ValueError } from '../../src/index.js';

// One name per concept: the transformer family takes embedDim/numHeads like every attention
// layer; PyTorch's dModel/nhead stay accepted as aliases for migration.

const x = randn([2, 3, 8], { rng: new Generator(5) });
const same = (a: { data: ArrayLike<number> }, b: { data: ArrayLike<number> }): void => assert.deepEqual(Array.from(a.data), Array.from(b.data));

test('transformer layers take embedDim/numHeads; dModel/nhead are aliases giving the same layer', () => {
  const base = { dimFeedforward: 16, dropout: 0 };
  const a = new nn.TransformerEncoderLayer({ ...base, embedDim: 8, numHeads: 2, rng: new Generator(1) });
  const b = new nn.TransformerEncoderLayer({ ...base, dModel: 8, nhead: 2, rng: new Generator(1) });
  same(a.forward(x).output, b.forward(x).output);
  assert.equal(a.options.embedDim, 8);
  assert.equal(b.options.embedDim, 8, 'options are stored under the one name');
  assert.equal(b.options.numHeads, 2);
  const enc = new nn.TransformerEncoder({ ...base, embedDim: 8, numHeads: 2, numLayers: 2, finalNorm: true, rng: new Generator(1) });
  assert.deepEqual([...enc.forward(x).output.shape], [2, 3, 8]);
  const dec = new nn.TransformerDecoder({ ...base, embedDim: 8, numHeads: 2, numLayers: 1, rng: new Generator(1) });
  assert.deepEqual([...dec.forward(x, x).output.shape], [2, 3, 8]);
  const cm = new nn.CrossModalLayer({ embedDim: 8, numHeads: 2, sourceDim: 4, dimFeedforward: 16, dropout: 0, rng: new Generator(1) });
  const cm2 = new nn.CrossModalLayer({ dModel: 8, nhead: 2, sourceDim: 4, dimFeedforward: 16, dropout: 0, rng: new Generator(1) });
  const s = randn([2, 5, 4], { rng: new Generator(6) });
  same(cm.forward(x, s).output, cm2.forward(x, s).output);
});

test('the one name and its alias together must agree; a missing width is named', () => {
  assert.throws(() => new nn.TransformerEncoderLayer({ embedDim: 8, dModel: 16, numHeads: 2 }),
    (e: unknown) => e instanceof ValueError && /TransformerEncoderLayer: embedDim \(8\) and its alias dModel \(16\) disagree/.test(e.message));
  assert.throws(() => new nn.TransformerDecoderLayer({ numHeads: 2 } as never),
    (e: unknown) => e instanceof ValueError && /TransformerDecoderLayer: embedDim must be a positive integer, got undefined/.test(e.message));
});

test('one mask name: decoders take keyMask (tgtKeyMask an alias), cross-modal layers memoryKeyMask (sourceKeyMask an alias)', () => {
  const dec = new nn.TransformerDecoder({ embedDim: 8, numHeads: 2, numLayers: 1, dimFeedforward: 16, dropout: 0, rng: new Generator(1) });
  const km = tensor([[1, 1, 1], [1, 1, 0]], { dtype: 'bool' });   // the second target has 2 real tokens
  same(dec.forward(x, x, { keyMask: km }).output, dec.forward(x, x, { tgtKeyMask: km }).output);
  assert.notDeepEqual(Array.from(dec.forward(x, x, { keyMask: km, causal: false }).output.data), Array.from(dec.forward(x, x, { causal: false }).output.data));
  assert.throws(() => dec.forward(x, x, { keyMask: km, tgtKeyMask: km }),
    (e: unknown) => e instanceof ValueError && /TransformerDecoder\.forward: pass keyMask or its alias tgtKeyMask, not both/.test(e.message));
  const cm = new nn.CrossModalTransformer({ embedDim: 8, numHeads: 2, sourceDim: 4, numLayers: 1, dimFeedforward: 16, dropout: 0, rng: new Generator(1) });
  const s = randn([2, 5, 4], { rng: new Generator(6) });
  const sm = tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], { dtype: 'bool' });
  same(cm.forward(x, s, { memoryKeyMask: sm }).output, cm.forward(x, s, { sourceKeyMask: sm }).output);
  assert.notDeepEqual(Array.from(cm.forward(x, s, { memoryKeyMask: sm }).output.data), Array.from(cm.forward(x, s).output.data));
});

test('pooling layers take embedDim: GatedAttentionPooling (inDim an alias), ContextAttention (dim an alias)', () => {
  const h = randn([2, 3, 8], { rng: new Generator(8) });
  const a = new nn.GatedAttentionPooling({ embedDim: 8, hiddenDim: 4, rng: new Generator(1) });
  const b = new nn.GatedAttentionPooling({ inDim: 8, hiddenDim: 4, rng: new Generator(1) });
  same(a.forward(h).output, b.forward(h).output);
  assert.equal(b.options.embedDim, 8);
  const c = new nn.ContextAttention({ embedDim: 8, rng: new Generator(1) });
  const d = new nn.ContextAttention({ dim: 8, rng: new Generator(1) });
  same(c.forward(h).output, d.forward(h).output);
  assert.equal(d.options.embedDim, 8);
  assert.throws(() => new nn.ContextAttention({ embedDim: 8, dim: 8 }), (e: unknown) => e instanceof ValueError && /ContextAttention: pass embedDim or its alias dim, not both/.test(e.message));
});

test('GRU.forward takes keyMask (mask its alias), and the HAN passes keyMask', () => {
  const gru = new nn.GRU({ inputSize: 8, hiddenSize: 3, rng: new Generator(1) });
  const km = tensor([[1, 1, 1], [1, 1, 0]], { dtype: 'bool' });
  const h = randn([2, 3, 8], { rng: new Generator(2) });
  same(gru.forward(h, { keyMask: km }).output, gru.forward(h, { mask: km }).output);
  assert.notDeepEqual(Array.from(gru.forward(h, { keyMask: km }).output.data), Array.from(gru.forward(h).output.data));
  assert.throws(() => gru.forward(h, { keyMask: km, mask: km }), (e: unknown) => e instanceof ValueError && /GRU\.forward: pass keyMask or its alias mask, not both/.test(e.message));
});
