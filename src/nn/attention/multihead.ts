/**
 * Multi-head attention, numerically equal to torch.nn.MultiheadAttention(batch_first=True)
 * with the same weights, plus grouped-query heads, RoPE and ALiBi.
 */
import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { Generator } from '../../tensor/random.js';
import { rand, zeros } from '../../tensor/creation.js';
import { linear } from '../../ops/linalg.js';
import { mul, toDtype } from '../../ops/elementwise.js';
import { mean } from '../../ops/reduce.js';
import { narrow, split } from '../../ops/shape.js';
import { packedAttention, scaledDotProductAttention } from '../../ops/attention.js';
import { Module, Parameter } from '../module.js';
import { Linear } from '../linear.js';
import { SpectralReparam } from '../sigmaReparam.js';
import { checkPositiveInt, checkRng, checkSequence } from '../init.js';
import { attnMask4d, combineMasks, keyMask4d } from './masks.js';
import { alibiBias, applyRotary, relativeBiasTable } from './positional.js';
import { checkOptions, checkRequiredOptions } from '../../config.js';
import { mergeHeads, splitHeads } from './heads.js';
import { SELF_ATTENTION_KEYS, type AttentionOutput, type SelfAttentionForwardOptions } from './contract.js';

export interface MultiHeadAttentionOptions {
  /** Model width C = numHeads × head dim. */
  embedDim: number;
  numHeads: number;
  /** Feature size of keys (default embedDim); a different size gives separate q/k/v projection weights. */
  kDim?: number;
  /** Feature size of values (default embedDim). */
  vDim?: number;
  /** Key/value heads for grouped-query (1 = multi-query) attention; must divide numHeads. Default numHeads. */
  numKVHeads?: number;
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
  /** Dropout on the attention weights in training (default 0). */
  dropout?: number;
  /** Rotary position embedding on queries and keys after projection (true = base 10000). */
  rope?: boolean | { base?: number };
  /** ALiBi distance biases added to the scores. */
  alibi?: boolean;
  /**
   * A learnable relative position bias (T5 / Shaw, clipped): the parameter `relativeBias` [numHeads,
   * 2·maxDistance + 1], zero at first; score(i, j) += relativeBias[h, clamp(j − i, −M, M) + M], added
   * in the fused kernel. Offsets count from the first query and key (j − i); `positionOffset` is refused with it.
   */
  relativeBias?: { maxDistance: number };
  /** Draws the initial weights (and seeds the dropout generator). */
  rng?: Generator;
}

/** The shared self-attention options (keyMask [B, S], causal, needWeights) plus the primitive layer's own. */
export interface MultiHeadForwardOptions extends SelfAttentionForwardOptions {
  /** Bool (true = may attend) or additive float32: [T, S], [B, T, S], [B·H, T, S] or 4-d broadcastable to [B, H, T, S]. */
  attnMask?: Tensor | null;
  /** Average the weights over heads → [B, T, S] (default true, as PyTorch); false → [B, H, T, S]. */
  averageWeights?: boolean;
  /** Position of the first query/key for RoPE (continuing a sequence). */
  positionOffset?: number;
}

/** PyTorch's xavier_uniform_ for a weight [out, in]. */
function xavier(shape: [number, number], rng: Generator, fanOut = shape[0]): Tensor {
  const bound = Math.sqrt(6 / (shape[1] + fanOut));
  return rand(shape, { rng, low: -bound, high: bound });
}

/**
 * Multi-head attention: Concat(head₁…head_H)·Wᴼ, headᵢ = softmax(QWᵢ^Q (KWᵢ^K)ᵀ/√D + mask)·VWᵢ^V.
 * query [B, T, C], key [B, S, kDim], value [B, S, vDim] → output [B, T, C], weights
 * [B, T, S] (averaged) or [B, H, T, S] when asked for. Without `needWeights` it runs the
 * fused attention kernel.
 *
 * Parameters use PyTorch's layout in camelCase: `inProjWeight` [C + 2·Hkv·D, C] (packed q, k, v)
 * when kDim = vDim = C, else `qProjWeight` [C, C], `kProjWeight` [Hkv·D, kDim], `vProjWeight`
 * [Hkv·D, vDim]; `inProjBias`; `outProj.weight`, `outProj.bias`. Load PyTorch weights with
 * `loadStateDict(fromTorchStateDict(state))`.
 *
 * @example
 * const attn = new MultiHeadAttention({ embedDim: 64, numHeads: 8, rng: new Generator(0) });
 * const { output, weights } = attn.forward(x, x, x, { keyMask, needWeights: true }); // [B,T,64], [B,T,T]
 */
