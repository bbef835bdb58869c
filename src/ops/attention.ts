import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor, allocFor } from '../tensor/tensor.js';
import { resolveRng, type Generator } from '../tensor/random.js';
import { backend, type AttnExtra, type AttnLayout, type AttnMask, type AttnOptions, type AttnShape, type AttnView, type FloatArray } from '../backend/backend.js';
import { contiguousStrides } from '../backend/buffers.js';
import { dropoutKeep, dropoutThreshold } from '../backend/dropoutHash.js';
import { apply, applyWithSaved, type Primitive } from './primitive.js';
import { fdata, floatArg } from './util.js';
import { add, mul, where } from './elementwise.js';
import { matmul } from './linalg.js';
import { softmax } from './softmax.js';
import { expand, reshape, transpose } from './shape.js';
import { checkOptions } from '../config.js';
import { type BlockMask, checkBlockMask } from './blockMask.js';
import { type RelativeBias, checkRelativeBias, relativeBuckets, relativePositionBias } from './relativeBias.js';
import { blockWeightsPrim } from './blockWeights.js';

/** `floatMask` and `relTable`: whether the inputs after the operands hold a float mask, then a relative bias table. */
export interface FusedAttrs { shape: AttnShape; opts: AttnOptions; mask: AttnMask; extra: AttnExtra; floatMask: boolean; relTable: boolean }

/** Fused attention: inputs [q, k, v, floatMask?, relTable?]; saves the row log-sum-exp. */
export const attentionPrim: Primitive<FusedAttrs, Tensor> = {
  name: 'attention',
  forward: ([q, k, v], { shape, opts, mask, extra }) => {
    const { out, lse } = backend().attentionForward(fdata(q), fdata(k), fdata(v), shape, opts, mask, undefined, extra);
    return { out: new Tensor(out, [shape.B, shape.H, shape.T, shape.Dv]), saved: new Tensor(lse, [shape.B, shape.H, shape.T]) };
  },
  backward: (g, { inputs: [q, k, v, ...more], out, saved, attrs }) => {
    const { d, dMore } = fusedBackward(q, k, v, more, out, saved, g, attrs);
    return [new Tensor(d.dq, q.shape), new Tensor(d.dk, k.shape), new Tensor(d.dv, v.shape), ...dMore];
  },
};

/** The fused kernel's backward for either primitive, and the gradients of its float mask and relative bias table when it takes them. */
function fusedBackward(
  q: Tensor, k: Tensor, v: Tensor, more: Tensor[], out: Tensor, lse: Tensor, g: Tensor, attrs: FusedAttrs, layout?: AttnLayout,
): { d: { dq: FloatArray; dk: FloatArray; dv: FloatArray }; dMore: (Tensor | null)[] } {
  const m = attrs.floatMask ? more[0] : undefined, rel = attrs.relTable ? more[attrs.floatMask ? 1 : 0] : undefined;
  const dm = m !== undefined && m.requiresGrad ? allocFor(m.dtype, m.size) as FloatArray : null;
  const extra = rel && attrs.extra.rel ? { ...attrs.extra, rel: { ...attrs.extra.rel, grad: rel.requiresGrad } } : attrs.extra;
  const d = backend().attentionBackward(fdata(q), fdata(k), fdata(v), fdata(out), fdata(lse), fdata(g), attrs.shape, attrs.opts, attrs.mask, dm, layout, extra);
  const dMore: (Tensor | null)[] = [];
  if (m !== undefined) dMore.push(dm ? new Tensor(dm, m.shape) : null);
  if (rel !== undefined) dMore.push(d.dRel ? new Tensor(d.dRel, rel.shape) : null);
  return { d, dMore };
}

/**
 * Fused attention on packed self-attention projections: input [qkv] or [qkv, floatMask] with qkv
 * [B, T, (H + 2·Hkv)·D], output [B, T, H·Dv] — the kernels read the heads in place and write the
 * merged heads, so no split, transpose or merge is materialised, and the gradient is one buffer.
 */
