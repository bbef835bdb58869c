/**
 * Sparse attention patterns — sliding window (one- or two-sided, dilated), blocks, global
 * tokens (Longformer), and block-sparse window + global + random blocks (BigBird) — compiled to a
 * block mask and run by the fused attention kernel, which visits only the tiles the pattern
 * touches: O(T·W·D) time, O(T) extra memory, never materialising T×S.
 *
 * A pattern lists, for every query i, W key positions (some marked invalid) plus the queries
 * that attend to everything (global rows). `patternToMask` gives the equivalent dense mask, and
 * the tests prove sparseAttention equals masked full attention with it, values and gradients.
 */
import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { Generator, resolveRng } from '../../tensor/random.js';
import { reshape } from '../../ops/shape.js';
import { scaledDotProductAttention } from '../../ops/attention.js';
import type { RelativeBias } from '../../ops/relativeBias.js';
import { type BlockMask, buildBlockMask } from '../../ops/blockMask.js';
import { Module, Parameter } from '../module.js';
import { Linear } from '../linear.js';
import { checkPositiveInt, checkRng } from '../init.js';
import { checkHeads, mergeHeads, projectHeads } from './heads.js';
import { relativeBiasTable } from './positional.js';
import { checkOptions, checkRequiredOptions } from '../../config.js';
import type { AttentionOutput, SelfAttentionForwardOptions } from './contract.js';

/** Which keys each query reads: `index[i·width + w]` is a key position, used where `valid` is 1. */
export interface SparsePattern {
  /** Sequence length (queries and keys). */
  T: number;
  /** Key slots per query. */
  width: number;
  index: Int32Array;
  valid: Uint8Array;
  /** Queries that attend to every key (global tokens), sorted. */
  fullRows: number[];
}

function build(T: number, width: number, keys: (i: number) => number[], fullRows: number[] = []): SparsePattern {
  const index = new Int32Array(T * width), valid = new Uint8Array(T * width);
  for (let i = 0; i < T; i++) {
    const seen = new Set<number>();
    let w = 0;
    for (const j of keys(i)) {
      if (j < 0 || j >= T || seen.has(j)) continue;
      seen.add(j);
      index[i * width + w] = j;
      valid[i * width + w] = 1;
      w++;
    }
  }
  return { T, width, index, valid, fullRows: [...new Set(fullRows)].sort((a, b) => a - b) };
}

/**
 * Sliding window: query i reads keys i + d·o for o in [−w, w] (two-sided) or [−w, 0]
 * (one-sided, causal), d = dilation. Width 2w + 1 (or w + 1).
 */
export function slidingWindowPattern(T: number, options: { window: number; oneSided?: boolean; dilation?: number }): SparsePattern {
  checkOptions('slidingWindowPattern', options, { window: true, oneSided: true, dilation: true });
  const fn = 'slidingWindowPattern';
  checkPositiveInt(T, fn, 'T');
  const w = options.window;
  if (!Number.isInteger(w) || w < 0) throw new ValueError(`${fn}: window must be a non-negative integer, got ${String(w)}`);
  const d = checkPositiveInt(options.dilation ?? 1, fn, 'dilation');
  if (w * d >= T) throw new ValueError(`${fn}: window ${w} × dilation ${d} reaches past the sequence (T = ${T}); use full attention`);
  const lo = -w, hi = options.oneSided ? 0 : w;
  return build(T, hi - lo + 1, (i) => Array.from({ length: hi - lo + 1 }, (_, o) => i + (lo + o) * d));
}

/** Block (chunked) attention: query i reads the keys of its own block of `blockSize` positions. */
export function blockPattern(T: number, options: { blockSize: number }): SparsePattern {
  checkOptions('blockPattern', options, { blockSize: true });
  const fn = 'blockPattern';
  checkPositiveInt(T, fn, 'T');
  const b = checkPositiveInt(options.blockSize, fn, 'blockSize');
  if (b > T) throw new ValueError(`${fn}: blockSize ${b} exceeds the sequence length ${T}`);
  return build(T, b, (i) => {
    const start = Math.floor(i / b) * b;
    return Array.from({ length: b }, (_, o) => start + o);
  });
}

/**
 * Adds global tokens (Longformer): every query also reads the global positions, and the global
 * positions' queries read everything. Returns a new pattern of width + globals.length.
 */
export function withGlobalTokens(p: SparsePattern, globals: number[]): SparsePattern {
  const fn = 'withGlobalTokens';
  for (const g of globals) if (!Number.isInteger(g) || g < 0 || g >= p.T) throw new ValueError(`${fn}: global position ${g} is outside 0…${p.T - 1}`);
  const keys = (i: number): number[] => {
    const own: number[] = [];
    for (let w = 0; w < p.width; w++) if (p.valid[i * p.width + w]) own.push(p.index[i * p.width + w]!);
    return [...own, ...globals];
  };
  return build(p.T, p.width + globals.length, keys, [...p.fullRows, ...globals]);
}