export class MultiHeadAttention extends Module {
  inProjWeight: Parameter | null = null;
  qProjWeight: Parameter | null = null;
  kProjWeight: Parameter | null = null;
  vProjWeight: Parameter | null = null;
  inProjBias: Parameter | null = null;
  outProj: Linear;
  readonly embedDim: number;
  readonly numHeads: number;
  readonly numKVHeads: number;
  readonly headDim: number;
  readonly kDim: number;
  readonly vDim: number;
  readonly dropout: number;
  private readonly dropoutRng: Generator;
  /** σReparam of the input projections (packed: one; separate: q, k, v), set by `useSigmaReparam`. */
  reparams: SpectralReparam[] = [];
  /**
   * DropHead rate (Zhou et al. 2020): in training, each head of each sample is dropped with
   * this probability and the kept heads are rescaled by H / kept. Schedules set it per step.
   */
  dropHead = 0;
  /** Rotary positions on queries and keys (null: none). */
  readonly rope: { base: number } | null;
  /** ALiBi distance biases on the scores. */
  readonly alibi: boolean;
  /** The relative position bias table [numHeads, 2·maxDistance + 1] (the `relativeBias` option), else null. */
  relativeBias: Parameter | null = null;
  /** The last ALiBi bias built (its H·T·S loop is worth skipping while lengths repeat). */
  private alibiCache: { T: number; S: number; dtype: string; bias: Tensor } | null = null;

