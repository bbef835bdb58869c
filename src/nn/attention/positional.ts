/**
 * Positional information: sinusoidal (Vaswani et al. 2017), learned, rotary (RoPE, Su et al.
 * 2021) and ALiBi biases (Press et al. 2022).
 */
import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { Generator, moduleGenerator } from '../../tensor/random.js';
import { randn, zeros } from '../../tensor/creation.js';
import { add, mul, neg, toDtype } from '../../ops/elementwise.js';
import { concat, narrow, reshape } from '../../ops/shape.js';
import { dropout } from '../../ops/norm.js';
import { Module, Parameter } from '../module.js';
import { checkPositiveInt, checkRng, checkSequence } from '../init.js';
import { checkOptions, checkRequiredOptions } from '../../config.js';

/**
 * The sinusoidal table [length, dim]: PE[p, 2i] = sin(p / base^(2i/dim)), PE[p, 2i+1] = cos(…),
 * for positions offset … offset+length−1.
 * @example sinusoidalEncoding(128, 64)   // [128, 64]
 */
export function sinusoidalEncoding(length: number, dim: number, options: { base?: number; offset?: number } = {}): Tensor {
  checkOptions('sinusoidalEncoding', options, { base: true, offset: true });
  checkPositiveInt(length, 'sinusoidalEncoding', 'length');
  checkPositiveInt(dim, 'sinusoidalEncoding', 'dim');
  const base = options.base ?? 10000;
  const offset = options.offset ?? 0;
  if (!(base > 1)) throw new ValueError(`sinusoidalEncoding: base must be > 1, got ${base}`);
  const out = new Float32Array(length * dim);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < dim; i += 2) {
      const angle = (p + offset) / Math.pow(base, i / dim);
      out[p * dim + i] = Math.sin(angle);
      if (i + 1 < dim) out[p * dim + i + 1] = Math.cos(angle);
    }
  }
  return new Tensor(out, [length, dim]);
}


/** Adds the sinusoidal table to x [B, T, C] → [B, T, C] (then dropout in training). No parameters. */
export class SinusoidalPositionalEncoding extends Module {
  private readonly rng: Generator | undefined;

  /** `embedDim`: width C of x; `base` (default 10000); `dropout` after the addition (default 0). */
  constructor(readonly options: { embedDim: number; base?: number; dropout?: number; rng?: Generator }) {
    super();
    checkRequiredOptions('SinusoidalPositionalEncoding', options, { embedDim: true, base: true, dropout: true, rng: true });
    checkPositiveInt(options.embedDim, 'SinusoidalPositionalEncoding', 'embedDim');
    const p = options.dropout ?? 0;
    if (!(p >= 0 && p < 1)) throw new ValueError(`SinusoidalPositionalEncoding: dropout must be in [0, 1), got ${p}`);
    this.rng = p > 0 ? moduleGenerator(options.rng, 'SinusoidalPositionalEncoding') : undefined;
  }

  /** x [B, T, C]; `offset` shifts the positions (for continuing a sequence). */
  forward(x: Tensor, options: { offset?: number } = {}): Tensor {
    checkOptions('SinusoidalPositionalEncoding.forward', options, { offset: true });
    checkSequence('SinusoidalPositionalEncoding.forward', 'x', x, this.options.embedDim, 'B, T');
    const pe = toDtype(sinusoidalEncoding(x.shape[1]!, this.options.embedDim, { base: this.options.base, offset: options.offset }), x.dtype);
    return dropout(add(x, pe), this.options.dropout ?? 0, { training: this.training, rng: this.rng });
  }
}

/** A learned table [maxLen, embedDim] (N(0, 1) at start, as nn.Embedding) added to x [B, T, C], T ≤ maxLen. */
export class LearnedPositionalEmbedding extends Module {
  weight: Parameter;

  constructor(readonly options: { maxLen: number; embedDim: number; rng?: Generator }) {
    super();
    checkRequiredOptions('LearnedPositionalEmbedding', options, { maxLen: true, embedDim: true, rng: true });
    checkPositiveInt(options.maxLen, 'LearnedPositionalEmbedding', 'maxLen');
    checkPositiveInt(options.embedDim, 'LearnedPositionalEmbedding', 'embedDim');
    this.weight = new Parameter(randn([options.maxLen, options.embedDim], { rng: checkRng(options, 'LearnedPositionalEmbedding') }));
  }

  forward(x: Tensor): Tensor {
    checkSequence('LearnedPositionalEmbedding.forward', 'x', x, this.options.embedDim, 'B, T');
    const T = x.shape[1]!;
    if (T > this.options.maxLen) {
      throw new ValueError(`LearnedPositionalEmbedding.forward: sequence length ${T} exceeds maxLen ${this.options.maxLen}`);
    }
    return add(x, narrow(this.weight, 0, 0, T));
  }
}

