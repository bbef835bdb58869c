/**
 * Every export option on every exportable model: the model classes come from the exporter
 * table (`EXPORTERS`) and the options from the typed option record (`EXPORT_OPTIONS`), and both
 * case tables below are mapped types over them, so a new model or a new option does not
 * compile until it is covered here. For each model × option × value, the option is either
 * applied — the graph runs in ONNX Runtime with exactly the inputs the option asks for and
 * matches attnkit's forward under the same option — or refused with a ConfigError naming
 * exportOnnx, the option and the model. Nothing in between: no option is dropped silently.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError, Generator, ValueError, data, exportOnnx, fusionOnnxInputs, models, nn, sigmoid, tensor,
  type ExportOptions, type Module, type Tensor,
} from '../../src/index.js';
import { EXPORTERS, EXPORT_OPTIONS, exporterOf, type ExportOptionName, type ExportableName, type LayerExport } from '../../src/onnx/export.js';
import { compare, maskFor, x3 } from './ortCompare.js';

const B = 3, T = 5, S = 7;

/** What one model gives for some options: the graph inputs those options ask for, and attnkit's outputs. */
interface Run { feeds: Record<string, Tensor>; expected: Record<string, Tensor> }

interface Case<M extends Module> {
  /** The width of x the case feeds (when `inputDim` is not given). */
  C: number;
  make(rng: Generator): M;
  run(m: M, o: ExportOptions): Run;
}

type ModelOf<K extends ExportableName> = (typeof EXPORTERS)[K] extends LayerExport<infer M extends Module> ? M : never;

/** x [B, T, inputDim ?? C], and keyMask when the layer takes one by default and `keyMask` is not false. */
function seq<M extends Module>(C: number, takesMask: boolean, make: (rng: Generator) => M, forward: (m: M, x: Tensor, keyMask: Tensor | null, o: ExportOptions) => Tensor): Case<M> {
  return {
    C, make,
    run: (m, o) => {
      const x = x3(B, T, o.inputDim ?? C, 1), keyMask = takesMask && (o.keyMask ?? true) ? maskFor(B, T) : null;
      const feeds: Record<string, Tensor> = keyMask ? { x, keyMask } : { x };
      return { feeds, expected: { y: forward(m, x, keyMask, o) } };
    },
  };
}

/** x [B, T, C], source [B, S, sourceDim] and sourceKeyMask unless `keyMask: false`. */
function crossRun(C: number, sourceDim: number, o: ExportOptions, forward: (x: Tensor, source: Tensor, sourceKeyMask: Tensor | null) => Tensor): Run {
  const x = x3(B, T, C, 2), source = x3(B, S, sourceDim, 3), sourceKeyMask = o.keyMask ?? true ? maskFor(B, S) : null;
  return { feeds: { x, source, ...(sourceKeyMask ? { sourceKeyMask } : {}) }, expected: { y: forward(x, source, sourceKeyMask) } };
}

/** x [B, T, C] and keyMask unless `keyMask: false` → y and weights. */
function poolRun(C: number, o: ExportOptions, forward: (x: Tensor, keyMask: Tensor | null) => { output: Tensor; weights?: Tensor }): Run {
  const x = x3(B, T, C, 4), keyMask = o.keyMask ?? true ? maskFor(B, T) : null;
  const r = forward(x, keyMask);
  return { feeds: keyMask ? { x, keyMask } : { x }, expected: { y: r.output, weights: r.weights! } };
}

function decoderRun(m: nn.TransformerDecoderLayer | nn.TransformerDecoder, o: ExportOptions): Run {
  const x = x3(B, T, 8, 5), memory = x3(B, S, 8, 6), masked = o.keyMask ?? true;
  const keyMask = masked ? maskFor(B, T) : null, memoryKeyMask = masked ? maskFor(B, S) : null;
  const y = m.forward(x, memory, { tgtKeyMask: keyMask, memoryKeyMask, causal: o.causal }).output;
  return { feeds: { x, memory, ...(masked ? { keyMask: keyMask!, memoryKeyMask: memoryKeyMask! } : {}) }, expected: { y } };
}