  constructor(options: MultiHeadAttentionOptions) {
    super();
    checkRequiredOptions('MultiHeadAttention', options, { embedDim: true, numHeads: true, kDim: true, vDim: true, numKVHeads: true, bias: true, dropout: true, rope: true, alibi: true, relativeBias: true, rng: true });
    const name = 'MultiHeadAttention';
    const rng = checkRng(options, name);
    this.embedDim = checkPositiveInt(options.embedDim, name, 'embedDim');
    this.numHeads = checkPositiveInt(options.numHeads, name, 'numHeads');
    this.kDim = checkPositiveInt(options.kDim ?? this.embedDim, name, 'kDim');
    this.vDim = checkPositiveInt(options.vDim ?? this.embedDim, name, 'vDim');
    this.numKVHeads = checkPositiveInt(options.numKVHeads ?? this.numHeads, name, 'numKVHeads');
    if (this.embedDim % this.numHeads !== 0) {
      throw new ValueError(`${name}: numHeads (${this.numHeads}) must divide embedDim (${this.embedDim})`);
    }
    if (this.numHeads % this.numKVHeads !== 0) {
      throw new ValueError(`${name}: numKVHeads (${this.numKVHeads}) must divide numHeads (${this.numHeads})`);
    }
    this.headDim = this.embedDim / this.numHeads;
    this.dropout = options.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout < 1)) throw new ValueError(`${name}: dropout must be in [0, 1), got ${this.dropout}`);
    if (typeof options.rope === 'object') checkOptions(`${name} rope`, options.rope, { base: true });
    if (options.rope && this.headDim % 2 !== 0) throw new ValueError(`${name}: rope needs an even head dim, got ${this.headDim}`);
    this.rope = options.rope ? { base: (typeof options.rope === 'object' ? options.rope.base : undefined) ?? 10000 } : null;
    this.alibi = options.alibi ?? false;
    if (options.relativeBias !== undefined) this.relativeBias = relativeBiasTable(name, options.relativeBias, this.numHeads);
    const C = this.embedDim, kv = this.numKVHeads * this.headDim;
    if (this.kDim === C && this.vDim === C) {
      // PyTorch initialises the packed weight as one [3C, C] matrix
      this.inProjWeight = new Parameter(xavier([C + 2 * kv, C], rng));
    } else {
      this.qProjWeight = new Parameter(xavier([C, C], rng));
      this.kProjWeight = new Parameter(xavier([kv, this.kDim], rng));
      this.vProjWeight = new Parameter(xavier([kv, this.vDim], rng));
    }
    const bias = options.bias ?? true;
    if (bias) this.inProjBias = new Parameter(zeros([C + 2 * kv]));
    this.outProj = new Linear(C, C, { rng, bias });
    if (bias) this.outProj.bias!.data.fill(0);
    this.dropoutRng = new Generator(rng.nextUint32());
  }

  private alibiFor(T: number, S: number, dtype: Tensor['dtype']): Tensor {
    const c = this.alibiCache;
    if (c && c.T === T && c.S === S && c.dtype === dtype) return c.bias;
    const bias = toDtype(alibiBias(this.numHeads, T, S), dtype);
    this.alibiCache = { T, S, dtype, bias };
    return bias;
  }

  /** Uses σReparam (Zhai et al. 2023) on every projection weight, the output projection included; returns this. */
  useSigmaReparam(rng: Generator): this {
    if (this.reparams.length === 0) {
      const ws = this.inProjWeight ? [this.inProjWeight] : [this.qProjWeight!, this.kProjWeight!, this.vProjWeight!];
      this.reparams = ws.map((w) => new SpectralReparam(w.shape[0]!, w.shape[1]!, rng));
    }
    this.outProj.useSigmaReparam(rng);
    return this;
  }

  /** The packed input projection as used: reparametrised when σReparam is on. */
  private packedWeight(): Tensor {
    return this.reparams.length ? this.reparams[0].apply(this.inProjWeight!, this.training) : this.inProjWeight!;
  }

  /**
   * The q, k, v projection weights as used ([C, C], [Hkv·D, kDim], [Hkv·D, vDim]; σReparam
   * applied) and biases — views into the packed parameter when packed.
   */
  projections(): { w: [Tensor, Tensor, Tensor]; b: [Tensor | null, Tensor | null, Tensor | null] } {
    const C = this.embedDim, kv = this.numKVHeads * this.headDim;
    const sep = [this.qProjWeight!, this.kProjWeight!, this.vProjWeight!];
    const packed = this.inProjWeight ? this.packedWeight() : null;
    const w: [Tensor, Tensor, Tensor] = packed
      ? [narrow(packed, 0, 0, C), narrow(packed, 0, C, kv), narrow(packed, 0, C + kv, kv)]
      : this.reparams.length ? sep.map((x, i) => this.reparams[i].apply(x, this.training)) as [Tensor, Tensor, Tensor] : sep as [Tensor, Tensor, Tensor];
    const b: [Tensor | null, Tensor | null, Tensor | null] = this.inProjBias
      ? [narrow(this.inProjBias, 0, 0, C), narrow(this.inProjBias, 0, C, kv), narrow(this.inProjBias, 0, C + kv, kv)]
      : [null, null, null];
    return { w, b };
  }

  /** DropHead's mask [B, H, 1, 1]: 0 for dropped heads, H/kept for kept ones (all kept if every head would drop). */
  private headMask(B: number, H: number, dtype: Tensor['dtype']): Tensor {
    const m = dtype === 'float64' ? new Float64Array(B * H) : new Float32Array(B * H);
    for (let b = 0; b < B; b++) {
      let kept = 0;
      for (let h = 0; h < H; h++) if (this.dropoutRng.uniform() >= this.dropHead) { m[b * H + h] = 1; kept++; }
      if (kept === 0) { m.fill(1, b * H, (b + 1) * H); kept = H; }
      for (let h = 0; h < H; h++) m[b * H + h] *= H / kept;
    }
    return new Tensor(m, [B, H, 1, 1]);
  }

  /**
   * query [B, T, C]; key [B, S, kDim] (default query); value [B, S, vDim] (default key).
   * Returns `{ output }` [B, T, C], and with `needWeights` also `weights` (before dropout; the
   * unfused path, same outputs): [B, T, S] averaged over heads, or [B, H, T, S] with
   * `averageWeights: false`.
   */
  forward(query: Tensor, key: Tensor = query, value: Tensor = key, options: MultiHeadForwardOptions = {}): AttentionOutput {
    checkOptions('MultiHeadAttention.forward', options, { ...SELF_ATTENTION_KEYS, attnMask: true, averageWeights: true, positionOffset: true });
    const fn = 'MultiHeadAttention.forward';
    const C = this.embedDim, H = this.numHeads, Hkv = this.numKVHeads, D = this.headDim;
    checkSequence(fn, 'query', query, C);
    checkSequence(fn, 'key', key, this.kDim);
    checkSequence(fn, 'value', value, this.vDim);
    const [B, T] = query.shape as [number, number, number];
    const S = key.shape[1]!;
    if (key.shape[0] !== B || value.shape[0] !== B) {
      throw new ShapeError(`${fn}: batch sizes differ: query ${fmtShape(query.shape)}, key ${fmtShape(key.shape)}, value ${fmtShape(value.shape)}`);
    }
    if (value.shape[1] !== S) throw new ShapeError(`${fn}: key and value lengths differ: key ${fmtShape(key.shape)}, value ${fmtShape(value.shape)}`);

    const mask = combineMasks([
      options.keyMask != null ? keyMask4d(fn, 'keyMask', options.keyMask, B, S) : null,
      options.attnMask != null ? attnMask4d(fn, 'attnMask', options.attnMask, B, H, T, S) : null,
      this.alibi ? this.alibiFor(T, S, query.dtype) : null,
    ], query.dtype);
    const p = this.training ? this.dropout : 0;
    if (this.relativeBias && (options.positionOffset ?? 0) !== 0) {
      throw new ValueError(`${fn}: positionOffset (${options.positionOffset}) cannot be combined with relativeBias, whose offsets count from the first query and key`);
    }
    const relativeBias = this.relativeBias ? { table: this.relativeBias, maxDistance: (this.relativeBias.shape[1]! - 1) / 2 } : null;
    const sdpa = { mask, causal: options.causal ?? false, dropout: p, rng: p > 0 ? this.dropoutRng : undefined, relativeBias };
    const self = this.inProjWeight !== null && key === query && value === query;
    if (self && !this.rope && !options.needWeights && !(this.training && this.dropHead > 0)) {
      // the kernels read the heads in place from the packed projection and write merged heads
      const qkv = linear(query, this.packedWeight(), this.inProjBias);                   // [B, T, (H + 2·Hkv)·D]
      const merged = packedAttention(qkv, { ...sdpa, numHeads: H, numKVHeads: Hkv });   // [B, T, C]
      return { output: this.outProj.forward(merged) };
    }
    let q: Tensor, k: Tensor, v: Tensor;
    if (self) {
      // one packed projection, then split
      [q, k, v] = split(linear(query, this.packedWeight(), this.inProjBias), [C, Hkv * D, Hkv * D], -1) as [Tensor, Tensor, Tensor];
    } else {
      const { w, b } = this.projections();
      q = linear(query, w[0], b[0]);
      k = linear(key, w[1], b[1]);
      v = linear(value, w[2], b[2]);
    }
    q = splitHeads(q, H);                                // [B, H, T, D]
    k = splitHeads(k, Hkv);                              // [B, Hkv, S, D]
    v = splitHeads(v, Hkv);
    if (this.rope) {
      const offset = options.positionOffset ?? 0;
      q = applyRotary(q, { base: this.rope.base, offset: offset + Math.max(0, S - T) });
      k = applyRotary(k, { base: this.rope.base, offset });
    }
    let out: Tensor, weights: Tensor | undefined;
    if (options.needWeights) {
      ({ output: out, weights } = scaledDotProductAttention(q, k, v, { ...sdpa, returnWeights: true }));
      if (options.averageWeights ?? true) weights = mean(weights, 1);
    } else {
      out = scaledDotProductAttention(q, k, v, sdpa);
    }
    if (this.training && this.dropHead > 0) out = mul(out, this.headMask(B, H, out.dtype));          // DropHead
    const output = mergeHeads(out, this.outProj);                  // [B, T, C]
    return weights ? { output, weights } : { output };
  }
}
