/**
 * ONNX emitters for the layers that pool or score rather than map a sequence to a sequence:
 * attention pooling (learned queries), gated pooling, HAN's context attention and the
 * scoring-function layer. Masked rows with no real token give zeros, as in attnkit.
 */
import { linear } from '../ops/linalg.js';
import type { AttentionPooling, GatedAttentionPooling } from '../nn/attention/pooling.js';
import type { Attention } from '../nn/attention/scoring.js';
import type { ContextAttention } from '../nn/attention/hierarchical.js';
import { Graph, emitAttend, emitLinear, emitMatmulBias, f32, mergeHeads, rowHasKey, splitHeads } from './graph.js';

/** softmax over the last axis of `scores` where `allowed` (bool, broadcastable); rows with nothing allowed give zeros. */
export function maskedSoftmax(g: Graph, scores: string, allowed: string | null): string {
  if (!allowed) return g.one('Softmax', [scores], { axis: -1 });
  const p = g.one('Softmax', [g.one('Where', [allowed, scores, g.scalar(-1e9)])], { axis: -1 });
  return g.one('Mul', [p, rowHasKey(g, allowed)]);
}

/** Σ_t w_t x_t: weights [B, T], x [B, T, C] → [B, C]. */
export function weightedSum(g: Graph, w: string, x: string): string {
  return g.one('Squeeze', [g.one('MatMul', [g.one('Unsqueeze', [w, g.ints('axes', [1])]), x]), g.ints('axes', [1])]);
}

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

/** HAN's context attention: h [N, L, C], mask [N, L] → output [N, C], weights [N, L]. */
export function emitContextAttention(g: Graph, h: string, m: ContextAttention, mask: string | null): { y: string; weights: string } {
  const A = m.context.shape[0]!;
  const u = g.one('Tanh', [emitLinear(g, h, m.proj)]);
  const scores = g.one('Squeeze', [g.one('MatMul', [u, g.const('context', f32(m.context), [A, 1])]), g.ints('axes', [-1])]);
  const weights = maskedSoftmax(g, scores, mask);
  return { y: weightedSum(g, weights, h), weights };
}

/** The raw scores a(q, k) [B, T, S] of the scoring-function layer. */
export function emitScores(g: Graph, q: string, k: string, m: Attention): string {
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

/** Gated attention pooling (Ilse et al.): x [B, T, C], mask [B, T] → output [B, C], weights [B, T]. */
export function emitGatedPooling(g: Graph, x: string, m: GatedAttentionPooling, mask: string | null): { y: string; weights: string } {
  let a = g.one('Tanh', [emitLinear(g, x, m.attentionV)]);
  if (m.attentionU) a = g.one('Mul', [a, g.one('Sigmoid', [emitLinear(g, x, m.attentionU)])]);
  const weights = maskedSoftmax(g, g.one('Squeeze', [emitLinear(g, a, m.attentionW), g.ints('axes', [-1])]), mask);
  return { y: weightedSum(g, weights, x), weights };
}
