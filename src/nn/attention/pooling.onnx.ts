/**
 * ONNX emission of the attention poolings, beside their forward: learned-query pooling (`x`,
 * `keyMask` → `y`) and gated pooling (→ `y`, `weights`). Rows with no real token give zeros.
 */
import { linear } from '../../ops/linalg.js';
import { Graph, emitAttend, emitMatmulBias, keyMask4, maskedSoftmax, mergeHeads, splitHeads, weightedSum } from '../../onnx/graph/graph.js';
import { keyMaskOnly, maskIn, outOf, poolingPlan, seqIn, type LayerExport } from '../../onnx/graph/layerExport.js';
import { emitLinear } from '../linear.onnx.js';
import { AttentionPooling, GatedAttentionPooling } from './pooling.js';

/** Learned-query attention pooling: x [B, T, C] → [B, C] (one query) or [B, Q, C]. */
export function emitPooling(g: Graph, x: string, model: AttentionPooling, allowed: string | null): { y: string; dims: (number | string)[] } {
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

/** Gated attention pooling (Ilse et al.): x [B, T, C], mask [B, T] → output [B, C], weights [B, T]. */
export function emitGatedPooling(g: Graph, x: string, m: GatedAttentionPooling, mask: string | null): { y: string; weights: string } {
  let a = g.one('Tanh', [emitLinear(g, x, m.attentionV)]);
  if (m.attentionU) a = g.one('Mul', [a, g.one('Sigmoid', [emitLinear(g, x, m.attentionU)])]);
  const weights = maskedSoftmax(g, g.one('Squeeze', [emitLinear(g, a, m.attentionW), g.ints('axes', [-1])]), mask);
  return { y: weightedSum(g, weights, x), weights };
}

const attentionPoolingOnnx: LayerExport<AttentionPooling> = {
  cls: AttentionPooling, options: () => keyMaskOnly,
  plan: (g, m, o) => {
    const masked = o.keyMask ?? true;
    const { y, dims } = emitPooling(g, 'x', m, masked ? keyMask4(g, 'keyMask') : null);
    return { inputs: [seqIn('x', 'seq', m.attn.embedDim), ...(masked ? [maskIn('keyMask', 'seq')] : [])], outputs: [outOf(y, 'y', dims)] };
  },
};

const gatedAttentionPoolingOnnx: LayerExport<GatedAttentionPooling> = {
  cls: GatedAttentionPooling, options: () => keyMaskOnly,
  plan: (g, m, o) => poolingPlan(m.options.embedDim, o, (mask) => emitGatedPooling(g, 'x', m, mask)),
};

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { AttentionPooling: attentionPoolingOnnx, GatedAttentionPooling: gatedAttentionPoolingOnnx };