export const packedAttentionPrim: Primitive<FusedAttrs & { layout: AttnLayout }, Tensor> = {
  name: 'packedAttention',
  forward: ([x], { shape, opts, mask, layout, extra }) => {
    const d = fdata(x);
    const { out, lse } = backend().attentionForward(d, d, d, shape, opts, mask, layout, extra);
    return { out: new Tensor(out, [shape.B, shape.T, shape.H * shape.Dv]), saved: new Tensor(lse, [shape.B, shape.H, shape.T]) };
  },
  backward: (g, { inputs: [x, ...more], out, saved, attrs }) => {
    const { d, dMore } = fusedBackward(x, x, x, more, out, saved, g, attrs, attrs.layout);  // dq, dk, dv: one buffer
    return [new Tensor(d.dq, x.shape), ...dMore];
  },
};

export interface SdpaOptions {
  /**
   * Bool mask (true = may attend) or additive float mask, broadcastable to [B, H, T, S].
   * Combines with `causal`. A query row with nothing to attend to gives zeros.
   */
  mask?: Tensor | null;
  /** Query i sees keys j ≤ i (top-left aligned, as PyTorch's is_causal). */
  causal?: boolean;
  /** Multiplies q·kᵀ; default 1/√D. */
  scale?: number;
  /** Probability of dropping an attention weight (applied when > 0; draws from `rng`, or the default generator). */
  dropout?: number;
  rng?: Generator;
  /**
   * Also return the attention weights [B, H, T, S] (before dropout). Without `blockMask` this takes the
   * unfused path; with one, the output stays fused and the weights are computed on the touched tiles
   * only (zeros elsewhere; O(touched tiles·D) work, the [B, H, T, S] result the only O(T·S) memory).
   */
  returnWeights?: boolean;
  /**
   * Block mask [B or 1, H or 1, T, S] (`createBlockMask`, `causalBlockMask`, `nn.patternBlockMask`):
   * combines with `mask` and `causal`; the fused kernel computes only the tiles it touches. A key it
   * (or `causal`) hides is −∞ whatever a float `mask` holds there (masked_fill: NaN or +∞ there stays hidden).
   */
  blockMask?: BlockMask | null;
  /**
   * ALiBi slopes [H] (`nn.alibiSlopes(H)`): adds −slope_h·|i + max(0, S − T) − j| to the scaled
   * scores (the bias of `nn.alibiBias`), computed in the kernel: no [H, T, S] tensor.
   */
  alibiSlopes?: ArrayLike<number> | null;
  /**
   * Relative position bias `{ table [H, 2·maxDistance + 1], maxDistance }` (T5 / Shaw): adds
   * table[h, clamp(j − i, −maxDistance, maxDistance) + maxDistance] to the scaled scores (after ALiBi,
   * before `mask`), computed in the kernel: no [H, T, S] tensor. The table gets its gradient (dS summed
   * over the positions of each column) from the fused backward. `F.relativePositionBias` materialises it.
   */
  relativeBias?: RelativeBias | null;
}

