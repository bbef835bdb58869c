/**
 * ONNX emission of the linear-attention layers, beside their forward: kernel attention with
 * elu or Performer (FAVOR+) features, causal or not, and Linformer's projected keys and values.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { Graph, causalMask, emitAttend, f32, mergeHeads, splitHeads, zeroPadded } from '../../onnx/graph/graph.js';
import { onnxFloat } from '../../onnx/graph/proto.js';
import { sequenceLayer, type LayerExport } from '../../onnx/graph/layerExport.js';
import { emitLinear } from '../linear.onnx.js';
import { LinearSelfAttention, LinformerSelfAttention, type PerformerAttention } from './linear.js';

/** φ(x) = elu(x) + 1. */
function eluFeatures(g: Graph, x: string): string {
  return g.one('Add', [g.one('Elu', [x], { alpha: onnxFloat(1) }), g.scalar(1)]);
}

/**
 * Performer's FAVOR+ features of x [B, H, L, D]: (exp(ωᵀx̂ − ‖x̂‖²/2 − c) + 1e-4)/√m, as
 * favorFeatures in nn/attention/linear.ts: c the max of a query row ('row'), of one (sample,
 * head)'s real keys and features ('keys', never the batch's or a padded key's), or none. `keep`
 * [B, 1, S, 1] (true = real key) sends padded keys' logits to −∞ first; a sample with no real key
 * is not shifted.
 */
function favorFeatures(g: Graph, x: string, p: PerformerAttention, stabiliser: 'row' | 'keys' | 'none', keep: string | null = null): string {
  const [m, d] = p.omega.shape as [number, number];
  const xs = g.one('Mul', [x, g.scalar(Math.pow(d, -0.25))]);
  const omegaT = new Float32Array(d * m);
  for (let r = 0; r < m; r++) for (let c = 0; c < d; c++) omegaT[c * m + r] = p.omega.data[r * d + c];
  const proj = g.one('MatMul', [xs, g.const('omega', omegaT, [d, m])]);
  const half = g.one('Div', [g.one('ReduceSum', [g.one('Mul', [xs, xs]), g.ints('axes', [-1])], { keepdims: 1 }), g.scalar(2)]);
  let logits = g.one('Sub', [proj, half]);                                                      // [B, H, L, m]
  if (keep) logits = g.one('Where', [keep, logits, g.scalar(-Infinity)]);
  if (stabiliser === 'row') logits = g.one('Sub', [logits, g.one('ReduceMax', [logits], { axes: [-1], keepdims: 1 })]);
  else if (stabiliser === 'keys') {
    const c = g.one('ReduceMax', [logits], { axes: [-2, -1], keepdims: 1 });                   // [B, H, 1, 1]
    logits = g.one('Sub', [logits, g.one('Where', [g.one('Equal', [c, g.scalar(-Infinity)]), g.scalar(0), c])]);
  }
  return g.one('Mul', [g.one('Add', [g.one('Exp', [logits]), g.scalar(1e-4)]), g.scalar(1 / Math.sqrt(m))]);
}

/**
 * Kernel attention: out_i = φq_i·Σ_j φk_j v_jᵀ / (φq_i·Σ_j φk_j + eps). The causal form is
 * written with the T×T lower-triangular weights (equal in value to attnkit's prefix sums).
 */
function emitKernelAttention(g: Graph, fq: string, fk: string, v: string, causal: string | null, eps: number): string {
  if (!causal) {
    const kv = g.one('MatMul', [g.one('Transpose', [fk], { perm: [0, 1, 3, 2] }), v]);          // [B, H, M, Dv]
    const z = g.one('ReduceSum', [fk, g.ints('axes', [2])], { keepdims: 0 });                    // [B, H, M]
    const den = g.one('MatMul', [fq, g.one('Unsqueeze', [z, g.ints('axes', [-1])])]);            // [B, H, T, 1]
    return g.one('Div', [g.one('MatMul', [fq, kv]), g.one('Add', [den, g.scalar(eps)])]);
  }
  const a = g.one('Mul', [g.one('MatMul', [fq, g.one('Transpose', [fk], { perm: [0, 1, 3, 2] })]), g.one('Cast', [causal], { to: 1 })]); // [B, H, T, T]
  const den = g.one('ReduceSum', [a, g.ints('axes', [-1])], { keepdims: 1 });
  return g.one('Div', [g.one('MatMul', [a, v]), g.one('Add', [den, g.scalar(eps)])]);
}

export function emitLinearSelfAttention(g: Graph, x: string, m: LinearSelfAttention, keyMask: string | null): string {
  const C = m.options.embedDim, H = m.options.numHeads, D = C / H;
  const [q, k, v] = g.op('Split', [emitLinear(g, x, m.inProj), g.ints('split', [C, C, C])], { axis: -1 }, 3).map((t) => splitHeads(g, t, H, D));
  const causal = m.options.causal ? causalMask(g, x) : null;
  const keep = keyMask ? g.one('Unsqueeze', [keyMask, g.ints('axes', [1, 3])]) : null;                // [B, 1, T, 1]
  const fq = m.performer ? favorFeatures(g, q, m.performer, 'row') : eluFeatures(g, q);
  let fk = m.performer ? favorFeatures(g, k, m.performer, causal ? 'none' : 'keys', keep) : eluFeatures(g, k);
  if (keep) fk = g.one('Where', [keep, fk, g.scalar(0)]);                                             // padded keys' features → 0
  return emitLinear(g, mergeHeads(g, emitKernelAttention(g, fq, fk, v, causal, 1e-6), C), m.outProj);
}

function emitLinformer(g: Graph, x: string, m: LinformerSelfAttention, keyMask: string | null): string {
  const { embedDim: C, numHeads: H, projectedLen: kLen, maxLen } = m.options;
  const D = C / H;
  const k = zeroPadded(g, emitLinear(g, x, m.kProj), keyMask), v = zeroPadded(g, emitLinear(g, x, m.vProj), keyMask);
  const T = g.one('Slice', [g.one('Shape', [x]), g.ints('start', [1]), g.ints('end', [2])]);
  const cut = (p: Tensor): string => g.one('Slice', [g.const('linformer_proj', f32(p), [kLen, maxLen]), g.ints('start', [0]), T, g.ints('axes', [1])]);
  const E = cut(m.projE), F = m.projF ? cut(m.projF) : E;
  const kp = splitHeads(g, g.one('MatMul', [E, k]), H, D), vp = splitHeads(g, g.one('MatMul', [F, v]), H, D);
  const o = emitAttend(g, splitHeads(g, emitLinear(g, x, m.qProj), H, D), kp, vp, null, 1 / Math.sqrt(D));
  return emitLinear(g, mergeHeads(g, o, C), m.outProj);
}

const linearSelfAttentionOnnx: LayerExport<LinearSelfAttention> = sequenceLayer(LinearSelfAttention, {
  keyMask: true, widths: (m) => ({ C: m.options.embedDim, out: m.options.embedDim }), emit: emitLinearSelfAttention,
});

const linformerSelfAttentionOnnx: LayerExport<LinformerSelfAttention> = sequenceLayer(LinformerSelfAttention, {
  keyMask: true, widths: (m) => ({ C: m.options.embedDim, out: m.options.embedDim }), emit: emitLinformer,
});

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { LinearSelfAttention: linearSelfAttentionOnnx, LinformerSelfAttention: linformerSelfAttentionOnnx };
