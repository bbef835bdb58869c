/**
 * ONNX export, verified by running every exported graph in onnxruntime-node and comparing with
 * attnkit's own forward (max |error| ≤ 1e-4), at two batch/sequence sizes (dynamic axes) and
 * with padded keys (including a batch row with no real token); the whole fusion model on every
 * field kind; unsupported layers are refused by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { ConfigError, Generator, Module, Tensor, data, exportOnnx, fusionOnnxInputs, models, nn, randn, sigmoid, softmax, tensor, unsqueeze } from '../../src/index.js';
import { FUSION_TEST_SCHEMA } from '../helpers.js';
import { compare, maskFor, x3 } from './ortCompare.js';

async function check(name: string, model: Module, run: (x: Tensor, keyMask: Tensor | null) => Tensor, C: number, withMask: boolean): Promise<void> {
  model.eval();
  const session = await ort.InferenceSession.create(exportOnnx(model, { keyMask: withMask }));
  for (const [B, T] of [[2, 5], [3, 9], [1, 12]]) {
    const x = randn([B, T, C], { rng: new Generator(B * 10 + T) });
    const keyMask = withMask ? maskFor(B, T) : null;
    const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', x.data as Float32Array, [B, T, C]) };
    if (keyMask) feeds.keyMask = new ort.Tensor('bool', keyMask.data as Uint8Array, [B, T]);
    const out = (await session.run(feeds)).y;
    const expected = run(x, keyMask);
    assert.deepEqual([...out.dims], [...expected.shape], `${name} [${B},${T}] shape`);
    let worst = 0;
    const got = out.data as Float32Array;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected.data[i]));
    assert.ok(worst <= 1e-4, `${name} [${B},${T}]: max |ORT − attnkit| = ${worst}`);
  }
}

const rng = (): Generator => new Generator(3);

test('Linear and LayerNorm export and match in ONNX Runtime', async () => {
  const lin = new nn.Linear(6, 4, { rng: rng() });
  await check('Linear', lin, (x) => lin.forward(x), 6, false);
  const ln = new nn.LayerNorm(6);
  ln.weight!.data.set([1, 2, 0.5, 1, 1.5, 0.3]); ln.bias!.data.set([0, 1, -1, 0.5, 0, 0.2]);
  await check('LayerNorm', ln, (x) => ln.forward(x), 6, false);
});

test('MultiHeadAttention (self-attention with padded keys) matches in ONNX Runtime', async () => {
  const m = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: rng() });
  await check('MultiHeadAttention', m, (x, keyMask) => m.forward(x, x, x, { keyMask }).output, 8, true);
  await check('MultiHeadAttention (no mask)', m, (x) => m.forward(x).output, 8, false);
});

test('Transformer encoder layers and stacks (pre/post-norm, ReLU/GELU) match in ONNX Runtime', async () => {
  for (const [normFirst, activation] of [[true, 'gelu'], [false, 'relu']] as const) {
    const layer = new nn.TransformerEncoderLayer({ dModel: 8, nhead: 2, dimFeedforward: 16, normFirst, activation, dropout: 0, rng: rng() });
    await check(`TransformerEncoderLayer ${normFirst ? 'pre' : 'post'} ${activation}`, layer, (x, keyMask) => layer.forward(x, { keyMask }).output, 8, true);
  }
  const enc = new nn.TransformerEncoder({ dModel: 8, nhead: 4, dimFeedforward: 16, numLayers: 3, normFirst: true, finalNorm: true, activation: 'gelu', dropout: 0, rng: rng() });
  await check('TransformerEncoder', enc, (x, keyMask) => enc.forward(x, { keyMask }).output, 8, true);
});

test('AttentionPooling (one and several queries) matches in ONNX Runtime', async () => {
  for (const numQueries of [1, 3]) {
    const pool = new nn.AttentionPooling({ embedDim: 8, numHeads: 2, numQueries, rng: rng() });
    await check(`AttentionPooling ×${numQueries}`, pool, (x, keyMask) => pool.forward(x, { keyMask }).output, 8, true);
  }
});

test('sparse self-attention exports as masks: windows (two- and one-sided, dilated), blocks, global tokens', async () => {
  const cases: [string, Partial<nn.SparseSelfAttentionOptions>][] = [
    ['window w=1', { pattern: 'window', window: 1 }],
    ['one-sided window w=2', { pattern: 'window', window: 2, oneSided: true }],
    ['dilated window w=1 d=2', { pattern: 'window', window: 1, dilation: 2 }],
    ['block 2', { pattern: 'block', blockSize: 2 }],
    ['window + global tokens', { pattern: 'window', window: 1, globalTokens: [0, 3] }],
    ['block 3 + global', { pattern: 'block', blockSize: 3, globalTokens: [1] }],
  ];
  for (const [name, o] of cases) {
    const m = new nn.SparseSelfAttention({ embedDim: 8, numHeads: 2, pattern: 'window', ...o, rng: rng() } as nn.SparseSelfAttentionOptions);
    await check(`SparseSelfAttention ${name}`, m, (x, keyMask) => m.forward(x, { keyMask }).output, 8, true);
  }
});

test('linear attention (elu and Performer features, causal or not) and Linformer match in ONNX Runtime', async () => {
  for (const kernel of ['elu', 'performer'] as const) {
    for (const causal of [false, true]) {
      const m = new nn.LinearSelfAttention({ embedDim: 8, numHeads: 2, kernel, numFeatures: 16, causal, rng: rng() });
      await check(`LinearSelfAttention ${kernel}${causal ? ' causal' : ''}`, m, (x, keyMask) => m.forward(x, { keyMask }).output, 8, true);
    }
  }
  for (const shareKV of [false, true]) {
    const m = new nn.LinformerSelfAttention({ embedDim: 8, numHeads: 2, maxLen: 12, projectedLen: 4, shareKV, rng: rng() });
    await check(`Linformer${shareKV ? ' shared' : ''}`, m, (x, keyMask) => m.forward(x, { keyMask }).output, 8, true);
  }
});

test('composite blocks, Serial, Parallel (every merge) and Fusion (static, token gates) match in ONNX Runtime', async () => {
  const r = rng();
  const blocks = (): nn.Block[] => [
    new nn.SelfAttentionBlock({ embedDim: 8, numHeads: 2, causal: true, rng: r }),
    new nn.ConvBlock({ embedDim: 8, kernelSize: 3, rng: r }),
    new nn.ConvBlock({ embedDim: 8, kernelSize: 2, dilation: 2, causal: true, rng: r }),
    new nn.FeedForwardBlock({ embedDim: 8, hidden: 12, activation: 'relu', rng: r }),
    new nn.LocalAttentionBlock({ embedDim: 8, numHeads: 2, window: 1, rng: r }),
    new nn.LinearAttentionBlock({ embedDim: 8, numHeads: 2, rng: r }),
    new nn.TransformerBlock({ embedDim: 8, numHeads: 2, rng: r }),
  ];
  for (const norm of ['pre', 'post', 'none'] as const) {
    const s = new nn.Serial({ embedDim: 8, layers: blocks(), norm, residual: norm !== 'none' });
    await check(`Serial ${norm}`, s, (x, keyMask) => s.forward(x, { keyMask }).output, 8, true);
  }
  for (const merge of nn.MERGE_MODES) {
    const p = new nn.Parallel({ embedDim: 8, merge, branches: blocks().slice(0, 3), rng: r });
    await check(`Parallel ${merge}`, p, (x, keyMask) => p.forward(x, { keyMask }).output, 8, true);
  }
  const raw = new nn.Parallel({ embedDim: 8, merge: 'concat', project: false, branches: blocks().slice(3, 5), rng: r });
  await check('Parallel concat unprojected', raw, (x, keyMask) => raw.forward(x, { keyMask }).output, 8, true);
  for (const gate of ['static', 'token'] as const) {
    const f = new nn.Fusion({ embedDim: 8, gate, mechanisms: blocks().slice(4), rng: r });
    f.gateLogits?.data.set([0.5, -1, 2]);
    await check(`Fusion ${gate}`, f, (x, keyMask) => f.forward(x, { keyMask }).output, 8, true);
  }
});

test('σReparam is folded into the exported weights', async () => {
  const enc = new nn.TransformerEncoder({ dModel: 8, nhead: 2, dimFeedforward: 16, numLayers: 1, normFirst: true, dropout: 0, rng: rng() });
  for (const [, m] of enc.namedModules()) if (m instanceof nn.Linear || m instanceof nn.MultiHeadAttention) m.useSigmaReparam(rng());
  enc.train();
  for (let i = 0; i < 3; i++) enc.forward(randn([2, 4, 8], { rng: new Generator(i) }));   // power iterations move u, v
  for (const [, m] of enc.namedModules()) if (m instanceof nn.SpectralReparam) m.gamma.data[0] = 1.7;
  await check('σReparam encoder', enc, (x, keyMask) => enc.forward(x, { keyMask }).output, 8, true);
  assert.equal(enc.training, false, 'check() put it in eval mode');
  enc.train();
  exportOnnx(enc);
  assert.equal(enc.training, true, 'exportOnnx leaves the mode as it was');
});

const schema = FUSION_TEST_SCHEMA;

function records(n: number, seed: number): data.DataRecord[] {
  const g = new Generator(seed);
  const words = ['good', 'bad', 'fine', 'odd', 'new'];
  return Array.from({ length: n }, (_, i) => ({
    x1: i % 5 === 1 ? null : g.normal(), x2: g.normal(), x3: g.normal(), cat: i % 7 === 2 ? null : ['a', 'b', 'c'][g.int(0, 3)],
    text: Array.from({ length: g.int(1, 6) }, () => words[g.int(0, 5)]).join(' '), kv: { mood: words[g.int(0, 5)], n: g.int(0, 3) },
    // row 3 has no signal source at all (a fully missing source)
    series: i === 3 ? null : Array.from({ length: g.int(2, 9) }, () => g.normal()), img: i === 3 ? null : [g.uniform(), g.uniform(), g.uniform(), g.uniform()],
    y: g.int(0, 2), k: ['p', 'q', 'r'][g.int(0, 3)], r: 3 + 2 * g.normal(),
  }));
}

test('the fusion model (every field kind, missing values, all strategies, a composite block, ensembles and a wide part) matches in ONNX Runtime', async () => {
  const recs = records(40, 5);
  const pre = data.Preprocessor.fit(schema, recs);
  const ds = pre.encode(recs).dataset;
  const configs: [string, unknown][] = [
    ['early', { strategy: 'early', dim: 16, heads: 2, layers: 2 }],
    ['early + fusion block', { strategy: 'early', dim: 16, layers: 2, block: { type: 'fusion', mechanisms: [{ type: 'selfAttention', numHeads: 2 }, { type: 'conv', kernelSize: 3 }, { type: 'localAttention', numHeads: 2, window: 1 }] } }],
    ['crossModal', { strategy: 'crossModal', dim: 16, heads: 2, layers: 1 }],
    ['latent', { strategy: 'latent', dim: 16, heads: 2, layers: 1, numLatents: 4 }],
    ['crossModal, σReparam', { strategy: 'crossModal', dim: 16, heads: 2, layers: 1, sigmaReparam: true }],
    ['early, ensemble 3', { strategy: 'early', dim: 16, heads: 2, layers: 2, ensemble: 3 }],
    ['latent, ensemble 2', { strategy: 'latent', dim: 16, heads: 2, layers: 1, numLatents: 4, ensemble: 2 }],
    ['early, wide', { strategy: 'early', dim: 16, heads: 2, layers: 2, wide: true }],
    ['crossModal, ensemble 2, wide', { strategy: 'crossModal', dim: 16, heads: 2, layers: 1, ensemble: 2, wide: true }],
    ['early, 3 independent members', { strategy: 'early', dim: 16, heads: 2, layers: 2, ensemble: 3, ensembleMode: 'independent' }],
    ['latent, 2 independent members, wide', { strategy: 'latent', dim: 16, heads: 2, layers: 1, numLatents: 4, ensemble: 2, ensembleMode: 'independent', wide: true }],
    ['crossModal, 2 independent members', { strategy: 'crossModal', dim: 16, heads: 2, layers: 1, ensemble: 2, ensembleMode: 'independent' }],
    ['early + fusion block, 2 independent members', { strategy: 'early', dim: 16, layers: 1, ensemble: 2, ensembleMode: 'independent', block: { type: 'fusion', mechanisms: [{ type: 'selfAttention', numHeads: 2 }, { type: 'conv', kernelSize: 3 }] } }],
  ];
  for (const [name, config] of configs) {
    const model = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), config, new Generator(9));
    model.eval();
    const session = await ort.InferenceSession.create(exportOnnx(model));
    for (const rows of [[0, 1, 2, 3], [3], [5, 6, 7, 8, 9, 10, 11]]) {
      const batch = ds.batch(rows);
      const feeds = Object.fromEntries(Object.entries(fusionOnnxInputs(model, batch)).map(([k, v]) => [k, new ort.Tensor(v.type, v.data, v.dims)]));
      const out = await session.run(feeds);
      const { outputs } = model.forward(batch);
      const expect: Record<string, Tensor> = {
        y: outputs.y, 'y.probability': sigmoid(outputs.y), k: outputs.k, 'k.probabilities': softmax(outputs.k, -1), r: outputs.r,
        'r.value': tensor(Float32Array.from(outputs.r.data, (v) => pre.denormalize('r', v)), { shape: [rows.length] }),
      };
      assert.deepEqual(Object.keys(out).sort(), Object.keys(expect).sort(), name);
      for (const [k, e] of Object.entries(expect)) {
        assert.deepEqual([...out[k].dims], [...e.shape], `${name} ${k} shape`);
        const got = out[k].data as Float32Array;
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - e.data[i]) / (k === 'r.value' ? 10 : 1));
        assert.ok(worst <= 1e-4, `${name} rows [${rows}] ${k}: max |ORT − attnkit| = ${worst}`);
      }
    }
  }
});


test('the piecewise-linear numeric embedding (with a missing value) matches in ONNX Runtime, alone and with a wide part', async () => {
  const recs = records(24, 7);
  const pre = data.Preprocessor.fit({ fields: [{ name: 'x1', kind: 'numeric', embedding: 'piecewise-linear', bins: 3 }, { name: 'x2', kind: 'numeric', embedding: 'piecewise-linear' }], targets: [{ name: 'y', task: 'binary' }] }, recs);
  assert.equal(pre.fieldInfo()[0].withLinear, true);
  const ds = pre.encode(recs).dataset;
  for (const wide of [false, true]) {
    const model = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 8, heads: 2, layers: 1, wide }, new Generator(3)).eval();
    const session = await ort.InferenceSession.create(exportOnnx(model));
    const batch = ds.batch([0, 1, 2, 3, 4, 5, 6]);                                          // row 1: x1 missing
    const feeds = Object.fromEntries(Object.entries(fusionOnnxInputs(model, batch)).map(([k, v]) => [k, new ort.Tensor(v.type, v.data, v.dims)]));
    const out = await session.run(feeds);
    const want = model.forward(batch).outputs.y;
    const got = out.y.data as Float32Array;
    const worst = Math.max(...Array.from(got, (v, i) => Math.abs(v - want.data[i])));
    assert.ok(worst <= 1e-4, `wide ${wide}: max |ORT − attnkit| = ${worst}`);
  }
});

test('rotary and ALiBi positions, causal encoders and positional encodings match in ONNX Runtime', async () => {
  for (const pos of [{ rope: true }, { alibi: true }, { rope: { base: 500 }, alibi: true }]) {
    const m = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, ...pos, rng: rng() });
    await check(`MultiHeadAttention ${JSON.stringify(pos)}`, m, (x, keyMask) => m.forward(x, x, x, { keyMask }).output, 8, true);
    const enc = new nn.TransformerEncoder({ dModel: 8, nhead: 2, dimFeedforward: 16, numLayers: 2, normFirst: true, dropout: 0, ...pos, rng: rng() }).eval();
    for (const [B, T] of [[2, 5], [1, 9]]) {
      const x = x3(B, T, 8, T), keyMask = maskFor(B, T);
      await compare(`causal encoder ${JSON.stringify(pos)} [${B},${T}]`, exportOnnx(enc, { causal: true }), { x, keyMask }, { y: enc.forward(x, { keyMask, causal: true }).output });
    }
  }
  const sin = new nn.SinusoidalPositionalEncoding({ embedDim: 7, base: 100 });
  await check('SinusoidalPositionalEncoding', sin, (x) => sin.forward(x), 7, false);
  const learned = new nn.LearnedPositionalEmbedding({ maxLen: 12, embedDim: 8, rng: rng() });
  await check('LearnedPositionalEmbedding', learned, (x) => learned.forward(x), 8, false);
});

test('cross-attention, cross-modal stacks, decoders and the Perceiver match in ONNX Runtime', async () => {
  const cross = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, kDim: 6, vDim: 6, rng: rng() }).eval();
  const crossSame = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, alibi: true, rng: rng() }).eval();
  const layer = new nn.CrossModalLayer({ dModel: 8, nhead: 2, sourceDim: 6, dimFeedforward: 12, dropout: 0, activation: 'gelu', rng: rng() }).eval();
  const stack = new nn.CrossModalTransformer({ dModel: 8, nhead: 2, sourceDim: 6, dimFeedforward: 12, dropout: 0, numLayers: 2, rng: rng() }).eval();
  for (const [B, T, S] of [[2, 4, 7], [3, 9, 5]]) {
    const x = x3(B, T, 8, T), src = x3(B, S, 6, S), src8 = x3(B, S, 8, S + 1), sourceKeyMask = maskFor(B, S);
    await compare(`cross MHA [${B},${T},${S}]`, exportOnnx(cross), { x, source: src, sourceKeyMask }, { y: cross.forward(x, src, src, { keyMask: sourceKeyMask }).output });
    await compare(`cross MHA (kDim = C, ALiBi) [${B},${T},${S}]`, exportOnnx(crossSame, { cross: true }), { x, source: src8, sourceKeyMask }, { y: crossSame.forward(x, src8, src8, { keyMask: sourceKeyMask }).output });
    await compare(`CrossModalLayer [${B},${T},${S}]`, exportOnnx(layer), { x, source: src, sourceKeyMask }, { y: layer.forward(x, src, { sourceKeyMask }).output });
    await compare(`CrossModalTransformer [${B},${T},${S}]`, exportOnnx(stack), { x, source: src, sourceKeyMask }, { y: stack.forward(x, src, { sourceKeyMask }).output });
  }
  for (const [normFirst, pos] of [[false, {}], [true, { rope: true }]] as const) {
    const dec = new nn.TransformerDecoder({ dModel: 8, nhead: 2, dimFeedforward: 16, numLayers: 2, normFirst, finalNorm: normFirst, dropout: 0, ...pos, rng: rng() }).eval();
    const decLayer = new nn.TransformerDecoderLayer({ dModel: 8, nhead: 2, dimFeedforward: 16, dropout: 0, activation: 'gelu', rng: rng() }).eval();
    for (const [B, T, S] of [[2, 5, 3], [3, 4, 9]]) {
      const x = x3(B, T, 8, T), memory = x3(B, S, 8, S), keyMask = maskFor(B, T), memoryKeyMask = maskFor(B, S);
      await compare(`TransformerDecoder ${normFirst ? 'pre' : 'post'} [${B},${T},${S}]`, exportOnnx(dec), { x, memory, keyMask, memoryKeyMask }, { y: dec.forward(x, memory, { tgtKeyMask: keyMask, memoryKeyMask }).output });
      await compare(`TransformerDecoderLayer non-causal [${B},${T},${S}]`, exportOnnx(decLayer, { causal: false }), { x, memory, keyMask, memoryKeyMask }, { y: decLayer.forward(x, memory, { tgtKeyMask: keyMask, memoryKeyMask, causal: false }).output });
    }
  }
  const perceiver = new nn.PerceiverEncoder({ numLatents: 3, latentDim: 8, inputDim: 6, crossHeads: 2, latentHeads: 2, numLatentLayers: 1, dimFeedforward: 12, rng: rng() }).eval();
  for (const [B, T] of [[2, 5], [3, 9]]) {
    const x = x3(B, T, 6, T), keyMask = maskFor(B, T);
    await compare(`PerceiverEncoder [${B},${T}]`, exportOnnx(perceiver), { x, keyMask }, { y: perceiver.forward(x, { keyMask }).output });
  }
});

test('scoring functions, gated and context pooling and the hierarchical attention network match in ONNX Runtime', async () => {
  for (const score of ['dot', 'scaledDot', 'general', 'additive', 'cosine'] as const) {
    const a = new nn.Attention({ score, queryDim: 6, keyDim: score === 'general' || score === 'additive' ? 5 : 6, hiddenDim: 4, initialScale: 3, rng: rng() }).eval();
    for (const [B, T, S] of [[2, 3, 5], [3, 6, 9]]) {
      const q = x3(B, T, 6, T), k = x3(B, S, a.keyDim, S), v = x3(B, S, 7, S + 2), keyMask = maskFor(B, S);
      const r = a.forward(q, k, v, { attnMask: unsqueeze(keyMask, 1), needWeights: true });
      await compare(`Attention ${score} [${B},${T},${S}]`, exportOnnx(a, { valueDim: 7 }), { query: q, key: k, value: v, keyMask }, { y: r.output, weights: r.weights! });
    }
  }
  for (const gated of [true, false]) {
    const p = new nn.GatedAttentionPooling({ inDim: 6, hiddenDim: 5, gated, rng: rng() });
    for (const [B, T] of [[2, 5], [3, 9]]) {
      const x = x3(B, T, 6, T), keyMask = maskFor(B, T), r = p.forward(x, { keyMask, needWeights: true });
      await compare(`GatedAttentionPooling ${gated} [${B},${T}]`, exportOnnx(p), { x, keyMask }, { y: r.output, weights: r.weights! });
    }
  }
  const ctx = new nn.ContextAttention({ dim: 6, attentionDim: 4, rng: rng() });
  const x = x3(3, 9, 6, 1), keyMask = maskFor(3, 9), r = ctx.forward(x, { keyMask, needWeights: true });
  await compare('ContextAttention', exportOnnx(ctx), { x, keyMask }, { y: r.output, weights: r.weights! });
  for (const numClasses of [3, undefined]) {
    const han = new nn.HierarchicalAttentionNetwork({ vocabSize: 20, embedDim: 8, encoder: 'transformer', numHeads: 2, numLayers: 1, dimFeedforward: 12, dropout: 0, numClasses, rng: rng() }).eval();
    const g = new Generator(5);
    for (const [B, S, W] of [[2, 3, 4], [1, 2, 6]]) {
      // ids 0 are padding; sentence 1 of document 0 is empty
      const ids = tensor(Int32Array.from({ length: B * S * W }, (_, i) => (i % W < W - (i % 3) && !(Math.floor(i / W) === 1) ? g.int(1, 20) : 0)), { shape: [B, S, W] });
      const wordMask = tensor(Uint8Array.from(ids.data as Int32Array, (v) => (v !== 0 ? 1 : 0)), { shape: [B, S, W] });
      const out = han.forward(ids, { keyMask: wordMask, needWeights: true });
      await compare(`HierarchicalAttentionNetwork ${numClasses ?? 'vector'} [${B},${S},${W}]`, exportOnnx(han), { ids, keyMask: wordMask }, { y: out.output, wordWeights: out.weights!.word, sentenceWeights: out.weights!.sentence });
    }
  }
});

test('unsupported layers and options are refused with an error naming them', () => {
  const bigBird = new nn.SparseSelfAttention({ embedDim: 8, numHeads: 2, pattern: 'bigBird', blockSize: 2, rng: rng() });
  assert.throws(() => exportOnnx(bigBird), (e: Error) => e instanceof ConfigError && /exportOnnx: SparseSelfAttention with the 'bigBird' pattern is not supported/.test(e.message));
  const relBias = new nn.SparseSelfAttention({ embedDim: 8, numHeads: 2, pattern: 'window', relativeBias: { maxDistance: 4 }, rng: rng() });
  assert.throws(() => exportOnnx(relBias), (e: Error) => e instanceof ConfigError && /exportOnnx: SparseSelfAttention with relativeBias is not supported/.test(e.message));
  const mhaRel = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, relativeBias: { maxDistance: 4 }, rng: rng() });
  assert.throws(() => exportOnnx(mhaRel), (e: Error) => e instanceof ConfigError && /exportOnnx: MultiHeadAttention with relativeBias is not supported/.test(e.message));
  const gru = new nn.GRU({ inputSize: 4, hiddenSize: 4, rng: rng() });
  assert.throws(() => exportOnnx(gru), (e: Error) => e instanceof ConfigError && /exportOnnx: GRU is not supported \(supported: Linear, LayerNorm, MultiHeadAttention/.test(e.message));
  const gqa = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, numKVHeads: 1, rng: rng() });
  assert.throws(() => exportOnnx(gqa), /MultiHeadAttention with grouped key\/value heads is not supported/);
  const hanGru = new nn.HierarchicalAttentionNetwork({ vocabSize: 9, embedDim: 4, hiddenSize: 2, rng: rng() });
  assert.throws(() => exportOnnx(hanGru), /HierarchicalAttentionNetwork with GRU encoders is not supported/);
  const serial = new nn.Serial({ embedDim: 4, layers: [gru as unknown as nn.Block] });
  assert.throws(() => exportOnnx(serial), /exportOnnx: GRU is not supported/);
  const baseline = new models.MLPModel([{ name: 'a', kind: 'numeric', source: 'a' }], [{ name: 'y', task: 'binary', outputs: 1, weight: 1, loss: 'mse' }], { rng: rng() });
  assert.throws(() => exportOnnx(baseline), /exportOnnx: MLPModel is not supported/);
  const hashRecords = [{ 'a#b': 1, y: 1 }, { 'a#b': 2, y: 0 }];
  const hashPre = data.Preprocessor.fit({ fields: [{ name: 'a#b', kind: 'numeric' }], targets: [{ name: 'y', task: 'binary' }] }, hashRecords);
  const hashModel = new models.FusionModel(hashPre.fieldInfo(), hashPre.targetInfo(), { dim: 8, heads: 2, layers: 1 }, rng());
  assert.throws(() => exportOnnx(hashModel), /exportOnnx: the name 'a#b' contains '#'/);
});

test('causal MultiHeadAttention exports causal (self- and cross-attention), as its forward', async () => {
  const m = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: rng() }).eval();
  for (const [B, T] of [[1, 4], [2, 6]]) {
    const x = x3(B, T, 8, T), keyMask = maskFor(B, T);
    await compare(`causal MHA [${B},${T}]`, exportOnnx(m, { causal: true }), { x, keyMask }, { y: m.forward(x, x, x, { keyMask, causal: true }).output });
  }
  for (const [B, T, S] of [[2, 4, 7], [1, 6, 3]]) {
    const x = x3(B, T, 8, T), source = x3(B, S, 8, S + 1), sourceKeyMask = maskFor(B, S);
    await compare(`causal cross MHA [${B},${T},${S}]`, exportOnnx(m, { cross: true, causal: true }), { x, source, sourceKeyMask }, { y: m.forward(x, source, source, { keyMask: sourceKeyMask, causal: true }).output });
  }
});
