/**
 * ONNX export (opset 17, our protobuf writer): inference graphs with dynamic batch and sequence
 * axes, meant to be run by ONNX Runtime.
 *
 * Supported: every sequence layer of the attention family — Linear, LayerNorm,
 * MultiHeadAttention (self-attention), the Transformer encoder layer and stack, sparse
 * self-attention (sliding window, blocks, global tokens, as masks), linear attention (elu or
 * Performer features, causal or not), Linformer, and the composite blocks (self-attention,
 * convolution, feed-forward, local, linear, Transformer; Serial, Parallel, Fusion) — plus
 * AttentionPooling and the whole `models.FusionModel` (see `fusionModel.ts` for its inputs).
 * σReparam is folded into the weights. Anything else is refused with an error naming the layer.
 *
 * Masks: a query row with no key to attend to gives zeros, as in attnkit.
 */
import { ConfigError } from '../errors.js';
import { noGrad } from '../autograd/tape.js';
import { linear } from '../ops/linalg.js';
import type { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { LayerNorm } from '../nn/layerNorm.js';
import { AttentionPooling } from '../nn/attention/pooling.js';
import { MultiHeadAttention } from '../nn/attention/multihead.js';
import { TransformerEncoder, TransformerEncoderLayer } from '../nn/attention/transformer.js';
import { SparseSelfAttention } from '../nn/attention/sparse.js';
import { LinearSelfAttention, LinformerSelfAttention } from '../nn/attention/linear.js';
import { Parallel } from '../nn/composite/parallel.js';
import { FusionModel } from '../models/fusion.js';
import { Graph, emitAttend, emitMatmulBias, keyMask4, splitHeads } from './graph.js';
import { emitSequence } from './layers.js';
import { emitFusionModel } from './fusionModel.js';
import { encodeOnnxModel, type OnnxValue } from './proto.js';

export interface ExportOptions {
  /** Feature size C of the input x [batch, seq, C] (read from the model when it can be). */
  inputDim?: number;
  /** Add a bool input `keyMask` [batch, seq] (true = real token). Default true for layers that mix tokens. */
  keyMask?: boolean;
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
const mixesTokens = (m: Module): boolean => !(m instanceof Linear || m instanceof LayerNorm);

function emitPooling(g: Graph, x: string, model: AttentionPooling, maskBias: string | null): { y: string; dims: (number | string)[] } {
  const m = model.attn;
  const C = m.embedDim, Q = model.numQueries, H = m.numHeads, D = m.headDim;
  const { w, b } = m.projections();
  // the learned queries are constants: project them here, [1, H, Q, D]
  const qp = linear(model.queries, w[0], b[0]);                                           // [Q, C]
  const q = new Float32Array(H * Q * D);
  for (let h = 0; h < H; h++) for (let i = 0; i < Q; i++) for (let d = 0; d < D; d++) q[(h * Q + i) * D + d] = qp.data[i * C + h * D + d];
  const k = splitHeads(g, emitMatmulBias(g, x, w[1], b[1]), H, D), v = splitHeads(g, emitMatmulBias(g, x, w[2], b[2]), H, D);
  const o = emitAttend(g, g.const('queries', q, [1, H, Q, D]), k, v, maskBias, 1 / Math.sqrt(D));  // [B, H, Q, D]
  const merged = g.one('Reshape', [g.one('Transpose', [o], { perm: [0, 2, 1, 3] }), g.ints('shape', [0, 0, C])]);
  const out = emitMatmulBias(g, merged, m.outProj.effectiveWeight(), m.outProj.bias);
  return Q === 1 ? { y: g.one('Squeeze', [out, g.ints('axes', [1])]), dims: ['batch', C] } : { y: out, dims: ['batch', Q, C] };
}

/**
 * Exports a model's inference graph.
 * - A sequence layer: input `x` [batch, seq, C] (float) and, for layers that mix tokens, `keyMask`
 *   [batch, seq] (bool, true = real); output `y` [batch, seq, C′].
 * - AttentionPooling: `x`, `keyMask` → `y` [batch, C] (one query) or [batch, Q, C].
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
        for (const f of model.fields) if (f.name.includes('#')) throw new ConfigError(`exportOnnx: field name '${f.name}' contains '#', which the exporter keeps for internal names; rename the field`);
        const { inputs, outputs } = emitFusionModel(g, model);
        return encodeOnnxModel({ name: 'FusionModel', nodes: g.nodes, inputs, outputs, initializers: g.inits });
      }
      const withMask = mixesTokens(model) && (options.keyMask ?? true);
      const keyMask = withMask ? 'keyMask' : null;
      let C: number | null, y: string, outDims: (number | string)[];
      if (model instanceof AttentionPooling) {
        C = model.attn.embedDim;
        ({ y, dims: outDims } = emitPooling(g, 'x', model, keyMask ? keyMask4(g, keyMask) : null));
      } else {
        const w = widths(model);
        C = w.C;
        y = emitSequence(g, 'x', model, keyMask);
        outDims = ['batch', 'seq', w.out ?? 'features'];
      }
      const inputDim = options.inputDim ?? C;
      if (inputDim == null) throw new ConfigError(`exportOnnx: cannot read the input width of ${model.constructor.name}; pass options.inputDim`);
      if (y === 'x') y = g.one('Identity', ['x']);
      g.rename(y, 'y');
      const inputs: OnnxValue[] = [{ name: 'x', dtype: 'float', dims: ['batch', 'seq', inputDim] }];
      if (keyMask) inputs.push({ name: 'keyMask', dtype: 'bool', dims: ['batch', 'seq'] });
      return encodeOnnxModel({ name: model.constructor.name, nodes: g.nodes, inputs, outputs: [{ name: 'y', dtype: 'float', dims: outDims }], initializers: g.inits });
    });
  } finally {
    model.train(wasTraining);
  }
}

export { fusionOnnxInputs, type OnnxInput } from './fusionModel.js';