/**
 * softmax(q·kᵀ·scale + mask)·v on q [B, H, T, D], k [B, Hkv, S, D], v [B, Hkv, S, Dv] → [B, H, T, Dv].
 * Hkv may divide H (grouped-query / multi-query attention: head h reads kv head ⌊h·Hkv/H⌋).
 * Without `returnWeights` it runs the fused kernel (O(T) extra memory on the native backend).
 *
 * @example
 * const out = scaledDotProductAttention(q, k, v, { causal: true });              // [B, H, T, D]
 * const { output, weights } = scaledDotProductAttention(q, k, v, { mask, returnWeights: true });
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: SdpaOptions & { returnWeights: true }): { output: Tensor; weights: Tensor };
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options?: SdpaOptions & { returnWeights?: false }): Tensor;
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options?: SdpaOptions): Tensor | { output: Tensor; weights: Tensor };
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: SdpaOptions = {}): Tensor | { output: Tensor; weights: Tensor } {
  checkOptions('scaledDotProductAttention', options, {
    mask: true, causal: true, scale: true, dropout: true, rng: true, returnWeights: true, blockMask: true, alibiSlopes: true, relativeBias: true,
  });
  const fn = 'scaledDotProductAttention';
  const shape = checkQkv(fn, q, k, v);
  const { opts, mask, extra, rel } = attnOptions(fn, options, shape, q.dtype);
  const more = extraInputs(mask, rel);
  // weights under a block mask: the touched tiles only (finite q and k: see blockWeights.ts), the output fused
  const tiles = options.returnWeights && options.blockMask != null && allFinite(q) && allFinite(k);
  if (options.returnWeights && !tiles) return compositeAttention(q, k, v, shape, opts, mask, options);
  const output = applyWithSaved(attentionPrim, [q, k, v, ...more.inputs], { shape, opts, mask: maskArg(mask), extra, ...more.flags }).out;
  if (!tiles) return output;
  const weights = apply(blockWeightsPrim, [q, k, ...more.inputs], {                   // [B, H, T, S], zeros off the touched tiles
    shape, opts, mask: maskArg(mask), blockMask: options.blockMask!, alibi: extra.alibi ?? null,
    rel: extra.rel ? { nb: extra.rel.nb, buckets: extra.rel.buckets } : null, ...more.flags,
  });
  return { output, weights };
}

function allFinite(t: Tensor): boolean {
  const d = t.data;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return false;
  return true;
}

/** The inputs after the operands (a float mask, a relative bias table) and the flags saying which. */
function extraInputs(mask: Tensor | null, rel: Tensor | null): { inputs: Tensor[]; flags: { floatMask: boolean; relTable: boolean } } {
  const floatMask = !!mask && mask.dtype !== 'bool';
  return { inputs: [...(floatMask ? [mask!] : []), ...(rel ? [rel] : [])], flags: { floatMask, relTable: !!rel } };
}

/** Options shared by the fused entry points: scale, dropout seed, and the mask checked against the shape. */
function attnOptions(fn: string, options: SdpaOptions, shape: AttnShape, dtype: string): { opts: AttnOptions; mask: Tensor | null; extra: AttnExtra; rel: Tensor | null } {
  const scale = options.scale ?? 1 / Math.sqrt(shape.D);
  if (!Number.isFinite(scale)) throw new ValueError(`${fn}: scale must be finite, got ${scale}`);
  const p = options.dropout ?? 0;
  if (!(p >= 0 && p < 1)) throw new ValueError(`${fn}: dropout must be in [0, 1), got ${p}`);
  const seed = p > 0 ? resolveRng(options.rng, fn).nextUint32() : 0;
  const mask = options.mask ?? null;
  if (mask) checkMask(fn, mask, dtype, shape);
  const extra: AttnExtra = {};
  if (options.blockMask != null) {
    const bm = checkBlockMask(fn, options.blockMask, shape.B, shape.H, shape.T, shape.S);
    extra.blocks = { table: bm.table, elems: bm.elems };
  }
  if (options.alibiSlopes != null) extra.alibi = checkSlopes(fn, options.alibiSlopes, shape.H);
  let rel: Tensor | null = null;
  if (options.relativeBias != null) {
    const { table, maxDistance } = checkRelativeBias(fn, options.relativeBias, shape.H, dtype);
    rel = table;
    extra.rel = { table: fdata(table), nb: 2 * maxDistance + 1, buckets: relativeBuckets(shape.T, shape.S, maxDistance) };
  }
  return { opts: { scale, causal: options.causal ?? false, dropout: p, seed }, mask, extra, rel };
}

function checkSlopes(fn: string, slopes: ArrayLike<number>, H: number): Float32Array {
  if (typeof slopes !== 'object' || slopes.length !== H) {
    throw new ShapeError(`${fn}: alibiSlopes must hold one slope per head (${H}), got ${typeof slopes === 'object' ? `${slopes.length} values` : typeof slopes}`);
  }
  const out = Float32Array.from(slopes);
  out.forEach((x, h) => { if (!Number.isFinite(x)) throw new ValueError(`${fn}: alibiSlopes[${h}] must be finite, got ${slopes[h]}`); });
  return out;
}

