/**
 * ONNX export (opset 17, our protobuf writer): inference graphs with dynamic batch and sequence
 * axes, meant to be run by ONNX Runtime.
 *
 * Supported: every sequence layer of the attention family — Linear, LayerNorm, positional
 * encodings, MultiHeadAttention (rotary and ALiBi positions included), the Transformer encoder
 * layer and stack, sparse self-attention (sliding window, blocks, global tokens, as masks),
 * linear attention (elu or Performer features, causal or not), Linformer, and the composite
 * blocks (self-attention, convolution, feed-forward, local, linear, Transformer; Serial,
 * Parallel, Fusion) — and as whole models the poolings, the scoring-function layer,
 * cross-attention, decoders, the Perceiver, the hierarchical attention network and
 * `models.FusionModel` (see `fusionModel.ts` for its inputs). σReparam is folded into the
 * weights. Anything else is refused with an error naming the layer.
 *
 * Masks: a query row with no key to attend to gives zeros, as in attnkit.
 */
import { ConfigError } from '../errors.js';
import { noGrad } from '../autograd/tape.js';
import { linear } from '../ops/linalg.js';
import type { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { LayerNorm } from '../nn/layerNorm.js';
import { MultiHeadAttention } from '../nn/attention/multihead.js';
import { TransformerEncoder, TransformerEncoderLayer } from '../nn/attention/transformer.js';
import { SparseSelfAttention } from '../nn/attention/sparse.js';
import { LinearSelfAttention, LinformerSelfAttention } from '../nn/attention/linear.js';
import { Parallel } from '../nn/composite/parallel.js';
import { FusionModel } from '../models/fusion.js';
import { AttentionPooling, GatedAttentionPooling } from '../nn/attention/pooling.js';
import { Attention } from '../nn/attention/scoring.js';
import { TransformerDecoder, TransformerDecoderLayer } from '../nn/attention/transformer.js';
import { CrossModalLayer, CrossModalTransformer, PerceiverEncoder } from '../nn/attention/crossModal.js';
import { ContextAttention, HierarchicalAttentionNetwork } from '../nn/attention/hierarchical.js';
import { LearnedPositionalEmbedding, SinusoidalPositionalEncoding } from '../nn/attention/positional.js';
import { Graph, and, causalMask, emitAttend, emitLayerNorm, emitLinear, emitMatmulBias, f32, keyMask4, mergeHeads, rowHasKey, splitHeads, unsupported } from './graph.js';
import { emitCrossModal, emitCrossModalLayer, emitDecoderLayer, emitEncoder, emitEncoderLayer, emitMha, emitPerceiver, emitSequence } from './layers.js';
import { emitFusionModel } from './fusionModel.js';
import { encodeOnnxModel, type OnnxValue } from './proto.js';

export interface ExportOptions {
  /** Feature size C of the input x [batch, seq, C] (read from the model when it can be). */
  inputDim?: number;
  /** Add the bool key-mask inputs (true = real token). Default true for layers that mix tokens. */
  keyMask?: boolean;
  /** MultiHeadAttention: export as cross-attention (inputs `x` and `source`) even when kDim = C. */
  cross?: boolean;
  /** Causal self-attention: decoders default true (as `forward`), encoders false. */
  causal?: boolean;
  /** Attention (scoring): the width of `value` (default keyDim). */
  valueDim?: number;
}

/** Input width and output width of a sequence layer, when they can be read from it. */
function widths(m: Module): { C: number | null; out: number | null } {
  if (m instanceof Linear) return { C: m.inFeatures, out: m.outFeatures };
  if (m instanceof LayerNorm) return { C: m.normalizedShape[0], out: m.normalizedShape[0] };
  if (m instanceof MultiHeadAttention) return { C: m.embedDim, out: m.embedDim };
  if (m instanceof TransformerEncoderLayer || m instanceof TransformerEncoder) return { C: m.options.dModel, out: m.options.dModel };
  if (m instanceof SparseSelfAttention || m instanceof LinearSelfAttention || m instanceof LinformerSelfAttention) return { C: m.options.embedDim, out: m.options.embedDim };
  if (m instanceof Parallel) return { C: m.options.dim, out: m.outDim };
  const o = (m as unknown as { options?: { dim?: unknown } }).options;
  if (o && typeof o.dim === 'number') return { C: o.dim, out: o.dim };
  return { C: null, out: null };
}

/** Layers whose outputs depend on other tokens (and so take a key mask). */
const mixesTokens = (m: Module): boolean => !(m instanceof Linear || m instanceof LayerNorm || m instanceof LearnedPositionalEmbedding || m instanceof SinusoidalPositionalEncoding);

/** softmax over the last axis of `scores` where `allowed` (bool, broadcastable); rows with nothing allowed give zeros. */
function maskedSoftmax(g: Graph, scores: string, allowed: string | null): string {
  if (!allowed) return g.one('Softmax', [scores], { axis: -1 });
  const p = g.one('Softmax', [g.one('Where', [allowed, scores, g.scalar(-1e9)])], { axis: -1 });
  return g.one('Mul', [p, rowHasKey(g, allowed)]);
}

/** Σ_t w_t x_t: weights [B, T], x [B, T, C] → [B, C]. */
function weightedSum(g: Graph, w: string, x: string): string {
  return g.one('Squeeze', [g.one('MatMul', [g.one('Unsqueeze', [w, g.ints('axes', [1])]), x]), g.ints('axes', [1])]);
}

function emitPooling(g: Graph, x: string, model: AttentionPooling, allowed: string | null): { y: string; dims: (number | string)[] } {
  const m = model.attn;
  const C = m.embedDim, Q = model.numQueries, H = m.numHeads, D = m.headDim;
  const { w, b } = m.projections();
  // the learned queries are constants: project them here, [1, H, Q, D]
  const qp = linear(model.queries, w[0], b[0]);                                           // [Q, C]
  const q = new Float32Array(H * Q * D);
  for (let h = 0; h < H; h++) for (let i = 0; i < Q; i++) for (let d = 0; d < D; d++) q[(h * Q + i) * D + d] = qp.data[i * C + h * D + d];
  const k = splitHeads(g, emitMatmulBias(g, x, w[1], b[1]), H, D), v = splitHeads(g, emitMatmulBias(g, x, w[2], b[2]), H, D);
  const o = emitAttend(g, g.const('queries', q, [1, H, Q, D]), k, v, allowed, 1 / Math.sqrt(D));  // [B, H, Q, D]
  const out = emitLinear(g, mergeHeads(g, o, C), m.outProj);
  return Q === 1 ? { y: g.one('Squeeze', [out, g.ints('axes', [1])]), dims: ['batch', C] } : { y: out, dims: ['batch', Q, C] };
}

/** HAN's context attention: h [N, L, C], mask [N, L] → output [N, C], weights [N, L]. */
function emitContextAttention(g: Graph, h: string, m: ContextAttention, mask: string | null): { y: string; weights: string } {
  const A = m.context.shape[0]!;
  const u = g.one('Tanh', [emitLinear(g, h, m.proj)]);
  const scores = g.one('Squeeze', [g.one('MatMul', [u, g.const('context', f32(m.context), [A, 1])]), g.ints('axes', [-1])]);
  const weights = maskedSoftmax(g, scores, mask);
  return { y: weightedSum(g, weights, h), weights };
}

/** The raw scores a(q, k) [B, T, S] of the scoring-function layer. */
function emitScores(g: Graph, q: string, k: string, m: Attention): string {
  const kt = g.one('Transpose', [k], { perm: [0, 2, 1] });
  switch (m.score) {
    case 'dot': return g.one('MatMul', [q, kt]);
    case 'scaledDot': return g.one('Mul', [g.one('MatMul', [q, kt]), g.scalar(1 / Math.sqrt(m.queryDim))]);
    case 'general': return g.one('MatMul', [emitLinear(g, q, m.w!), kt]);
    case 'additive': {
      const hq = g.one('Unsqueeze', [emitLinear(g, q, m.wq!), g.ints('axes', [2])]), hk = g.one('Unsqueeze', [emitLinear(g, k, m.wk!), g.ints('axes', [1])]);
      return g.one('Squeeze', [emitLinear(g, g.one('Tanh', [g.one('Add', [hq, hk])]), m.v!), g.ints('axes', [-1])]);
    }
    case 'cosine': {
      const unit = (x: string): string => g.one('Div', [x, g.one('Sqrt', [g.one('Add', [g.one('ReduceSum', [g.one('Mul', [x, x]), g.ints('axes', [-1])], { keepdims: 1 }), g.scalar(1e-12)])])]);
      return g.one('Mul', [g.one('MatMul', [unit(q), g.one('Transpose', [unit(k)], { perm: [0, 2, 1] })]), g.scalar(Math.exp(m.logScale!.data[0]!))]);
    }
  }
}

/** What one export writes: graph inputs and outputs. */
interface Plan { inputs: OnnxValue[]; outputs: { value: string; out: OnnxValue }[] }

const seqIn = (name: string, seq: string, C: number): OnnxValue => ({ name, dtype: 'float', dims: ['batch', seq, C] });
const maskIn = (name: string, seq: string): OnnxValue => ({ name, dtype: 'bool', dims: ['batch', seq] });
const outOf = (value: string, name: string, dims: (number | string)[]): { value: string; out: OnnxValue } => ({ value, out: { name, dtype: 'float', dims } });

/** The layers with more than one input, or outputs other than [batch, seq, C]. */
function planSpecial(g: Graph, model: Module, options: ExportOptions): Plan | null {
  const masked = options.keyMask ?? true;
  if (model instanceof AttentionPooling) {
    const { y, dims } = emitPooling(g, 'x', model, masked ? keyMask4(g, 'keyMask') : null);
    return { inputs: [seqIn('x', 'seq', model.attn.embedDim), ...(masked ? [maskIn('keyMask', 'seq')] : [])], outputs: [outOf(y, 'y', dims)] };
  }
  if (model instanceof GatedAttentionPooling || model instanceof ContextAttention) {
    const C = model instanceof GatedAttentionPooling ? model.options.inDim : model.options.dim;
    let y: string, weights: string;
    if (model instanceof ContextAttention) ({ y, weights } = emitContextAttention(g, 'x', model, masked ? 'keyMask' : null));
    else {
      let a = g.one('Tanh', [emitLinear(g, 'x', model.attentionV)]);
      if (model.attentionU) a = g.one('Mul', [a, g.one('Sigmoid', [emitLinear(g, 'x', model.attentionU)])]);
      weights = maskedSoftmax(g, g.one('Squeeze', [emitLinear(g, a, model.attentionW), g.ints('axes', [-1])]), masked ? 'keyMask' : null);
      y = weightedSum(g, weights, 'x');
    }
    return { inputs: [seqIn('x', 'seq', C), ...(masked ? [maskIn('keyMask', 'seq')] : [])], outputs: [outOf(y, 'y', ['batch', C]), outOf(weights, 'weights', ['batch', 'seq'])] };
  }
  if (model instanceof Attention) {
    const scores = emitScores(g, 'query', 'key', model);
    const weights = maskedSoftmax(g, scores, masked ? g.one('Unsqueeze', ['keyMask', g.ints('axes', [1])]) : null);
    return {
      inputs: [seqIn('query', 'queries', model.queryDim), seqIn('key', 'keys', model.keyDim), seqIn('value', 'keys', options.valueDim ?? model.keyDim), ...(masked ? [maskIn('keyMask', 'keys')] : [])],
      outputs: [outOf(g.one('MatMul', [weights, 'value']), 'y', ['batch', 'queries', options.valueDim ?? model.keyDim]), outOf(weights, 'weights', ['batch', 'queries', 'keys'])],
    };
  }
  const crossMha = model instanceof MultiHeadAttention && (options.cross || model.kDim !== model.embedDim);
  if (crossMha || model instanceof CrossModalLayer || model instanceof CrossModalTransformer) {
    const C = crossMha ? (model as MultiHeadAttention).embedDim : (model as CrossModalLayer).options.dModel;
    const srcDim = crossMha ? (model as MultiHeadAttention).kDim : (model as CrossModalLayer).options.sourceDim ?? C;
    const allowed = masked ? keyMask4(g, 'sourceKeyMask') : null;
    const y = model instanceof MultiHeadAttention ? emitMha(g, 'x', 'source', model, allowed)
      : model instanceof CrossModalLayer ? emitCrossModalLayer(g, 'x', 'source', model, allowed) : emitCrossModal(g, 'x', 'source', model as CrossModalTransformer, allowed);
    return { inputs: [seqIn('x', 'seq', C), seqIn('source', 'sourceSeq', srcDim), ...(masked ? [maskIn('sourceKeyMask', 'sourceSeq')] : [])], outputs: [outOf(y, 'y', ['batch', 'seq', C])] };
  }
  if (model instanceof TransformerDecoderLayer || model instanceof TransformerDecoder) {
    const C = model.options.dModel;
    const causal = options.causal ?? true;
    const selfAllowed = and(g, causal ? causalMask(g, 'x') : null, masked ? keyMask4(g, 'keyMask') : null);
    const memAllowed = masked ? keyMask4(g, 'memoryKeyMask') : null;
    let y: string;
    if (model instanceof TransformerDecoderLayer) y = emitDecoderLayer(g, 'x', 'memory', model, selfAllowed, memAllowed);
    else {
      y = model.layers.reduce((h, l) => emitDecoderLayer(g, h, 'memory', l, selfAllowed, memAllowed), 'x');
      if (model.norm) y = emitLayerNorm(g, y, model.norm);
    }
    return {
      inputs: [seqIn('x', 'seq', C), seqIn('memory', 'memorySeq', C), ...(masked ? [maskIn('keyMask', 'seq'), maskIn('memoryKeyMask', 'memorySeq')] : [])],
      outputs: [outOf(y, 'y', ['batch', 'seq', C])],
    };
  }
  if ((model instanceof TransformerEncoder || model instanceof TransformerEncoderLayer) && options.causal) {
    const C = model.options.dModel;
    const allowed = and(g, causalMask(g, 'x'), masked ? keyMask4(g, 'keyMask') : null);
    const y = model instanceof TransformerEncoder ? emitEncoder(g, 'x', model, allowed) : emitEncoderLayer(g, 'x', model, allowed);
    return { inputs: [seqIn('x', 'seq', C), ...(masked ? [maskIn('keyMask', 'seq')] : [])], outputs: [outOf(y, 'y', ['batch', 'seq', C])] };
  }
  if (model instanceof PerceiverEncoder) {
    const [N, C] = model.latents.shape as [number, number];
    const y = emitPerceiver(g, 'x', model, masked ? keyMask4(g, 'keyMask') : null);
    return { inputs: [seqIn('x', 'seq', model.options.inputDim), ...(masked ? [maskIn('keyMask', 'seq')] : [])], outputs: [outOf(y, 'y', ['batch', N, C])] };
  }
  if (model instanceof HierarchicalAttentionNetwork) return planHan(g, model);
  return null;
}

/** HAN with Transformer encoders: ids [batch, sentences, words] (int64), wordMask (bool) → y, wordWeights, sentenceWeights. */
function planHan(g: Graph, m: HierarchicalAttentionNetwork): Plan {
  if (!(m.wordEncoder instanceof TransformerEncoder) || !(m.sentenceEncoder instanceof TransformerEncoder)) {
    throw unsupported('HierarchicalAttentionNetwork', "with GRU encoders is not supported (encoder: 'transformer' exports)");
  }
  const E = m.options.embedDim, C = m.docDim;
  const BS = g.one('Slice', [g.one('Shape', ['ids']), g.ints('start', [0]), g.ints('end', [2])]);       // [B, S]
  const W = g.one('Slice', [g.one('Shape', ['ids']), g.ints('start', [2]), g.ints('end', [3])]);
  const flat = (x: string, tail: string[]): string => g.one('Reshape', [x, g.one('Concat', [g.ints('minus1', [-1]), ...tail], { axis: 0 })]);
  const words = flat(g.one('Gather', [g.const('embedding', f32(m.embedding), [...m.embedding.shape]), 'ids'], { axis: 0 }), [W, g.ints('e', [E])]); // [B·S, W, E]
  const wm = flat('wordMask', [W]);                                                                           // [B·S, W]
  const wordLevel = emitContextAttention(g, emitEncoder(g, words, m.wordEncoder, keyMask4(g, wm)), m.wordAttention, wm);
  const sentences = g.one('Reshape', [wordLevel.y, g.one('Concat', [BS, g.ints('c', [C])], { axis: 0 })]);  // [B, S, C]
  const sentReal = g.one('Cast', [g.one('ReduceMax', [g.one('Cast', ['wordMask'], { to: 1 })], { axes: [-1], keepdims: 0 })], { to: 9 }); // [B, S]
  const sentLevel = emitContextAttention(g, emitEncoder(g, sentences, m.sentenceEncoder, keyMask4(g, sentReal)), m.sentenceAttention, sentReal);
  const y = m.classifier ? emitLinear(g, sentLevel.y, m.classifier) : sentLevel.y;
  return {
    inputs: [{ name: 'ids', dtype: 'int64', dims: ['batch', 'sentences', 'words'] }, { name: 'wordMask', dtype: 'bool', dims: ['batch', 'sentences', 'words'] }],
    outputs: [
      outOf(y, 'y', ['batch', m.classifier ? m.classifier.outFeatures : C]),
      outOf(g.one('Reshape', [wordLevel.weights, g.one('Shape', ['ids'])]), 'wordWeights', ['batch', 'sentences', 'words']),
      outOf(sentLevel.weights, 'sentenceWeights', ['batch', 'sentences']),
    ],
  };
}

/**
 * Exports a model's inference graph. Batch and sequence lengths are dynamic axes.
 * - A sequence layer: `x` [batch, seq, C] (float) and, for layers that mix tokens, `keyMask`
 *   [batch, seq] (bool, true = real) → `y` [batch, seq, C′].
 * - AttentionPooling → `y` [batch, C] (one query) or [batch, Q, C]; GatedAttentionPooling and
 *   ContextAttention → `y` [batch, C] and `weights` [batch, seq].
 * - Attention (a scoring function): `query`, `key`, `value`, `keyMask` → `y`, `weights`.
 * - Cross-attention (MultiHeadAttention with `cross` or kDim ≠ C, CrossModalLayer,
 *   CrossModalTransformer): `x`, `source`, `sourceKeyMask` → `y`.
 * - TransformerDecoderLayer / TransformerDecoder: `x`, `memory`, `keyMask`, `memoryKeyMask` → `y`
 *   (causal self-attention unless `causal: false`).
 * - PerceiverEncoder: `x`, `keyMask` → latents `y` [batch, N, C].
 * - HierarchicalAttentionNetwork (Transformer encoders): `ids` int64 [batch, sentences, words],
 *   `wordMask` → `y`, `wordWeights`, `sentenceWeights`.
 * - FusionModel: one input per field part and two outputs per target (see `fusionOnnxInputs`).
 * The model is exported as in eval mode and left in the mode it was in.
 *
 * @example
 * const bytes = exportOnnx(encoder);     // then: await ort.InferenceSession.create(bytes)
 */
export function exportOnnx(model: Module, options: ExportOptions = {}): Uint8Array {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      const g = new Graph();
      if (model instanceof FusionModel) {
        for (const n of [...model.fields, ...model.targets].map((x) => x.name)) {
          if (n.includes('#')) throw new ConfigError(`exportOnnx: the name '${n}' contains '#', which the exporter keeps for internal value names; rename that field or target`);
        }
        const { inputs, outputs } = emitFusionModel(g, model);
        return encodeOnnxModel({ name: 'FusionModel', nodes: g.nodes, inputs, outputs, initializers: g.inits });
      }
      let plan = planSpecial(g, model, options);
      if (!plan) {
        const keyMask = mixesTokens(model) && (options.keyMask ?? true) ? 'keyMask' : null;
        const w = widths(model);
        const y = emitSequence(g, 'x', model, keyMask);
        const inputDim = options.inputDim ?? w.C;
        if (inputDim == null) throw new ConfigError(`exportOnnx: cannot read the input width of ${model.constructor.name}; pass options.inputDim`);
        plan = { inputs: [seqIn('x', 'seq', inputDim), ...(keyMask ? [maskIn(keyMask, 'seq')] : [])], outputs: [outOf(y, 'y', ['batch', 'seq', w.out ?? 'features'])] };
      }
      const inputNames = new Set(plan.inputs.map((i) => i.name));
      for (const o of plan.outputs) {
        // an output that is an input (an identity layer) or another output needs its own node
        const value = inputNames.has(o.value) || plan.outputs.some((p) => p !== o && p.value === o.value) ? g.one('Identity', [o.value]) : o.value;
        g.rename(value, o.out.name);
      }
      return encodeOnnxModel({ name: model.constructor.name, nodes: g.nodes, inputs: plan.inputs, outputs: plan.outputs.map((o) => o.out), initializers: g.inits });
    });
  } finally {
    model.train(wasTraining);
  }
}

export { fusionOnnxInputs, type OnnxInput } from './fusionModel.js';
