/**
 * ONNX emitters for the attention family. Every sequence layer maps x [B, T, C] (with an
 * optional bool key mask [B, T], true = real) to a value name; patterns attnkit computes with
 * gathered kernels (sliding windows, blocks, global tokens, causal prefixes) are expressed as
 * dense boolean masks built in the graph from the dynamic sequence length, so one exported
 * model serves every length.
 */
import { Tensor } from '../tensor/tensor.js';
import { concat as concatT } from '../ops/index.js';
import type { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { LayerNorm } from '../nn/layerNorm.js';
import { Dropout } from '../nn/dropout.js';
import { MultiHeadAttention } from '../nn/attention/multihead.js';
import { TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer } from '../nn/attention/transformer.js';
import { CrossModalLayer, CrossModalTransformer, PerceiverEncoder } from '../nn/attention/crossModal.js';
import { SparseSelfAttention } from '../nn/attention/sparse.js';
import { LinearSelfAttention, LinformerSelfAttention, PerformerAttention } from '../nn/attention/linear.js';
import {
  ConvBlock, FeedForwardBlock, LinearAttentionBlock, LocalAttentionBlock, SelfAttentionBlock, TransformerBlock,
} from '../nn/composite/blocks.js';
import { Serial } from '../nn/composite/serial.js';
import { Parallel } from '../nn/composite/parallel.js';
import { Fusion } from '../nn/composite/fusion.js';
import { alibiSlopes, LearnedPositionalEmbedding, SinusoidalPositionalEncoding } from '../nn/attention/positional.js';
import {
  Graph, and, causalMask, dimOf, int64, positions, emitAttend, emitGelu, emitLayerNorm, emitLinear, emitMatmulBias, f32, grid, keyMask4,
  mergeHeads, splitHeads, unsupported, zeroPadded,
} from './graph.js';
import { onnxFloat } from './proto.js';

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

function emitFeedForward(g: Graph, x: string, l: { linear1: Linear; linear2: Linear }, activation: 'relu' | 'gelu'): string {
  const a = emitLinear(g, x, l.linear1);
  return emitLinear(g, activation === 'gelu' ? emitGelu(g, a) : g.one('Relu', [a]), l.linear2);
}

export function emitEncoderLayer(g: Graph, x: string, l: TransformerEncoderLayer, allowed: string | null): string {
  const sa = (h: string): string => emitMha(g, h, h, l.selfAttn, allowed);
  const ff = (h: string): string => emitFeedForward(g, h, l, l.activation);
  if (l.options.normFirst) {
    const y = g.one('Add', [x, sa(emitLayerNorm(g, x, l.norm1))]);
    return g.one('Add', [y, ff(emitLayerNorm(g, y, l.norm2))]);
  }
  const y = emitLayerNorm(g, g.one('Add', [x, sa(x)]), l.norm1);
  return emitLayerNorm(g, g.one('Add', [y, ff(y)]), l.norm2);
}

/** A Transformer encoder stack (and its final norm) on x with key mask `allowed`. */
export function emitEncoder(g: Graph, x: string, enc: TransformerEncoder, allowed: string | null): string {
  const y = enc.layers.reduce((h, l) => emitEncoderLayer(g, h, l, allowed), x);
  return enc.norm ? emitLayerNorm(g, y, enc.norm) : y;
}

/** A Transformer decoder layer: causal (or not) self-attention over x, cross-attention to memory, feed-forward. */
export function emitDecoderLayer(g: Graph, x: string, memory: string, l: TransformerDecoderLayer, selfAllowed: string | null, memoryAllowed: string | null): string {
  const sa = (h: string): string => emitMha(g, h, h, l.selfAttn, selfAllowed);
  const ca = (h: string): string => emitMha(g, h, memory, l.crossAttn, memoryAllowed);
  const ff = (h: string): string => emitFeedForward(g, h, l, l.activation);
  if (l.normFirst) {
    let y = g.one('Add', [x, sa(emitLayerNorm(g, x, l.norm1))]);
    y = g.one('Add', [y, ca(emitLayerNorm(g, y, l.norm2))]);
    return g.one('Add', [y, ff(emitLayerNorm(g, y, l.norm3))]);
  }
  let y = emitLayerNorm(g, g.one('Add', [x, sa(x)]), l.norm1);
  y = emitLayerNorm(g, g.one('Add', [y, ca(y)]), l.norm2);
  return emitLayerNorm(g, g.one('Add', [y, ff(y)]), l.norm3);
}

/** One MulT cross-modal block: target [B, T, C] queries source [B, S, sourceDim]; `allowed` masks source keys. */
export function emitCrossModalLayer(g: Graph, target: string, source: string, l: CrossModalLayer, allowed: string | null): string {
  const s = emitLayerNorm(g, source, l.normSource);
  const y = g.one('Add', [target, emitMha(g, emitLayerNorm(g, target, l.normTarget), s, l.crossAttn, allowed)]);
  return g.one('Add', [y, emitFeedForward(g, emitLayerNorm(g, y, l.norm2), l, l.activation)]);
}

export function emitCrossModal(g: Graph, target: string, source: string, m: CrossModalTransformer, allowed: string | null): string {
  return emitLayerNorm(g, m.layers.reduce((h, l) => emitCrossModalLayer(g, h, source, l, allowed), target), m.norm);
}

/** Perceiver: the learned latents (a constant [1, N, C] broadcast over the batch) read `source`, then self-attend. */
export function emitPerceiver(g: Graph, source: string, p: PerceiverEncoder, allowed: string | null): string {
  const [N, C] = p.latents.shape as [number, number];
  // [B, N, C]: the latents expanded to the source's batch (a zero-valued slice of the source fixes B)
  const B = g.one('Slice', [g.one('Shape', [source]), g.ints('start', [0]), g.ints('end', [1])]);
  const lat = g.one('Expand', [g.const('latents', f32(p.latents), [1, N, C]), g.one('Concat', [B, g.ints('nc', [N, C])], { axis: 0 })]);
  return emitEncoder(g, emitCrossModalLayer(g, lat, source, p.cross, allowed), p.latentEncoder, null);
}

/** The mask [T, T] (bool) of a sparse pattern, built from the dynamic length. */
function sparseMask(g: Graph, x: string, m: SparseSelfAttention): string {
  const o = m.options;
  if (o.pattern === 'bigBird') throw unsupported('SparseSelfAttention', "with the 'bigBird' pattern is not supported (its random blocks depend on the length); use 'window' or 'block'");
  const { i, j, r } = grid(g, x);
  let allowed: string;
  if (o.pattern === 'window') {
    const w = o.window ?? 8, d = o.dilation ?? 1;
    const diff = g.one('Sub', [j, i]);                                                      // [T, T] int64
    const lo = g.one('GreaterOrEqual', [diff, g.ints('lo', [-w * d])]);
    const hi = g.one('LessOrEqual', [diff, g.ints('hi', [o.oneSided ? 0 : w * d])]);
    allowed = g.one('And', [lo, hi]);
    if (d > 1) allowed = g.one('And', [allowed, g.one('Equal', [g.one('Mod', [diff, g.ints('d', [d])], { fmod: 0 }), g.ints('z', [0])])]);
  } else {
    const b = g.ints('block', [o.blockSize ?? 16]);
    allowed = g.one('Equal', [g.one('Div', [i, b]), g.one('Div', [j, b])]);
  }
  if (o.globalTokens?.length) {
    // positions in the global list: [T] bool, as a row and as a column
    const hits = g.one('Cast', [g.one('Equal', [g.one('Unsqueeze', [r, g.ints('axes', [1])]), g.ints('globals', o.globalTokens)])], { to: 1 });
    const isGlobal = g.one('Cast', [g.one('ReduceMax', [hits], { axes: [1], keepdims: 0 })], { to: 9 }); // [T]
    const row = g.one('Unsqueeze', [isGlobal, g.ints('axes', [1])]), col = g.one('Unsqueeze', [isGlobal, g.ints('axes', [0])]);
    allowed = g.one('Or', [allowed, g.one('Or', [row, col])]);
  }
  return allowed;
}

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

function emitLinearSelfAttention(g: Graph, x: string, m: LinearSelfAttention, keyMask: string | null): string {
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

/** [B, T, n, C] from n values [B, T, C]. */
function stackBranches(g: Graph, ys: string[]): string {
  return g.one('Concat', ys.map((y) => g.one('Unsqueeze', [y, g.ints('axes', [2])])), { axis: 2 });
}

/** Σᵢ wᵢ·yᵢ with weights w [B, T, n] (or a broadcastable constant) over stacked [B, T, n, C]. */
function mixBranches(g: Graph, w: string, stacked: string): string {
  return g.one('Squeeze', [g.one('MatMul', [g.one('Unsqueeze', [w, g.ints('axes', [-2])]), stacked]), g.ints('axes', [-2])]);
}

/** Input width C and output width C′ of a sequence layer, when the layer fixes them. */
export interface Widths { C: number | null; out: number | null }
const same = (C: number): Widths => ({ C, out: C });

/** How one class of sequence layer exports: x [B, T, C] (and the key mask, when it takes one) → [B, T, C′]. */
export interface SequenceEmitter<M extends Module> {
  cls: abstract new (...args: never[]) => M;
  /**
   * Takes the bool key-mask input: its output depends on other tokens, or it is a block (whose
   * forward takes one). Dropout keeps the input too, so it can stand in for any of them.
   */
  keyMask: boolean;
  widths(m: M): Widths;
  /** `keyMask` is the bool [B, T] value name (null: every token real). */
  emit(g: Graph, x: string, m: M, keyMask: string | null): string;
}
const seq = <M extends Module>(e: SequenceEmitter<M>): SequenceEmitter<M> => e;

function emitSinusoidal(g: Graph, x: string, m: SinusoidalPositionalEncoding): string {
  // PE[p, 2i] = sin(p / base^(2i/dim)), PE[p, 2i+1] = cos(…)
  const dim = m.options.dim, base = m.options.base ?? 10000;
  const inv = Float32Array.from({ length: dim }, (_, i) => 1 / Math.pow(base, (i - (i % 2)) / dim));
  const angles = g.one('Mul', [g.one('Unsqueeze', [g.one('Cast', [positions(g, x)], { to: 1 }), g.ints('axes', [1])]), g.const('pe_inv_freq', inv, [1, dim])]);
  const even = g.one('Cast', [g.const('pe_even', Float32Array.from({ length: dim }, (_, i) => (i % 2 === 0 ? 1 : 0)), [dim])], { to: 9 });
  return g.one('Add', [x, g.one('Where', [even, g.one('Sin', [angles]), g.one('Cos', [angles])])]);
}

function emitSparse(g: Graph, x: string, m: SparseSelfAttention, keyMask: string | null): string {
  const C = m.options.embedDim, H = m.options.numHeads, D = C / H;
  const [q, k, v] = g.op('Split', [emitLinear(g, x, m.inProj), g.ints('split', [C, C, C])], { axis: -1 }, 3).map((t) => splitHeads(g, t, H, D));
  const o = emitAttend(g, q, k, v, and(g, sparseMask(g, x, m), keyMask && keyMask4(g, keyMask)), 1 / Math.sqrt(D));
  return emitLinear(g, mergeHeads(g, o, C), m.outProj);
}

function emitConvBlock(g: Graph, x: string, m: ConvBlock, keyMask: string | null): string {
  const k = m.options.kernelSize, d = m.options.dilation ?? 1, span = d * (k - 1), left = m.options.causal ? span : span / 2;
  const conv = m.conv;
  const h = g.one('Transpose', [zeroPadded(g, x, keyMask)], { perm: [0, 2, 1] });                     // [B, C, T]
  const inputs = [h, g.const('conv_weight', f32(conv.weight), [...conv.weight.shape])];
  if (conv.bias) inputs.push(g.const('conv_bias', f32(conv.bias), [...conv.bias.shape]));
  const y = g.one('Conv', inputs, { dilations: [d], pads: [left, span - left], strides: [1], group: conv.options.groups ?? 1, kernel_shape: [k] });
  return zeroPadded(g, g.one('Transpose', [emitGelu(g, y)], { perm: [0, 2, 1] }), keyMask);
}

function emitSerial(g: Graph, x: string, m: Serial, keyMask: string | null): string {
  const residual = m.options.residual ?? true, norm = m.options.norm ?? 'pre';
  return m.layers.reduce((y, layer, i) => {
    const inp = norm === 'pre' ? emitLayerNorm(g, y, m.norms[i]) : y;
    let out = emitSequence(g, inp, layer, keyMask);
    if (residual) out = g.one('Add', [y, out]);
    return norm === 'post' ? emitLayerNorm(g, out, m.norms[i]) : out;
  }, x);
}

function emitParallel(g: Graph, x: string, m: Parallel, keyMask: string | null): string {
  const ys = m.branches.map((b) => emitSequence(g, x, b, keyMask));
  switch (m.options.merge) {
    case 'concat': {
      const c = g.one('Concat', ys, { axis: -1 });
      return m.proj ? emitLinear(g, c, m.proj) : c;
    }
    case 'sum': return ys.reduce((a, b) => g.one('Add', [a, b]));
    case 'mean': return g.one('Div', [ys.reduce((a, b) => g.one('Add', [a, b])), g.scalar(ys.length)]);
    case 'gated': return mixBranches(g, g.one('Sigmoid', [emitLinear(g, g.one('Concat', ys, { axis: -1 }), m.gateProj!)]), stackBranches(g, ys));
    case 'attention': {
      const s = stackBranches(g, ys);                                                              // [B, T, n, C]
      const scores = g.one('Squeeze', [emitLinear(g, g.one('Tanh', [emitLinear(g, s, m.scoreW!)]), m.scoreV!), g.ints('axes', [-1])]);
      return mixBranches(g, g.one('Softmax', [scores], { axis: -1 }), s);
    }
  }
}

function emitFusion(g: Graph, x: string, m: Fusion, keyMask: string | null): string {
  const h = emitLayerNorm(g, x, m.norm);
  const ys = stackBranches(g, m.mechanisms.map((b) => emitSequence(g, h, b, keyMask)));
  let w: string;
  if (m.gateLogits) {
    const z = Array.from(m.gateLogits.data), top = Math.max(...z), e = z.map((v) => Math.exp(v - top)), s = e.reduce((a, b) => a + b, 0);
    w = g.const('fusion_gates', Float32Array.from(e.map((v) => v / s)), [1, 1, z.length]);
  } else w = g.one('Sigmoid', [emitLinear(g, h, m.gateProj!)]);
  return g.one('Add', [x, mixBranches(g, w, ys)]);
}

const km4 = (g: Graph, keyMask: string | null): string | null => keyMask && keyMask4(g, keyMask);

/**
 * Every sequence layer the exporter knows, one entry per class (first `instanceof` match wins).
 * `exportOnnx` exports each of them as a whole model too, and its option checks and the option
 * tests walk this table, so a layer added here is covered everywhere.
 */
export const SEQUENCE_EMITTERS = {
  Linear: seq({ cls: Linear, keyMask: false, widths: (m) => ({ C: m.inFeatures, out: m.outFeatures }), emit: (g, x, m) => emitLinear(g, x, m) }),
  LayerNorm: seq({ cls: LayerNorm, keyMask: false, widths: (m) => same(m.normalizedShape[0]), emit: (g, x, m) => emitLayerNorm(g, x, m) }),
  MultiHeadAttention: seq({ cls: MultiHeadAttention, keyMask: true, widths: (m) => same(m.embedDim), emit: (g, x, m, km) => emitMha(g, x, x, m, km4(g, km)) }),
  TransformerEncoderLayer: seq({ cls: TransformerEncoderLayer, keyMask: true, widths: (m) => same(m.options.dModel), emit: (g, x, m, km) => emitEncoderLayer(g, x, m, km4(g, km)) }),
  TransformerEncoder: seq({ cls: TransformerEncoder, keyMask: true, widths: (m) => same(m.options.dModel), emit: (g, x, m, km) => emitEncoder(g, x, m, km4(g, km)) }),
  SparseSelfAttention: seq({ cls: SparseSelfAttention, keyMask: true, widths: (m) => same(m.options.embedDim), emit: emitSparse }),
  LinearSelfAttention: seq({ cls: LinearSelfAttention, keyMask: true, widths: (m) => same(m.options.embedDim), emit: emitLinearSelfAttention }),
  LinformerSelfAttention: seq({ cls: LinformerSelfAttention, keyMask: true, widths: (m) => same(m.options.embedDim), emit: emitLinformer }),
  SelfAttentionBlock: seq({
    cls: SelfAttentionBlock, keyMask: true, widths: (m) => same(m.options.dim),
    emit: (g, x, m, km) => emitMha(g, x, x, m.attn, and(g, m.options.causal ? causalMask(g, x) : null, km4(g, km))),
  }),
  ConvBlock: seq({ cls: ConvBlock, keyMask: true, widths: (m) => same(m.options.dim), emit: emitConvBlock }),
  FeedForwardBlock: seq({ cls: FeedForwardBlock, keyMask: true, widths: (m) => same(m.options.dim), emit: (g, x, m) => emitFeedForward(g, x, m, m.options.activation === 'relu' ? 'relu' : 'gelu') }),
  LocalAttentionBlock: seq({ cls: LocalAttentionBlock, keyMask: true, widths: (m) => same(m.options.dim), emit: (g, x, m, km) => emitSequence(g, x, m.attn, km) }),
  LinearAttentionBlock: seq({ cls: LinearAttentionBlock, keyMask: true, widths: (m) => same(m.options.dim), emit: (g, x, m, km) => zeroPadded(g, emitSequence(g, x, m.attn, km), km) }),
  TransformerBlock: seq({ cls: TransformerBlock, keyMask: true, widths: (m) => same(m.options.dim), emit: (g, x, m, km) => emitEncoderLayer(g, x, m.layer, km4(g, km)) }),
  Serial: seq({ cls: Serial, keyMask: true, widths: (m) => same(m.options.dim), emit: emitSerial }),
  Parallel: seq({ cls: Parallel, keyMask: true, widths: (m) => ({ C: m.options.dim, out: m.outDim }), emit: emitParallel }),
  Fusion: seq({ cls: Fusion, keyMask: true, widths: (m) => same(m.options.dim), emit: emitFusion }),
  Dropout: seq({ cls: Dropout, keyMask: true, widths: () => ({ C: null, out: null }), emit: (_g, x) => x }),
  SinusoidalPositionalEncoding: seq({ cls: SinusoidalPositionalEncoding, keyMask: false, widths: (m) => same(m.options.dim), emit: (g, x, m) => emitSinusoidal(g, x, m) }),
  LearnedPositionalEmbedding: seq({
    cls: LearnedPositionalEmbedding, keyMask: false, widths: (m) => same(m.options.dim),
    emit: (g, x, m) => g.one('Add', [x, g.one('Gather', [g.const('pos', f32(m.weight), [...m.weight.shape]), positions(g, x)], { axis: 0 })]),
  }),
};

/** The class names of the sequence layers, in table order. */
export type SequenceLayerName = keyof typeof SEQUENCE_EMITTERS;

/** The table entry exporting `m`, or null. */
export function sequenceEmitterOf(m: Module): SequenceEmitter<Module> | null {
  for (const e of Object.values(SEQUENCE_EMITTERS) as SequenceEmitter<Module>[]) if (m instanceof e.cls) return e;
  return null;
}

/**
 * Any supported sequence layer: x [B, T, C] → [B, T, C′]. `keyMask` is the bool [B, T] input
 * (null: every token real).
 */
export function emitSequence(g: Graph, x: string, m: Module, keyMask: string | null): string {
  const e = sequenceEmitterOf(m);
  if (!e) throw unsupported(m.constructor.name, `is not supported inside a sequence layer (supported: ${Object.keys(SEQUENCE_EMITTERS).join(', ')})`);
  return e.emit(g, x, m, keyMask);
}
