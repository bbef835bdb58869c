/**
 * ONNX emission of MultiHeadAttention, beside its forward: self- or cross-attention, rotary and
 * ALiBi positions, causal and key masks. Other attention layers (encoders, decoders, pooling,
 * cross-modal blocks) emit theirs through `emitMha`.
 */
import { Tensor } from '../../tensor/tensor.js';
import { concat as concatT } from '../../ops/index.js';
import { Graph, and, causalMask, dimOf, emitAttend, emitMatmulBias, f32, int64, keyMask4, mergeHeads, positions, splitHeads, unsupported } from '../../onnx/graph/graph.js';
import { causalSequenceLayer, crossPlan, type LayerExport } from '../../onnx/graph/layerExport.js';
import { emitLinear } from '../linear.onnx.js';
import { MultiHeadAttention } from './multihead.js';
import { alibiSlopes } from './positional.js';

function checkMha(m: MultiHeadAttention): void {
  if (m.numKVHeads !== m.numHeads) throw unsupported('MultiHeadAttention', 'with grouped key/value heads is not supported yet');
  if (m.kDim !== m.vDim) throw unsupported('MultiHeadAttention', `with kDim ${m.kDim} ≠ vDim ${m.vDim} is not supported (keys and values come from one source)`);
}

/** Rotary positions (RoPE) on x [B, H, L, D] at positions `pos` (int64 [L]): x·cos + rotate_half(x)·sin. */
function emitRotary(g: Graph, x: string, pos: string, D: number, base: number): string {
  const inv = Float32Array.from({ length: D }, (_, i) => Math.pow(base, (-2 * (i % (D / 2))) / D));
  const angles = g.one('Mul', [g.one('Unsqueeze', [g.one('Cast', [pos], { to: 1 }), g.ints('axes', [1])]), g.const('rope_inv_freq', inv, [1, D])]); // [L, D]
  const [x1, x2] = g.op('Split', [x, g.ints('split', [D / 2, D / 2])], { axis: -1 }, 2);
  const rotated = g.one('Concat', [g.one('Neg', [x2]), x1], { axis: -1 });
  return g.one('Add', [g.one('Mul', [x, g.one('Cos', [angles])]), g.one('Mul', [rotated, g.one('Sin', [angles])])]);
}

/** max(0, S − T) for queries [B, T, ·] and keys [B, S, ·]: the queries' position shift (int64 scalar). */
function queryShift(g: Graph, query: string, source: string): string {
  return g.one('Max', [g.one('Sub', [dimOf(g, source, 1), dimOf(g, query, 1)]), int64(g, 0)]);
}

/**
 * Multi-head attention: queries from `query` [B, T, C], keys and values from `source`
 * [B, S, kDim] (the same value name for self-attention). `allowed` broadcasts to [B, H, T, S].
 */
export function emitMha(g: Graph, query: string, source: string, m: MultiHeadAttention, allowed: string | null): string {
  checkMha(m);
  const C = m.embedDim, H = m.numHeads, D = m.headDim;
  const { w, b } = m.projections();
  let q: string, k: string, v: string;
  if (query === source && m.kDim === C && m.vDim === C) {
    const packed = new Tensor(f32(concatT([...w], 0)), [3 * C, C]);
    const bias = b[0] ? new Tensor(f32(concatT([b[0], b[1]!, b[2]!], 0)), [3 * C]) : null;
    [q, k, v] = g.op('Split', [emitMatmulBias(g, query, packed, bias), g.ints('split', [C, C, C])], { axis: -1 }, 3);
  } else {
    q = emitMatmulBias(g, query, w[0], b[0]);
    k = emitMatmulBias(g, source, w[1], b[1]);
    v = emitMatmulBias(g, source, w[2], b[2]);
  }
  if (m.relativeBias) throw unsupported('MultiHeadAttention', 'with relativeBias is not supported');
  let qh = splitHeads(g, q, H, D), kh = splitHeads(g, k, H, D);
  let bias: string | null = null;
  if (m.rope || m.alibi) {
    const shift = queryShift(g, query, source);
    if (m.rope) {
      qh = emitRotary(g, qh, positions(g, query, { start: shift }), D, m.rope.base);
      kh = emitRotary(g, kh, positions(g, source), D, m.rope.base);
    }
    if (m.alibi) {
      // −slope_h·|i + shift − j|, [1, H, T, S]
      const i = g.one('Unsqueeze', [positions(g, query, { start: shift }), g.ints('axes', [1])]), j = g.one('Unsqueeze', [positions(g, source), g.ints('axes', [0])]);
      const dist = g.one('Cast', [g.one('Abs', [g.one('Sub', [i, j])])], { to: 1 });
      bias = g.one('Mul', [dist, g.const('alibi_slopes', Float32Array.from(alibiSlopes(H), (v) => -v), [1, H, 1, 1])]);
    }
  }
  const o = emitAttend(g, qh, kh, splitHeads(g, v, H, D), allowed, 1 / Math.sqrt(D), bias);
  return emitLinear(g, mergeHeads(g, o, C), m.outProj);
}

const selfAttention = causalSequenceLayer(MultiHeadAttention, {
  keyMask: true, widths: (m) => ({ C: m.embedDim, out: m.embedDim }), emit: (g, x, m, km) => emitMha(g, x, x, m, km && keyMask4(g, km)),
}, (g, x, m, allowed) => emitMha(g, x, x, m, allowed));

/**
 * Self-attention `x` (and `keyMask`) → `y`, causal with `causal: true`; or, with `cross` or
 * kDim ≠ C, cross-attention `x`, `source`, `sourceKeyMask` → `y` (causal: top-left aligned).
 */
const multiHeadAttentionOnnx: LayerExport<MultiHeadAttention> = {
  ...selfAttention,
  // kDim ≠ C is cross-attention whatever `cross` says
  options: (m) => ({ ...selfAttention.options(m), cross: m.kDim !== m.embedDim ? [true] : 'any' }),
  plan: (g, m, o) => (o.cross || m.kDim !== m.embedDim
    ? crossPlan(g, m.embedDim, m.kDim, o, (allowed) => emitMha(g, 'x', 'source', m, and(g, o.causal ? causalMask(g, 'x', 'source') : null, allowed)))
    : selfAttention.plan(g, m, o)),
};

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { MultiHeadAttention: multiHeadAttentionOnnx };