/**
 * BigBird's block-sparse pattern on blocks of `blockSize`: each query block reads its
 * `windowBlocks` neighbouring blocks (odd, centred), the first `globalBlocks` blocks, and
 * `randomBlocks` other blocks drawn from the seeded generator; the global blocks' queries read
 * everything. T must be a multiple of blockSize.
 */
export function bigBirdPattern(
  T: number, options: { blockSize: number; windowBlocks?: number; globalBlocks?: number; randomBlocks?: number; rng?: Generator },
): SparsePattern {
  const fn = 'bigBirdPattern';
  checkOptions(fn, options, { blockSize: true, windowBlocks: true, globalBlocks: true, randomBlocks: true, rng: true });
  const b = checkPositiveInt(options.blockSize, fn, 'blockSize');
  checkPositiveInt(T, fn, 'T');
  if (T % b !== 0) throw new ValueError(`${fn}: T (${T}) must be a multiple of blockSize (${b}); pad the sequence`);
  const nb = T / b;
  const win = options.windowBlocks ?? 3, glob = options.globalBlocks ?? 1, rnd = options.randomBlocks ?? 1;
  if (!Number.isInteger(win) || win < 1 || win % 2 === 0) throw new ValueError(`${fn}: windowBlocks must be an odd positive integer, got ${String(win)}`);
  if (!Number.isInteger(glob) || glob < 0 || !Number.isInteger(rnd) || rnd < 0) throw new ValueError(`${fn}: globalBlocks and randomBlocks must be non-negative integers`);
  const rng = rnd > 0 ? resolveRng(options.rng, fn) : undefined;
  if (win + glob + rnd > nb) throw new ValueError(`${fn}: ${win} window + ${glob} global + ${rnd} random blocks exceed the ${nb} blocks of T = ${T}; use full attention`);
  const blocksOf = new Map<number, number[]>();
  for (let qb = 0; qb < nb; qb++) {
    const chosen = new Set<number>();
    for (let o = -(win - 1) / 2; o <= (win - 1) / 2; o++) if (qb + o >= 0 && qb + o < nb) chosen.add(qb + o);
    for (let g = 0; g < glob; g++) chosen.add(g);
    const others = Array.from({ length: nb }, (_, k) => k).filter((k) => !chosen.has(k));
    for (const k of rng ? rng.shuffle(others).slice(0, rnd) : []) chosen.add(k);
    blocksOf.set(qb, [...chosen].sort((x, y) => x - y));
  }
  const width = (win + glob + rnd) * b;
  const fullRows = Array.from({ length: glob * b }, (_, i) => i);
  return build(T, width, (i) => blocksOf.get(Math.floor(i / b))!.flatMap((kb) => Array.from({ length: b }, (_, o) => kb * b + o)), fullRows);
}

/** The equivalent dense mask [T, T] (true = may attend), for checks and for small inputs. */
export function patternToMask(p: SparsePattern): Tensor {
  const m = new Uint8Array(p.T * p.T);
  for (let i = 0; i < p.T; i++) for (let w = 0; w < p.width; w++) if (p.valid[i * p.width + w]) m[i * p.T + p.index[i * p.width + w]!] = 1;
  for (const g of p.fullRows) m.fill(1, g * p.T, (g + 1) * p.T);
  return new Tensor(m, [p.T, p.T]);
}

const compiled = new WeakMap<SparsePattern, Map<string, BlockMask>>();

/**
 * The pattern as a block mask [1, 1, T, T] of blockQ × blockK tiles (default 64 × 64), for
 * `F.scaledDotProductAttention(q, k, v, { blockMask })`: O(T·W) to build, cached per pattern.
 *
 * @example
 * const bm = nn.patternBlockMask(nn.slidingWindowPattern(4096, { window: 32 }));
 * const out = F.scaledDotProductAttention(q, k, v, { blockMask: bm });   // q, k, v [B, H, 4096, D]
 */
export function patternBlockMask(p: SparsePattern, options: { blockQ?: number; blockK?: number } = {}): BlockMask {
  checkOptions('patternBlockMask', options, { blockQ: true, blockK: true });
  const key = `${options.blockQ ?? 64}x${options.blockK ?? 64}`;
  let byTile = compiled.get(p);
  if (!byTile) compiled.set(p, byTile = new Map());
  let bm = byTile.get(key);
  if (!bm) {
    bm = buildBlockMask('patternBlockMask', { Lq: p.T, Lk: p.T, ...options }, (_b, _h, set, setRow) => {
      for (let i = 0; i < p.T; i++) for (let w = 0; w < p.width; w++) if (p.valid[i * p.width + w]) set(i, p.index[i * p.width + w]!);
      for (const g of p.fullRows) setRow(g);
    });
    byTile.set(key, bm);
  }
  return bm;
}