const fusionRecords: data.DataRecord[] = Array.from({ length: 12 }, (_, i) => ({ a: i % 4 === 1 ? null : i / 3 - 1, t: ['good day', 'bad', 'fine good', ''][i % 4], y: i % 2 }));
const fusionPre = data.Preprocessor.fit({ fields: [{ name: 'a', kind: 'numeric' }, { name: 't', kind: 'text', minCount: 1 }], targets: [{ name: 'y', task: 'binary' }] }, fusionRecords);

const block = (rng: Generator): nn.Block[] => [new nn.SelfAttentionBlock({ embedDim: 8, numHeads: 2, causal: true, rng }), new nn.ConvBlock({ embedDim: 8, kernelSize: 3, rng })];
const blockForward = (m: nn.Block, x: Tensor, keyMask: Tensor | null): Tensor => m.forward(x, { keyMask }).output;

/** One case per class of the exporter table. */
const CASES: { [K in ExportableName]: Case<ModelOf<K>> } = {
  Linear: seq(6, false, (rng) => new nn.Linear(6, 4, { rng }), (m, x) => m.forward(x)),
  LayerNorm: seq(6, false, () => new nn.LayerNorm(6), (m, x) => m.forward(x)),
  MultiHeadAttention: {
    C: 8, make: (rng) => new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rope: true, rng }),
    run: (m, o) => (o.cross
      ? crossRun(8, 8, o, (x, src, keyMask) => m.forward(x, src, src, { keyMask, causal: o.causal }).output)
      : seq(8, true, () => m, (_, x, keyMask) => m.forward(x, x, x, { keyMask, causal: o.causal }).output).run(m, o)),
  },
  TransformerEncoderLayer: seq(8, true, (rng) => new nn.TransformerEncoderLayer({ dModel: 8, nhead: 2, dimFeedforward: 12, dropout: 0, rng }), (m, x, keyMask, o) => m.forward(x, { keyMask, causal: o.causal }).output),
  TransformerEncoder: seq(8, true, (rng) => new nn.TransformerEncoder({ dModel: 8, nhead: 2, dimFeedforward: 12, numLayers: 2, normFirst: true, finalNorm: true, dropout: 0, alibi: true, rng }), (m, x, keyMask, o) => m.forward(x, { keyMask, causal: o.causal }).output),
  SparseSelfAttention: seq(8, true, (rng) => new nn.SparseSelfAttention({ embedDim: 8, numHeads: 2, pattern: 'window', window: 1, rng }), (m, x, keyMask) => m.forward(x, { keyMask }).output),
  // Performer features (the elu kernel is LinearAttentionBlock's): per-sample stabilisers over real keys
  LinearSelfAttention: seq(8, true, (rng) => new nn.LinearSelfAttention({ embedDim: 8, numHeads: 2, kernel: 'performer', numFeatures: 16, rng }), (m, x, keyMask) => m.forward(x, { keyMask }).output),
  LinformerSelfAttention: seq(8, true, (rng) => new nn.LinformerSelfAttention({ embedDim: 8, numHeads: 2, maxLen: 12, projectedLen: 4, rng }), (m, x, keyMask) => m.forward(x, { keyMask }).output),
  SelfAttentionBlock: seq(8, true, (rng) => new nn.SelfAttentionBlock({ embedDim: 8, numHeads: 2, causal: true, rng }), blockForward),
  ConvBlock: seq(8, true, (rng) => new nn.ConvBlock({ embedDim: 8, kernelSize: 2, causal: true, rng }), blockForward),
  FeedForwardBlock: seq(8, true, (rng) => new nn.FeedForwardBlock({ embedDim: 8, hidden: 12, rng }), blockForward),
  LocalAttentionBlock: seq(8, true, (rng) => new nn.LocalAttentionBlock({ embedDim: 8, numHeads: 2, window: 1, rng }), blockForward),
  LinearAttentionBlock: seq(8, true, (rng) => new nn.LinearAttentionBlock({ embedDim: 8, numHeads: 2, rng }), blockForward),
  TransformerBlock: seq(8, true, (rng) => new nn.TransformerBlock({ embedDim: 8, numHeads: 2, rng }), blockForward),
  Serial: seq(8, true, (rng) => new nn.Serial({ embedDim: 8, layers: block(rng) }), blockForward),
  Parallel: seq(8, true, (rng) => new nn.Parallel({ embedDim: 8, merge: 'gated', branches: block(rng), rng }), blockForward),
  Fusion: seq(8, true, (rng) => new nn.Fusion({ embedDim: 8, gate: 'token', mechanisms: block(rng), rng }), blockForward),
  Dropout: seq(8, true, (rng) => new nn.Dropout(0.5, rng), (m, x) => m.forward(x)),
  SinusoidalPositionalEncoding: seq(6, false, () => new nn.SinusoidalPositionalEncoding({ embedDim: 6 }), (m, x) => m.forward(x)),
  LearnedPositionalEmbedding: seq(8, false, (rng) => new nn.LearnedPositionalEmbedding({ maxLen: 12, embedDim: 8, rng }), (m, x) => m.forward(x)),
  AttentionPooling: {
    C: 8, make: (rng) => new nn.AttentionPooling({ embedDim: 8, numHeads: 2, rng }),
    run: (m, o) => seq(8, true, () => m, (_, x, keyMask) => m.forward(x, { keyMask }).output).run(m, o),
  },
  GatedAttentionPooling: { C: 6, make: (rng) => new nn.GatedAttentionPooling({ inDim: 6, hiddenDim: 5, rng }), run: (m, o) => poolRun(6, o, (x, keyMask) => m.forward(x, { keyMask, needWeights: true })) },
  ContextAttention: { C: 6, make: (rng) => new nn.ContextAttention({ dim: 6, attentionDim: 4, rng }), run: (m, o) => poolRun(6, o, (x, keyMask) => m.forward(x, { keyMask, needWeights: true })) },
  Attention: {
    C: 6, make: (rng) => new nn.Attention({ score: 'additive', queryDim: 6, keyDim: 5, hiddenDim: 4, rng }),
    run: (m, o) => {
      const query = x3(B, T, 6, 7), key = x3(B, S, 5, 8), value = x3(B, S, o.valueDim ?? 5, 9), keyMask = o.keyMask ?? true ? maskFor(B, S) : null;
      const r = m.forward(query, key, value, { keyMask, needWeights: true });
      return { feeds: { query, key, value, ...(keyMask ? { keyMask } : {}) }, expected: { y: r.output, weights: r.weights! } };
    },
  },
  CrossModalLayer: {
    C: 8, make: (rng) => new nn.CrossModalLayer({ dModel: 8, nhead: 2, sourceDim: 6, dimFeedforward: 12, dropout: 0, rng }),
    run: (m, o) => crossRun(8, 6, o, (x, src, sourceKeyMask) => m.forward(x, src, { sourceKeyMask }).output),
  },
  CrossModalTransformer: {
    C: 8, make: (rng) => new nn.CrossModalTransformer({ dModel: 8, nhead: 2, sourceDim: 6, dimFeedforward: 12, dropout: 0, numLayers: 2, rng }),
    run: (m, o) => crossRun(8, 6, o, (x, src, sourceKeyMask) => m.forward(x, src, { sourceKeyMask }).output),
  },
  TransformerDecoderLayer: { C: 8, make: (rng) => new nn.TransformerDecoderLayer({ dModel: 8, nhead: 2, dimFeedforward: 12, dropout: 0, rng }), run: decoderRun },
  TransformerDecoder: { C: 8, make: (rng) => new nn.TransformerDecoder({ dModel: 8, nhead: 2, dimFeedforward: 12, numLayers: 2, dropout: 0, rope: true, rng }), run: decoderRun },
  PerceiverEncoder: {
    C: 6, make: (rng) => new nn.PerceiverEncoder({ numLatents: 3, latentDim: 8, inputDim: 6, crossHeads: 2, latentHeads: 2, numLatentLayers: 1, dimFeedforward: 12, rng }),
    run: (m, o) => seq(6, true, () => m, (_, x, keyMask) => m.forward(x, { keyMask }).output).run(m, o),
  },
  HierarchicalAttentionNetwork: {
    C: 8, make: (rng) => new nn.HierarchicalAttentionNetwork({ vocabSize: 20, embedDim: 8, encoder: 'transformer', numHeads: 2, numLayers: 1, dimFeedforward: 12, dropout: 0, numClasses: 3, rng }),
    run: (m) => {
      const g = new Generator(10);
      const ids = tensor(Int32Array.from({ length: 2 * 3 * 4 }, (_, i) => (i % 4 < 4 - (i % 3) && Math.floor(i / 4) !== 1 ? g.int(1, 20) : 0)), { shape: [2, 3, 4] });
      const wordMask = tensor(Uint8Array.from(ids.data as Int32Array, (v) => (v !== 0 ? 1 : 0)), { shape: [2, 3, 4] });
      const r = m.forward(ids, { keyMask: wordMask, needWeights: true });
      return { feeds: { ids, keyMask: wordMask }, expected: { y: r.output, wordWeights: r.weights!.word, sentenceWeights: r.weights!.sentence } };
    },
  },
  FusionModel: {
    C: 8, make: (rng) => new models.FusionModel(fusionPre.fieldInfo(), fusionPre.targetInfo(), { strategy: 'early', dim: 8, heads: 2, layers: 1 }, rng),
    run: (m) => {
      const batch = fusionPre.encode(fusionRecords).dataset.batch([0, 1, 2, 3, 4]);
      const feeds = Object.fromEntries(Object.entries(fusionOnnxInputs(m, batch)).map(([k, v]) => [k, tensor(v.type === 'int64' ? Int32Array.from(v.data as BigInt64Array, Number) : v.data as Float32Array | Uint8Array, { shape: v.dims })]));
      const y = m.forward(batch).outputs.y;
      return { feeds, expected: { y, 'y.probability': sigmoid(y) } };
    },
  },
};

