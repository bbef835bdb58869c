import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, Module, Tensor, ValueError, nn, randn, randint } from '../../src/index.js';
import { assertAllClose } from '../helpers.js';
import { checkModuleContract, type ContractCase } from './contract.js';

// The layer contract over EVERY Module class nn exports (enumerated from the namespace, so a new
// class without a case fails here): output shape, parameter count, state round trip through a
// safetensors checkpoint, same seed ⇒ same result, one SGD step lowers a loss, unknown option
// keys refused.

type Case = ContractCase;

const g = (s: number): Generator => new Generator(s);
const x = (C = 8, T = 4): Tensor => randn([2, T, C], { rng: g(100 + C + T) });
const out = (r: Tensor | { output: Tensor }): Tensor => (r instanceof Tensor ? r : r.output);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyModule = any;
const blocks = (s: number): nn.Block[] => [new nn.FeedForwardBlock({ embedDim: 8, hidden: 8, dropout: 0, rng: g(s) }), new nn.ConvBlock({ embedDim: 8, kernelSize: 3, rng: g(s + 1) })];

const CASES: Record<string, Case> = {
  Linear: { make: (s, e) => new nn.Linear(8, 3, { rng: g(s), ...e }), run: (m: AnyModule) => m.forward(x()), outShape: [2, 4, 3], numParameters: 27 },
  Conv1d: { make: (s, e) => new nn.Conv1d(2, 3, 3, { rng: g(s), padding: 1, ...e }), run: (m: AnyModule) => m.forward(randn([2, 2, 5], { rng: g(9) })), outShape: [2, 3, 5], numParameters: 21 },
  Conv2d: { make: (s, e) => new nn.Conv2d(2, 2, 3, { rng: g(s), ...e }), run: (m: AnyModule) => m.forward(randn([1, 2, 4, 4], { rng: g(9) })), outShape: [1, 2, 2, 2], numParameters: 38 },
  Dropout: { make: () => new nn.Dropout(0.5), run: (m: AnyModule) => m.forward(x()), outShape: [2, 4, 8], numParameters: 0, seeded: false, options: false },
  Embedding: { make: (s, e) => new nn.Embedding(10, 4, { rng: g(s), ...e }), run: (m: AnyModule) => m.forward(randint(0, 10, [2, 3], { rng: g(9) })), outShape: [2, 3, 4], numParameters: 40 },
  GRU: { make: (s, e) => new nn.GRU({ inputSize: 8, hiddenSize: 3, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 4, 3], numParameters: 117 },
  LayerNorm: {
    make: (_s, e) => { const l = new nn.LayerNorm(8, { ...e }); l.weight!.data.set([1, 2, 3, 4, 5, 6, 7, 8]); return l; },
    run: (m: AnyModule) => m.forward(x()), outShape: [2, 4, 8], numParameters: 16, seeded: false,
  },
  SpectralReparam: {
    make: (s) => new nn.SpectralReparam(3, 8, g(s)),
    run: (m: AnyModule) => m.apply(randn([3, 8], { rng: g(4) }), false), outShape: [3, 8], numParameters: 12, seeded: false, options: false,
  },
  Attention: { make: (s, e) => new nn.Attention({ score: 'general', queryDim: 8, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x(), x(8, 5), x(8, 5))), outShape: [2, 4, 8], numParameters: 64 },
  AttentionPooling: { make: (s, e) => new nn.AttentionPooling({ embedDim: 8, numHeads: 2, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 8], numParameters: 296 },
  ContextAttention: { make: (s, e) => new nn.ContextAttention({ embedDim: 8, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 8], numParameters: 80 },
  CrossModalLayer: { make: (s, e) => new nn.CrossModalLayer({ embedDim: 8, numHeads: 2, sourceDim: 4, dimFeedforward: 8, dropout: 0, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x(), x(4, 5))), outShape: [2, 4, 8], numParameters: 408 },
  CrossModalTransformer: { make: (s, e) => new nn.CrossModalTransformer({ embedDim: 8, numHeads: 2, sourceDim: 4, dimFeedforward: 8, dropout: 0, numLayers: 2, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x(), x(4, 5))), outShape: [2, 4, 8], numParameters: 832 },
  GatedAttentionPooling: { make: (s, e) => new nn.GatedAttentionPooling({ embedDim: 8, hiddenDim: 4, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 8], numParameters: 77 },
  HierarchicalAttentionNetwork: {
    make: (s, e) => new nn.HierarchicalAttentionNetwork({ vocabSize: 12, embedDim: 8, hiddenSize: 3, numClasses: 2, rng: g(s), ...e }),
    run: (m: AnyModule) => out(m.forward(randint(1, 12, [2, 3, 4], { rng: g(9) }))), outShape: [2, 2], numParameters: 638,
  },
  LearnedPositionalEmbedding: { make: (s, e) => new nn.LearnedPositionalEmbedding({ maxLen: 6, embedDim: 8, rng: g(s), ...e }), run: (m: AnyModule) => m.forward(x()), outShape: [2, 4, 8], numParameters: 48 },
  LinearSelfAttention: { make: (s, e) => new nn.LinearSelfAttention({ embedDim: 8, numHeads: 2, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 4, 8], numParameters: 288 },
  LinformerSelfAttention: { make: (s, e) => new nn.LinformerSelfAttention({ embedDim: 8, numHeads: 2, maxLen: 6, projectedLen: 3, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 4, 8], numParameters: 324 },
  MultiHeadAttention: { make: (s, e) => new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 4, 8], numParameters: 288 },
  NadarayaWatson: {
    make: (_s, e) => new nn.NadarayaWatson({ learned: true, ...e }),
    run: (m: AnyModule) => out(m.forward(randn([2, 4], { rng: g(3) }), randn([2, 5], { rng: g(4) }), randn([2, 5], { rng: g(5) }))), outShape: [2, 4], numParameters: 1, seeded: false,
  },
  PerceiverEncoder: {
    make: (s, e) => new nn.PerceiverEncoder({ numLatents: 3, latentDim: 8, inputDim: 4, latentHeads: 2, numLatentLayers: 1, dimFeedforward: 8, rng: g(s), ...e }),
    run: (m: AnyModule) => out(m.forward(x(4, 5))), outShape: [2, 3, 8], numParameters: 912,
  },
  PerformerAttention: {
    make: (s, e) => new nn.PerformerAttention({ headDim: 4, numFeatures: 8, rng: g(s), ...e }),
    run: (m: AnyModule) => { const q = randn([2, 2, 4, 4], { rng: g(3) }); return out(m.forward(q, q, q)); }, outShape: [2, 2, 4, 4], numParameters: 0,
  },
  SinusoidalPositionalEncoding: { make: (_s, e) => new nn.SinusoidalPositionalEncoding({ embedDim: 8, ...e }), run: (m: AnyModule) => m.forward(x()), outShape: [2, 4, 8], numParameters: 0, seeded: false },
  SparseSelfAttention: { make: (s, e) => new nn.SparseSelfAttention({ embedDim: 8, numHeads: 2, pattern: 'window', window: 1, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 4, 8], numParameters: 288 },
  TransformerDecoder: { make: (s, e) => new nn.TransformerDecoder({ embedDim: 8, numHeads: 2, numLayers: 1, dimFeedforward: 8, dropout: 0, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x(), x(8, 5))), outShape: [2, 4, 8], numParameters: 768 },
  TransformerDecoderLayer: { make: (s, e) => new nn.TransformerDecoderLayer({ embedDim: 8, numHeads: 2, dimFeedforward: 8, dropout: 0, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x(), x(8, 5))), outShape: [2, 4, 8], numParameters: 768 },
  TransformerEncoder: { make: (s, e) => new nn.TransformerEncoder({ embedDim: 8, numHeads: 2, numLayers: 2, dimFeedforward: 8, dropout: 0, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 4, 8], numParameters: 928 },
  TransformerEncoderLayer: { make: (s, e) => new nn.TransformerEncoderLayer({ embedDim: 8, numHeads: 2, dimFeedforward: 8, dropout: 0, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 4, 8], numParameters: 464 },
  ConvBlock: { make: (s, e) => new nn.ConvBlock({ embedDim: 8, kernelSize: 3, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 4, 8], numParameters: 200 },
  FeedForwardBlock: { make: (s, e) => new nn.FeedForwardBlock({ embedDim: 8, hidden: 8, dropout: 0, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 4, 8], numParameters: 144 },
  Fusion: { make: (s, e) => new nn.Fusion({ embedDim: 8, mechanisms: blocks(s), rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 4, 8], numParameters: 362 },
  LinearAttentionBlock: { make: (s, e) => new nn.LinearAttentionBlock({ embedDim: 8, numHeads: 2, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 4, 8], numParameters: 288 },
  LocalAttentionBlock: { make: (s, e) => new nn.LocalAttentionBlock({ embedDim: 8, numHeads: 2, window: 1, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 4, 8], numParameters: 288 },
  Parallel: { make: (s, e) => new nn.Parallel({ embedDim: 8, branches: blocks(s), merge: 'concat', rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 4, 8], numParameters: 480 },
  SelfAttentionBlock: { make: (s, e) => new nn.SelfAttentionBlock({ embedDim: 8, numHeads: 2, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 4, 8], numParameters: 288 },
  Serial: { make: (s, e) => new nn.Serial({ embedDim: 8, layers: blocks(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 4, 8], numParameters: 376 },
  TransformerBlock: { make: (s, e) => new nn.TransformerBlock({ embedDim: 8, numHeads: 2, dimFeedforward: 8, dropout: 0, rng: g(s), ...e }), run: (m: AnyModule) => out(m.forward(x())), outShape: [2, 4, 8], numParameters: 464 },
};

const moduleClasses = Object.entries(nn).filter(([, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof Module).map(([k]) => k).sort();

test('every Module class nn exports has a contract case (add one for a new class)', () => {
  assert.deepEqual(moduleClasses.filter((k) => !(k in CASES)), [], 'classes without a case');
  assert.deepEqual(Object.keys(CASES).filter((k) => !moduleClasses.includes(k)), [], 'cases for classes nn no longer exports');
});

for (const name of moduleClasses) {
  const c = CASES[name];
  if (c) test(`${name} keeps the layer contract`, () => checkModuleContract(name, c));
}

// ---------- the attention family's forward contract ----------
// Every layer that attends returns { output, weights? } — weights present iff needWeights — and
// takes the shared options (keyMask, causal, needWeights, memoryKeyMask for cross-attention)
// under those names; an unknown key, or a concept the layer cannot honour, is a ValueError.

interface Family {
  /** Calls forward on fixed inputs with `options` as its options object. */
  call: (m: AnyModule, options: Record<string, unknown>) => unknown;
  /** The shared keys it honours (needWeights always). */
  keys: ('keyMask' | 'causal' | 'memoryKeyMask')[];
}

const q4 = (): Tensor => randn([2, 2, 4, 4], { rng: g(3) });
const self = (T = 4, C = 8): Family['call'] => (m, o) => m.forward(x(C, T), o);
const FAMILY: Record<string, Family> = {
  MultiHeadAttention: { call: (m, o) => m.forward(x(), undefined, undefined, o), keys: ['keyMask', 'causal'] },
  Attention: { call: (m, o) => m.forward(x(), x(8, 5), x(8, 5), o), keys: ['keyMask', 'causal'] },
  AttentionPooling: { call: self(), keys: ['keyMask'] },
  GatedAttentionPooling: { call: self(), keys: ['keyMask'] },
  NadarayaWatson: { call: (m, o) => m.forward(randn([2, 4], { rng: g(3) }), randn([2, 5], { rng: g(4) }), randn([2, 5], { rng: g(5) }), o), keys: [] },
  ContextAttention: { call: self(), keys: ['keyMask'] },
  HierarchicalAttentionNetwork: { call: (m, o) => m.forward(randint(1, 12, [2, 3, 4], { rng: g(9) }), o), keys: ['keyMask'] },
  TransformerEncoderLayer: { call: self(), keys: ['keyMask', 'causal'] },
  TransformerEncoder: { call: self(), keys: ['keyMask', 'causal'] },
  TransformerDecoderLayer: { call: (m, o) => m.forward(x(), x(8, 5), o), keys: ['keyMask', 'causal', 'memoryKeyMask'] },
  TransformerDecoder: { call: (m, o) => m.forward(x(), x(8, 5), o), keys: ['keyMask', 'causal', 'memoryKeyMask'] },
  SparseSelfAttention: { call: self(), keys: ['keyMask'] },
  LinearSelfAttention: { call: self(), keys: ['keyMask', 'causal'] },
  LinformerSelfAttention: { call: self(), keys: ['keyMask'] },
  PerformerAttention: { call: (m, o) => m.forward(q4(), q4(), q4(), o), keys: ['keyMask', 'causal'] },
  CrossModalLayer: { call: (m, o) => m.forward(x(), x(4, 5), o), keys: ['memoryKeyMask'] },
  CrossModalTransformer: { call: (m, o) => m.forward(x(), x(4, 5), o), keys: ['memoryKeyMask'] },
  PerceiverEncoder: { call: (m, o) => m.forward(x(4, 5), o), keys: ['keyMask'] },
  SelfAttentionBlock: { call: self(), keys: ['keyMask'] },
  ConvBlock: { call: self(), keys: ['keyMask'] },
  FeedForwardBlock: { call: self(), keys: ['keyMask'] },
  LocalAttentionBlock: { call: self(), keys: ['keyMask'] },
  LinearAttentionBlock: { call: self(), keys: ['keyMask'] },
  TransformerBlock: { call: self(), keys: ['keyMask'] },
  Parallel: { call: self(), keys: ['keyMask'] },
  Serial: { call: self(), keys: ['keyMask'] },
  Fusion: { call: self(), keys: ['keyMask'] },
};
/** nn's Module classes outside the attention family (layers that do not attend). */
const NOT_ATTENTION = ['Conv1d', 'Conv2d', 'Dropout', 'Embedding', 'GRU', 'LayerNorm', 'LearnedPositionalEmbedding', 'Linear', 'SinusoidalPositionalEncoding', 'SpectralReparam'];

test('every nn Module class is in the attention family or named as not attending', () => {
  assert.deepEqual(moduleClasses.filter((k) => !(k in FAMILY) && !NOT_ATTENTION.includes(k)), [], 'classes in neither list');
});

for (const [name, f] of Object.entries(FAMILY)) {
  test(`${name} keeps the attention-family contract: { output, weights? }, shared option names, unknown keys refused`, () => {
    const m = CASES[name]!.make(1);
    m.eval();
    const plain = f.call(m, {}) as Record<string, unknown>;
    assert.ok(plain && typeof plain === 'object' && !(plain instanceof Tensor), 'forward returns an object');
    assert.ok(plain.output instanceof Tensor, 'output is a Tensor');
    assert.ok(!('weights' in plain), 'no weights unless asked');
    const asked = f.call(m, { needWeights: true }) as Record<string, unknown>;
    assert.ok(asked.weights !== undefined && asked.weights !== null, 'weights with needWeights');
    assertAllClose(asked.output as Tensor, plain.output as Tensor, { rtol: 1e-5, atol: 1e-6, msg: 'asking for weights leaves the output' });
    assert.ok(!('weights' in (f.call(m, { needWeights: false }) as object)), 'needWeights: false gives no weights');
    const refused = (o: Record<string, unknown>, key: string): void => assert.throws(() => f.call(m, o),
      (e: unknown) => e instanceof ValueError && new RegExp(`${name}\\.forward: unknown option '${key}'`).test(e.message), `${key} refused`);
    refused({ bogusOption: 1 }, 'bogusOption');
    for (const key of ['keyMask', 'causal', 'memoryKeyMask'] as const) {
      if (f.keys.includes(key)) continue;
      // a concept the layer cannot honour is refused, never ignored
      refused({ [key]: key === 'causal' ? true : null }, key);
    }
    if (f.keys.includes('causal')) f.call(m, { causal: true });
  });
}

// ---------- the shared options do what they say ----------
// causal: query i reads keys j ≤ i, so changing the last position leaves every earlier output as
// it was; keyMask: a masked key changes no real position's output. Inputs: the time axis is the
// second last ([B, T, C], or Performer's [B, H, T, D]).

/** forward on input `t` (self-attention: query = key = value) with options `o`; the output. */
type Probe = (m: AnyModule, t: Tensor, o: Record<string, unknown>) => Tensor;
const memory = x(8, 5);
const PROBES: Record<string, { input: () => Tensor; run: Probe }> = {
  MultiHeadAttention: { input: x, run: (m, t, o) => m.forward(t, undefined, undefined, o).output },
  Attention: { input: x, run: (m, t, o) => m.forward(t, t, t, o).output },
  PerformerAttention: { input: q4, run: (m, t, o) => m.forward(t, t, t, o).output },
  TransformerEncoderLayer: { input: x, run: (m, t, o) => m.forward(t, o).output },
  TransformerEncoder: { input: x, run: (m, t, o) => m.forward(t, o).output },
  TransformerDecoderLayer: { input: x, run: (m, t, o) => m.forward(t, memory, o).output },
  TransformerDecoder: { input: x, run: (m, t, o) => m.forward(t, memory, o).output },
  LinearSelfAttention: { input: x, run: (m, t, o) => m.forward(t, o).output },
};

/** t with its last time position (axis ndim − 2) shifted by 3. */
function changeLast(t: Tensor): Tensor {
  const T = t.shape[t.ndim - 2]!, W = t.shape[t.ndim - 1]!;
  const data = Float32Array.from(t.data as Float32Array);
  for (let i = 0; i < data.length; i++) if (Math.floor(i / W) % T === T - 1) data[i] += 3;
  return new Tensor(data, [...t.shape]);
}
/** The largest change between a and b over time positions before the last. */
function earlierChange(a: Tensor, b: Tensor): number {
  const T = a.shape[a.ndim - 2]!, W = a.shape[a.ndim - 1]!;
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) if (Math.floor(i / W) % T < T - 1) worst = Math.max(worst, Math.abs((a.data[i] as number) - (b.data[i] as number)));
  return worst;
}

test('every layer that takes causal has a causal probe', () => {
  assert.deepEqual(Object.keys(FAMILY).filter((k) => FAMILY[k]!.keys.includes('causal')).sort(), Object.keys(PROBES).sort());
});

for (const [name, p] of Object.entries(PROBES)) {
  test(`${name}: causal leaves earlier outputs unchanged when the last position changes`, () => {
    const m = CASES[name]!.make(1);
    m.eval();
    const t = p.input(), u = changeLast(t);
    const worst = earlierChange(p.run(m, t, { causal: true }), p.run(m, u, { causal: true }));
    assert.ok(worst < 1e-5, `causal: an earlier output moved by ${worst}`);
    if (!name.startsWith('TransformerDecoder')) {   // the decoder is causal by default
      assert.ok(earlierChange(p.run(m, t, {}), p.run(m, u, {})) > 1e-3, 'without causal the last position reaches the others (the probe can see a leak)');
    }
  });
}

test('keyMask: a masked last key changes no real position of any layer that takes keyMask', () => {
  const keyMask = new Tensor(Uint8Array.from([1, 1, 1, 0, 1, 1, 1, 0]), [2, 4]);   // Uint8Array: bool
  for (const [name, f] of Object.entries(FAMILY)) {
    if (!f.keys.includes('keyMask') || name === 'HierarchicalAttentionNetwork' || name === 'PerceiverEncoder' || name === 'PerformerAttention') continue;
    const m = CASES[name]!.make(1);
    m.eval();
    const run = (t: Tensor): Tensor => (PROBES[name]?.run ?? ((mm: AnyModule, tt: Tensor, o: Record<string, unknown>) => mm.forward(tt, o).output))(m, t, { keyMask });
    const t = x(), a = run(t), b = run(changeLast(t));
    // pooled outputs [B, C] have no time axis: every entry must stay
    const worst = a.ndim === 2 ? Math.max(...Array.from(a.data as Float32Array, (v, i) => Math.abs(v - (b.data[i] as number)))) : earlierChange(a, b);
    assert.ok(worst < 1e-5, `${name}: a real output moved by ${worst} when a masked key changed`);
  }
});