/**
 * Attention restricted to a sparse pattern: q, k [B, H, T, D], v [B, H, T, Dv] → [B, H, T, Dv].
 * Runs the fused kernel on the pattern's block mask (`patternBlockMask`): only the tiles the
 * pattern touches are computed, O(T) extra memory. `keyMask` [B, T] (true = real token) removes
 * padded keys everywhere. `blockQ` / `blockK` set the tiles (multiples of 16, default 64);
 * `chunkRows` is accepted for compatibility and no longer used. `relativeBias` `{ table [H, 2M + 1],
 * maxDistance: M }` adds a learnable bias per head and clipped offset j − i, in the kernel (as
 * `F.scaledDotProductAttention`'s). `returnWeights: true` also returns the weights [B, H, T, T],
 * computed on the pattern's touched tiles only (zeros elsewhere; the result is O(T²) memory).
 */
export function sparseAttention(q: Tensor, k: Tensor, v: Tensor, pattern: SparsePattern, options: SparseAttentionOptions & { returnWeights: true }): { output: Tensor; weights: Tensor };
export function sparseAttention(q: Tensor, k: Tensor, v: Tensor, pattern: SparsePattern, options?: SparseAttentionOptions & { returnWeights?: false }): Tensor;
export function sparseAttention(
  q: Tensor, k: Tensor, v: Tensor, pattern: SparsePattern, options: SparseAttentionOptions = {},
): Tensor | { output: Tensor; weights: Tensor } {
  const fn = 'sparseAttention';
  checkOptions(fn, options, { keyMask: true, scale: true, chunkRows: true, blockQ: true, blockK: true, relativeBias: true, returnWeights: true });
  const ok = [q, k, v].every((t) => t instanceof Tensor && t.ndim === 4);
  if (!ok || k.shape[0] !== q.shape[0] || v.shape[0] !== q.shape[0] || k.shape[1] !== q.shape[1] || v.shape[1] !== q.shape[1]
    || k.shape[3] !== q.shape[3] || q.shape[2] !== pattern.T || k.shape[2] !== pattern.T || v.shape[2] !== pattern.T) {
    throw new ShapeError(`${fn}: expected q, k [B, H, ${pattern.T}, D] and v [B, H, ${pattern.T}, Dv] for a pattern of T = ${pattern.T}, got ${[q, k, v].map((t) => (t instanceof Tensor ? fmtShape(t.shape) : typeof t)).join(', ')}`);
  }
  const [B, , T] = q.shape as [number, number, number, number];
  if (options.chunkRows !== undefined) checkPositiveInt(options.chunkRows, fn, 'chunkRows');
  let keyMask4: Tensor | null = null;
  const km = options.keyMask ?? null;
  if (km !== null) {
    if (!(km instanceof Tensor) || km.dtype !== 'bool' || km.ndim !== 2 || km.shape[0] !== B || km.shape[1] !== T) {
      throw new ShapeError(`${fn}: keyMask must be bool [B, T] = ${fmtShape([B, T])}, got ${km instanceof Tensor ? `${km.dtype} ${fmtShape(km.shape)}` : typeof km}`);
    }
    keyMask4 = reshape(km, [B, 1, 1, T]);
  }
  const blockMask = patternBlockMask(pattern, { blockQ: options.blockQ, blockK: options.blockK });
  // [B, H, T, Dv] (and the weights [B, H, T, T])
  return scaledDotProductAttention(q, k, v, { mask: keyMask4, scale: options.scale, blockMask, relativeBias: options.relativeBias, returnWeights: options.returnWeights });
}

export interface SparseAttentionOptions {
  /** [B, T] bool, true = real token. */
  keyMask?: Tensor | null;
  scale?: number;
  /** Accepted for compatibility; unused. */
  chunkRows?: number;
  blockQ?: number;
  blockK?: number;
  relativeBias?: RelativeBias | null;
  /** Also return the weights [B, H, T, T] (from the touched tiles only). */
  returnWeights?: boolean;
}

export interface SparseSelfAttentionOptions {
  embedDim: number;
  numHeads: number;
  /** 'window' (sliding), 'block' (chunked) or 'bigBird' (block-sparse window + global + random). */
  pattern: 'window' | 'block' | 'bigBird';
  /** Window half-width w ('window'). */
  window?: number;
  oneSided?: boolean;
  dilation?: number;
  /** Block size ('block', 'bigBird'). */
  blockSize?: number;
  windowBlocks?: number;
  globalBlocks?: number;
  randomBlocks?: number;
  /** Positions that attend to and are attended by everything (Longformer's global tokens; 'window' and 'block'). */
  globalTokens?: number[];
  /**
   * A learnable relative position bias per head over clipped offsets (T5 / Shaw): the parameter
   * `relativeBias` [numHeads, 2·maxDistance + 1], zero at first, added to the scores in the kernel.
   */
  relativeBias?: { maxDistance: number };
  rng?: Generator;
}