function maskArg(mask: Tensor | null): AttnMask {
  return !mask ? { kind: 'none' }
    : mask.dtype === 'bool' ? { kind: 'bool', data: mask.data as Uint8Array, strides: maskStrides(mask.shape) }
      : { kind: 'float', data: fdata(mask), strides: maskStrides(mask.shape) };
}

export interface PackedAttentionOptions extends Omit<SdpaOptions, 'returnWeights'> {
  /** Query heads H. */
  numHeads: number;
  /** Key/value heads Hkv (divides H; default H). */
  numKVHeads?: number;
}

/**
 * Self-attention on a packed projection: qkv [B, T, (H + 2·Hkv)·D] holds each position's H query
 * heads, then Hkv key heads, then Hkv value heads (the layout of multi-head attention's packed
 * in-projection). Returns the merged heads [B, T, H·D]. Equal to splitting qkv, moving heads ahead
 * of positions, scaledDotProductAttention, and merging back — without materialising any of those.
 *
 * @example
 * const qkv = F.linear(x, packedWeight, packedBias);                        // [B, T, 3C]
 * const merged = F.packedAttention(qkv, { numHeads: 8, causal: true });   // [B, T, C]
 */
export function packedAttention(qkv: Tensor, options: PackedAttentionOptions): Tensor {
  checkOptions('packedAttention', options, {
    mask: true, causal: true, scale: true, dropout: true, rng: true, numHeads: true, numKVHeads: true, blockMask: true, alibiSlopes: true,
    relativeBias: true,
  });
  const fn = 'packedAttention';
  floatArg(qkv, fn, 'qkv');
  const H = options.numHeads, Hkv = options.numKVHeads ?? H;
  if (!Number.isInteger(H) || H < 1) throw new ValueError(`${fn}: numHeads must be a positive integer, got ${H}`);
  if (!Number.isInteger(Hkv) || Hkv < 1 || H % Hkv !== 0) throw new ValueError(`${fn}: numKVHeads (${Hkv}) must be a positive integer dividing numHeads (${H})`);
  if (qkv.ndim !== 3 || qkv.shape[2] % (H + 2 * Hkv) !== 0) {
    throw new ShapeError(`${fn}: qkv must be [B, T, (H + 2·Hkv)·D] = [B, T, ${H + 2 * Hkv}·D], got ${fmtShape(qkv.shape)}`);
  }
  const [B, T, W] = qkv.shape;
  const D = W / (H + 2 * Hkv);
  const shape: AttnShape = { B, H, Hkv, T, S: T, D, Dv: D };
  const { opts, mask, extra, rel } = attnOptions(fn, options, shape, qkv.dtype);
  const more = extraInputs(mask, rel);
  return applyWithSaved(packedAttentionPrim, [qkv, ...more.inputs], { shape, opts, mask: maskArg(mask), layout: packedLayout(shape), extra, ...more.flags }).out;
}

/**
 * The readable, unfused path (materialises the [B, H, T, S] weights). The fused kernel is tested
 * to equal it in values and gradients.
 */