/** The values each option is tried with (`inputDim`: the case's width, and one more). */
const OPTION_VALUES: { [K in ExportOptionName]-?: (c: Case<Module>) => NonNullable<ExportOptions[K]>[] } = {
  inputDim: (c) => [c.C, c.C + 1],
  keyMask: () => [true, false],
  cross: () => [true, false],
  causal: () => [true, false],
  valueDim: () => [3],
};

test('the case table covers the exporter table and the option table', () => {
  assert.deepEqual(Object.keys(CASES).sort(), Object.keys(EXPORTERS).sort());
  assert.deepEqual(Object.keys(OPTION_VALUES).sort(), Object.keys(EXPORT_OPTIONS).sort());
});

test('every export option (alone and in pairs) on every exportable model is applied (ONNX Runtime = attnkit) or refused by name', async () => {
  let applied = 0, refused = 0;
  for (const [name, c] of Object.entries(CASES) as [ExportableName, Case<Module>][]) {
    const m = c.make(new Generator(11)).eval();
    assert.equal(m.constructor.name, name, 'the case builds the class it is named after');
    const support = exporterOf(m)!.options(m);
    const accepts = (k: string, v: unknown): boolean => {
      const s = support[k as ExportOptionName];
      return s === 'any' || (s as readonly unknown[] | undefined)?.includes(v) === true;
    };
    const singles: [ExportOptionName, unknown][] = (Object.keys(OPTION_VALUES) as ExportOptionName[]).flatMap((k) => OPTION_VALUES[k](c).map((v): [ExportOptionName, unknown] => [k, v]));
    // every option alone (applied or refused), then every pair of applied options together
    const trials: ExportOptions[] = [{}, ...singles.map(([k, v]) => ({ [k]: v }))];
    const applicable = singles.filter(([k, v]) => accepts(k, v));
    applicable.forEach(([k1, v1], i) => applicable.slice(i + 1).forEach(([k2, v2]) => { if (k1 !== k2) trials.push({ [k1]: v1, [k2]: v2 }); }));
    for (const o of trials) {
      const label = JSON.stringify(o);
      const refusedBy = Object.entries(o).find(([k, v]) => !accepts(k, v));
      if (!refusedBy) {
        await compare(`${name} ${label}`, exportOnnx(m, o), ...Object.values(c.run(m, o)) as [Run['feeds'], Run['expected']], 1e-5);
        applied++;
      } else {
        const [k] = refusedBy;
        assert.throws(() => exportOnnx(m, o), (e: Error) => e instanceof ConfigError && e.message.startsWith('exportOnnx: ') && e.message.includes(`'${k}`) && e.message.includes(name),
          `${name} ${label} is refused with an error naming exportOnnx, the option and the model`);
        refused++;
      }
    }
  }
  assert.ok(applied > 60 && refused > 60, `applied ${applied}, refused ${refused}`);
});