/**
 * Self-attention over a sparse pattern with learned projections: x [B, T, C] → [B, T, C], in
 * O(T·W) per head instead of O(T²). The pattern is built for each sequence length (BigBird's
 * random blocks from a generator seeded once at construction, so a length always gets the same
 * pattern). Parameters: inProj (q, k, v packed), outProj, and with `relativeBias: { maxDistance }`
 * the bias table `relativeBias` [numHeads, 2·maxDistance + 1].
 *
 * @example
 * const attn = new nn.SparseSelfAttention({ embedDim: 32, numHeads: 4, pattern: 'window', window: 16, relativeBias: { maxDistance: 32 } });
 * const { output } = attn.forward(x);                                      // x [B, T, 32] → [B, T, 32]
 */
export class SparseSelfAttention extends Module {
  inProj: Linear;
  outProj: Linear;
  /** [numHeads, 2·maxDistance + 1] with the `relativeBias` option, else null. */
  relativeBias: Parameter | null = null;
  private readonly patterns = new Map<number, SparsePattern>();
  private readonly seed: number;

  constructor(readonly options: SparseSelfAttentionOptions) {
    super();
    checkRequiredOptions('SparseSelfAttention', options, {
      embedDim: true, numHeads: true, pattern: true, window: true, oneSided: true, dilation: true, blockSize: true, windowBlocks: true,
      globalBlocks: true, randomBlocks: true, globalTokens: true, relativeBias: true, rng: true,
    });
    const name = 'SparseSelfAttention';
    const rng = checkRng(options, name);
    const C = checkHeads(name, options.embedDim, options.numHeads);
    if (!['window', 'block', 'bigBird'].includes(options.pattern)) throw new ValueError(`${name}: pattern must be 'window', 'block' or 'bigBird', got '${String(options.pattern)}'`);
    this.inProj = new Linear(C, 3 * C, { rng });
    this.outProj = new Linear(C, C, { rng });
    this.seed = rng.nextUint32();
    if (options.relativeBias !== undefined) this.relativeBias = relativeBiasTable(name, options.relativeBias, options.numHeads);
  }

  /** The pattern used for sequences of length T. */
  patternFor(T: number): SparsePattern {
    let p = this.patterns.get(T);
    if (!p) {
      const o = this.options;
      if (o.pattern === 'bigBird') {
        p = bigBirdPattern(T, { blockSize: o.blockSize ?? 16, windowBlocks: o.windowBlocks, globalBlocks: o.globalBlocks, randomBlocks: o.randomBlocks, rng: new Generator(this.seed ^ T) });
      } else {
        p = o.pattern === 'window'
          ? slidingWindowPattern(T, { window: o.window ?? 8, oneSided: o.oneSided, dilation: o.dilation })
          : blockPattern(T, { blockSize: o.blockSize ?? 16 });
        if (o.globalTokens?.length) p = withGlobalTokens(p, o.globalTokens);
      }
      this.patterns.set(T, p);
    }
    return p;
  }

  /**
   * x [B, T, C] → { output [B, T, C], weights? }. With `needWeights`, the weights [B, H, T, T]: the
   * softmax weights under the pattern and keyMask (zero off the pattern), computed on the pattern's
   * touched tiles only (O(T·W) work) but returned dense — O(T²) memory, for inspection. `causal` is
   * refused: the pattern says what each query reads (a one-sided window, `oneSided: true`, is the causal one).
   */
  forward(x: Tensor, options: Omit<SelfAttentionForwardOptions, 'causal'> = {}): AttentionOutput {
    checkOptions('SparseSelfAttention.forward', options, { keyMask: true, needWeights: true });
    const [q, k, v] = projectHeads('SparseSelfAttention.forward', this.inProj, x, this.options.numHeads);
    const pattern = this.patternFor(q.shape[2]!);
    const relativeBias = this.relativeBias ? { table: this.relativeBias, maxDistance: this.options.relativeBias!.maxDistance } : null;
    const opts = { keyMask: options.keyMask, relativeBias };
    if (!options.needWeights) return { output: mergeHeads(sparseAttention(q, k, v, pattern, opts), this.outProj) };
    const r = sparseAttention(q, k, v, pattern, { ...opts, returnWeights: true });                 // [B, H, T, D], [B, H, T, T]
    return { output: mergeHeads(r.output, this.outProj), weights: r.weights };
  }
}