export function compositeAttention(
  q: Tensor, k: Tensor, v: Tensor, s: AttnShape, o: AttnOptions, mask: Tensor | null,
  more: { blockMask?: BlockMask | null; alibiSlopes?: ArrayLike<number> | null; relativeBias?: RelativeBias | null } = {},
): { output: Tensor; weights: Tensor } {
  const kk = repeatKv(k, s), vv = repeatKv(v, s);                          // [B, H, S, D], [B, H, S, Dv]
  const scoresOf = (qq: Tensor, kt: Tensor, m: Tensor | null, rel: RelativeBias | null | undefined): Tensor => {
    let scores = mul(matmul(qq, transpose(kt, -2, -1)), o.scale);           // [B, H, T, S]
    if (more.alibiSlopes) scores = add(scores, alibiTensor(more.alibiSlopes, s, q.dtype)); // − slope_h·|i − j|
    if (rel) scores = add(scores, relativePositionBias(rel, s.T, s.S));     // [1, H, T, S]: table[h, clamp(j − i) + M]
    if (m) scores = m.dtype === 'bool' ? where(m, scores, -Infinity) : add(scores, m);
    // hiding comes last (masked_fill): a hidden key is −∞ whatever the float mask holds there (NaN, +∞)
    if (o.causal) scores = where(causalMask(s.T, s.S), scores, -Infinity);  // j ≤ i
    if (more.blockMask) scores = where(more.blockMask.toDense(), scores, -Infinity); // [Bm, Hm, T, S]
    return scores;
  };
  const first = scoresOf(q, kk, mask, more.relativeBias);
  // A query whose every score is −∞ (all its keys hidden) attends to nothing: zeros out, and no gradient from
  // its row, as the fused kernel skips it. Its 0-weights times a NaN or ±∞ (in v, or in q·k through the
  // gradients) would be NaN here, so when there is such a row (rarely) the scores are taken again without it.
  const empty = emptyRows(first);
  if (!empty) {
    const weights = softmax(first, -1);                                     // [B, H, T, S], masked rows 0
    return { output: matmul(dropout(weights), vv), weights };               // [B, H, T, Dv]
  }
  const scores = where(empty, -Infinity, scoresOf(where(empty, 0, q), kk, mask, more.relativeBias));
  const weights = softmax(scores, -1);
  return { output: where(empty, 0, matmul(dropout(weights), vv)), weights };

  function dropout(weights: Tensor): Tensor {
    return o.dropout > 0 ? mul(where(dropoutMask(s, o), weights, 0), 1 / (1 - o.dropout)) : weights;
  }
}

/** [B, H, T, 1] bool: true on the rows of `scores` [B, H, T, S] whose every entry is −∞ (a NaN is not); null when none is. */
function emptyRows(scores: Tensor): Tensor | null {
  const d = scores.data, S = scores.shape[3], rows = d.length / S;
  const out = new Uint8Array(rows);
  let any = false;
  for (let r = 0; r < rows; r++) {
    let all = true;
    for (let j = 0; j < S && all; j++) all = d[r * S + j] === -Infinity;
    if (all) { out[r] = 1; any = true; }
  }
  return any ? new Tensor(out, [scores.shape[0], scores.shape[1], scores.shape[2], 1]) : null;
}

/** [1, H, T, S]: −slope_h·|i + max(0, S − T) − j|, ALiBi's bias materialised (the unfused path only). */
function alibiTensor(slopes: ArrayLike<number>, s: AttnShape, dtype: Tensor['dtype']): Tensor {
  const sl = Float32Array.from(slopes);
  const b = dtype === 'float64' ? new Float64Array(s.H * s.T * s.S) : new Float32Array(s.H * s.T * s.S);
  const shift = Math.max(0, s.S - s.T);
  for (let h = 0; h < s.H; h++) for (let i = 0; i < s.T; i++) for (let j = 0; j < s.S; j++) b[(h * s.T + i) * s.S + j] = -sl[h]! * Math.abs(i + shift - j);
  return new Tensor(b, [1, s.H, s.T, s.S]);
}

function repeatKv(t: Tensor, s: AttnShape): Tensor {
  if (s.Hkv === s.H) return t;
  const g = s.H / s.Hkv, [B, Hkv, S, D] = t.shape;
  return reshape(expand(reshape(t, [B, Hkv, 1, S, D]), [B, Hkv, g, S, D]), [B, s.H, S, D]);
}

/** The views of packed self-attention: qkv [B, T, (H + 2·Hkv)·D] in, out [B, T, H·Dv]. */
function packedLayout(s: AttnShape): AttnLayout {
  const W = s.H * s.D + s.Hkv * s.D + s.Hkv * s.Dv;
  const view = (offset: number, d: number): AttnView => ({ offset, sb: s.T * W, sh: d, sr: W });
  return {
    q: view(0, s.D), k: view(s.H * s.D, s.D), v: view((s.H + s.Hkv) * s.D, s.Dv),
    o: { offset: 0, sb: s.T * s.H * s.Dv, sh: s.Dv, sr: s.H * s.Dv },
  };
}