test('the options that matter are applied where they belong: causal self- and cross-attention, masks off, value width', () => {
  const supportOf = (m: Module): Record<string, unknown> => exporterOf(m)!.options(m);
  const rng = new Generator(1);
  for (const m of [new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rng }), new nn.TransformerEncoderLayer({ dModel: 8, nhead: 2, rng }), new nn.TransformerDecoder({ dModel: 8, nhead: 2, numLayers: 1, rng })]) {
    assert.equal(supportOf(m).causal, 'any', `${m.constructor.name} applies causal`);
  }
  assert.deepEqual(supportOf(new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, kDim: 6, vDim: 6, rng })).cross, [true], 'kDim ≠ C is cross-attention only');
  assert.deepEqual(supportOf(new nn.Linear(4, 4, { rng })).keyMask, [false], 'Linear takes no key mask');
  assert.equal(supportOf(new nn.Attention({ score: 'dot', queryDim: 4, keyDim: 4, rng })).valueDim, 'any');
});

test('bad option values and unknown options are refused', () => {
  const m = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: new Generator(1) });
  assert.throws(() => exportOnnx(m, { causal: 'yes' as unknown as boolean }), (e: Error) => e instanceof ValueError && /exportOnnx: option 'causal' must be a boolean, got "yes"/.test(e.message));
  assert.throws(() => exportOnnx(m, { inputDim: 0 }), (e: Error) => e instanceof ValueError && /exportOnnx: option 'inputDim' must be a positive integer, got 0/.test(e.message));
  assert.throws(() => exportOnnx(m, { casual: true } as ExportOptions), (e: Error) => e instanceof ValueError && /exportOnnx: unknown option 'casual' \(accepted: inputDim, keyMask, cross, causal, valueDim\)/.test(e.message));
  assert.throws(() => exportOnnx(m, { inputDim: 6 }), /exportOnnx: option 'inputDim: 6' is not supported by MultiHeadAttention \(accepted: 8\)/);
  const cross = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, kDim: 6, vDim: 6, rng: new Generator(1) });
  assert.throws(() => exportOnnx(cross, { cross: false }), /exportOnnx: option 'cross: false' is not supported by MultiHeadAttention \(accepted: true\)/);
  const lin = new nn.LinearSelfAttention({ embedDim: 8, numHeads: 2, rng: new Generator(1) });
  assert.throws(() => exportOnnx(lin, { causal: true }), /exportOnnx: option 'causal' is not supported by LinearSelfAttention \(options it applies: inputDim, keyMask\)/);
  // hostile values: a BigInt (JSON.stringify throws TypeError on it) and a megabyte string give short ValueErrors
  assert.throws(() => exportOnnx(m, { inputDim: 8n as unknown as number }), (e: Error) => e instanceof ValueError && /exportOnnx: option 'inputDim' must be a positive integer, got 8n/.test(e.message));
  assert.throws(() => exportOnnx(m, { causal: 'y'.repeat(1e6) as unknown as boolean }), (e: Error) => e instanceof ValueError && e.message.length < 300);
  let deep: unknown = true;
  for (let i = 0; i < 1e6; i++) deep = [deep];
  assert.throws(() => exportOnnx(m, { keyMask: deep as boolean }), (e: Error) => e instanceof ValueError && e.message.length < 300);
});

test('null options are no options', async () => {
  const m = new nn.LayerNorm(6);
  const x = x3(2, 3, 6, 1);
  await compare('LayerNorm, null options', exportOnnx(m, null as unknown as ExportOptions), { x }, { y: m.forward(x) }, 1e-5);
});