/** cos and sin tables [T, D] for RoPE in the rotate-half layout. */
function ropeTables(T: number, D: number, base: number, offset: number): [Tensor, Tensor] {
  const half = D / 2;
  const cos = new Float32Array(T * D);
  const sin = new Float32Array(T * D);
  for (let p = 0; p < T; p++) {
    for (let i = 0; i < half; i++) {
      const angle = (p + offset) * Math.pow(base, (-2 * i) / D);
      const c = Math.cos(angle), s = Math.sin(angle);
      cos[p * D + i] = cos[p * D + i + half] = c;
      sin[p * D + i] = sin[p * D + i + half] = s;
    }
  }
  return [new Tensor(cos, [T, D]), new Tensor(sin, [T, D])];
}

/**
 * Rotary position embedding on x [..., T, D] (D even), rotate-half layout (GPT-NeoX / Llama):
 * dims i and i + D/2 form a pair rotated by angle p·base^(−2i/D) at position p. Applied to
 * queries and keys, their dot product depends only on the positions' difference.
 * @example const qr = applyRotary(q, { offset: 0 });   // [B, H, T, D]
 */
export function applyRotary(x: Tensor, options: { base?: number; offset?: number } = {}): Tensor {
  const fn = 'applyRotary';
  checkOptions(fn, options, { base: true, offset: true });
  if (!(x instanceof Tensor) || x.ndim < 2) throw new ShapeError(`${fn}: x must be [..., T, D], got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`);
  const T = x.shape[x.ndim - 2]!, D = x.shape[x.ndim - 1]!;
  if (D % 2 !== 0) throw new ShapeError(`${fn}: the last dim D must be even to form rotation pairs, got shape ${fmtShape(x.shape)}`);
  const base = options.base ?? 10000;
  if (!(base > 1)) throw new ValueError(`${fn}: base must be > 1, got ${base}`);
  const [cos, sin] = ropeTables(T, D, base, options.offset ?? 0).map((t) => toDtype(t, x.dtype)) as [Tensor, Tensor];
  const x1 = narrow(x, -1, 0, D / 2), x2 = narrow(x, -1, D / 2, D / 2);
  const rotated = concat([neg(x2), x1], -1);                 // rotate_half(x)
  return add(mul(x, cos), mul(rotated, sin));
}

/**
 * ALiBi head slopes: the geometric sequence 2^(−8/H), 2^(−16/H), …; for H not a power of two,
 * the paper's rule (slopes of the next-lower power of two, then every other slope of the next higher).
 */
export function alibiSlopes(numHeads: number): number[] {
  checkPositiveInt(numHeads, 'alibiSlopes', 'numHeads');
  const pow2 = (n: number): number[] => {
    const start = Math.pow(2, -8 / n);
    return Array.from({ length: n }, (_, i) => Math.pow(start, i + 1));
  };
  if (Number.isInteger(Math.log2(numHeads))) return pow2(numHeads);
  const lower = Math.pow(2, Math.floor(Math.log2(numHeads)));
  return [...pow2(lower), ...pow2(2 * lower).filter((_, i) => i % 2 === 0).slice(0, numHeads - lower)];
}

/**
 * The ALiBi bias [1, H, T, S]: −slope_h·|i − j| for query position i and key position j
 * (queries at positions S−T … S−1 when T < S, as when continuing a sequence). Add it to the
 * scores — as a float mask — in place of position embeddings.
 */
export function alibiBias(numHeads: number, T: number, S: number): Tensor {
  checkPositiveInt(T, 'alibiBias', 'T');
  checkPositiveInt(S, 'alibiBias', 'S');
  const slopes = alibiSlopes(numHeads);
  const out = new Float32Array(numHeads * T * S);
  const shift = Math.max(0, S - T);
  for (let h = 0; h < numHeads; h++)
    for (let i = 0; i < T; i++)
      for (let j = 0; j < S; j++) out[(h * T + i) * S + j] = -slopes[h]! * Math.abs(i + shift - j);
  return reshape(new Tensor(out, [numHeads, T, S]), [1, numHeads, T, S]);
}

/**
 * A layer's `relativeBias: { maxDistance }` option as its parameter: the relative position bias table
 * [numHeads, 2·maxDistance + 1], zero at first (the layer starts as without it), for the kernels'
 * `relativeBias: { table, maxDistance }` (score(i, j) += table[h, clamp(j − i, −M, M) + M]).
 */
export function relativeBiasTable(fn: string, option: unknown, numHeads: number): Parameter {
  if (option === null || typeof option !== 'object') throw new ValueError(`${fn}: relativeBias must be { maxDistance }, got ${option === null ? 'null' : typeof option}`);
  checkOptions(`${fn} relativeBias`, option, { maxDistance: true });
  const M = (option as { maxDistance?: unknown }).maxDistance;
  if (typeof M !== 'number' || !Number.isInteger(M) || M < 0) throw new ValueError(`${fn}: relativeBias.maxDistance must be a non-negative integer, got ${String(M)}`);
  return new Parameter(zeros([numHeads, 2 * M + 1]));
}