/** [T, S] bool: true where key j ≤ query i (top-left aligned, as `causal` everywhere). */
export function causalMask(T: number, S: number): Tensor {
  const out = new Uint8Array(T * S);
  for (let i = 0; i < T; i++) for (let j = 0; j <= Math.min(i, S - 1); j++) out[i * S + j] = 1;
  return new Tensor(out, [T, S]);
}

/** The keep decisions the kernels make, as a bool tensor [B, H, T, S] (for the unfused path). */
export function dropoutMask(s: AttnShape, o: AttnOptions): Tensor {
  const n = s.B * s.H * s.T * s.S;
  const thr = dropoutThreshold(o.dropout);
  const keep = new Uint8Array(n);
  for (let i = 0; i < n; i++) keep[i] = dropoutKeep(o.seed, i, thr) ? 1 : 0;
  return new Tensor(keep, [s.B, s.H, s.T, s.S]);
}

/** Strides reading a mask broadcast to [B, H, T, S] (0 along broadcast dims). */
function maskStrides(shape: readonly number[]): number[] {
  const full = [1, 1, 1, 1].map((d, i) => shape[i - (4 - shape.length)] ?? d);
  const st = contiguousStrides(full);
  return full.map((n, i) => (n === 1 ? 0 : st[i]));
}

function checkQkv(fn: string, q: Tensor, k: Tensor, v: Tensor): AttnShape {
  floatArg(q, fn, 'q');
  floatArg(k, fn, 'k');
  floatArg(v, fn, 'v');
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) {
    throw new ShapeError(`${fn}: q, k, v must be [B, H, T, D], got q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`);
  }
  if (q.dtype !== k.dtype || q.dtype !== v.dtype) throw new DTypeError(`${fn}: q, k, v dtypes differ (${q.dtype}, ${k.dtype}, ${v.dtype})`);
  const [B, H, T, D] = q.shape, [Bk, Hkv, S, Dk] = k.shape, [Bv, Hv, Sv, Dv] = v.shape;
  if (Dk !== D) throw new ShapeError(`${fn}: k has head dim ${Dk} (shape ${fmtShape(k.shape)}), q has ${D} (shape ${fmtShape(q.shape)})`);
  if (Bk !== B || Bv !== B) throw new ShapeError(`${fn}: batch sizes differ: q ${B}, k ${Bk}, v ${Bv}`);
  if (Hv !== Hkv || Sv !== S) throw new ShapeError(`${fn}: v has shape ${fmtShape(v.shape)}, expected [${B}, ${Hkv}, ${S}, Dv] to match k ${fmtShape(k.shape)}`);
  if (Hkv < 1 || H % Hkv !== 0) throw new ShapeError(`${fn}: key/value heads (${Hkv}) must divide query heads (${H})`);
  return { B, H, Hkv, T, S, D, Dv };
}

function checkMask(fn: string, mask: Tensor, dtype: string, s: AttnShape): void {
  if (!(mask instanceof Tensor)) throw new DTypeError(`${fn}: mask must be a Tensor`);
  if (mask.dtype !== 'bool' && mask.dtype !== dtype) {
    throw new DTypeError(`${fn}: mask must be bool (true = may attend) or ${dtype} (additive), got ${mask.dtype}`);
  }
  const target = [s.B, s.H, s.T, s.S];
  const off = 4 - mask.ndim;
  if (off < 0 || mask.shape.some((n, i) => n !== 1 && n !== target[i + off])) {
    throw new ShapeError(`${fn}: mask has shape ${fmtShape(mask.shape)}, which does not broadcast to [B, H, T, S] = ${fmtShape(target)}`);
  }
}

/** This family's primitives, by registry name (collected by registry.ts: a new primitive here needs no other edit). */
export const prims = { attention: attentionPrim, packedAttention: packedAttentionPrim, blockWeights: blockWeightsPrim };
