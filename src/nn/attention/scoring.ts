/**
 * Attention with a choice of scoring function — the classic family compared in Luong et al.
 * 2015, Bahdanau et al. 2015, Vaswani et al. 2017 — as one layer.
 */
import { DTypeError, ShapeError, ValueError, fmtShape } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { Generator } from '../../tensor/random.js';
import { full } from '../../tensor/creation.js';
import { add, div, exp, mul, sqrt, tanh, toDtype, where } from '../../ops/elementwise.js';
import { matmul } from '../../ops/linalg.js';
import { sum } from '../../ops/reduce.js';
import { softmax } from '../../ops/softmax.js';
import { reshape, squeeze, transpose, unsqueeze } from '../../ops/shape.js';
import { dropout } from '../../ops/norm.js';
import { Module, Parameter } from '../module.js';
import { Linear } from '../linear.js';
import { checkPositiveInt, checkRng, checkSequence } from '../init.js';
import { keyMask4d } from './masks.js';
import { checkOptions, checkRequiredOptions } from '../../config.js';
import { causalMask } from '../../ops/attention.js';
import { SELF_ATTENTION_KEYS, attentionOutput, type AttentionOutput, type SelfAttentionForwardOptions } from './contract.js';

/** The shared options (keyMask [B, S], causal, needWeights → weights [B, T, S]) plus `attnMask`. */
export interface AttentionForwardOptions extends SelfAttentionForwardOptions {
  /** Bool (true = may attend) or additive float, 3-d broadcastable to [B, T, S]; a 2-d mask is refused. */
  attnMask?: Tensor | null;
}

/** The scoring functions a(q, k). */
export type AttentionScore = 'dot' | 'scaledDot' | 'general' | 'additive' | 'cosine';

export interface AttentionOptions {
  /**
   * - `'dot'`: qᵀk (needs queryDim = keyDim)
   * - `'scaledDot'`: qᵀk/√d
   * - `'general'`: qᵀWk (Luong), W [queryDim, keyDim]
   * - `'additive'`: vᵀtanh(W_q q + W_k k) (Bahdanau), hidden size `hiddenDim`
   * - `'cosine'`: cos(q, k)·s with a learnable scale s = exp(logScale) (temperature 1/s), s₀ = `initialScale`
   */
  score: AttentionScore;
  /**
   * Width Dq of the queries. This layer has no model width of its own: where other attention
   * layers take `embedDim` (queries, keys and output all C wide), this one scores queries of
   * `queryDim` against keys of `keyDim` and returns values' width Dv — queryDim = keyDim = Dv is
   * the `embedDim` case.
   */
  queryDim: number;
  /** Width Dk of the keys (default queryDim). */
  keyDim?: number;
  /** Hidden size of the additive score (default queryDim). */
  hiddenDim?: number;
  /** Starting scale of the cosine score (default 10). */
  initialScale?: number;
  /** Dropout on the attention weights in training (default 0). */
  dropout?: number;
  /** Needed for 'general', 'additive' and for dropout > 0. */
  rng?: Generator;
}

/**
 * softmax(a(q, k) + mask)·v with the chosen score. query [B, T, Dq], key [B, S, Dk], value
 * [B, S, Dv] → { output [B, T, Dv], weights? [B, T, S] (with `needWeights`) }. `keyMask` [B, S]:
 * bool, true = real token (as every attention layer). `attnMask`: bool (true = may attend) or
 * additive float, 3-d broadcastable to [B, T, S] ([B, T, S], [B, 1, S], [1, T, S]…); a 2-d mask is
 * refused, since [B, S] would broadcast onto [T, S] when B = T. `causal`: query i reads keys j ≤ i.
 * All may be given. A query with nothing to attend to gets zero weights and a zero output.
 *
 * @example
 * const attn = new Attention({ score: 'additive', queryDim: 32, hiddenDim: 16, rng });
 * const { output, weights } = attn.forward(q, k, v, { keyMask, needWeights: true });   // [B, T, Dv], [B, T, S]
 */
export class Attention extends Module {
  wq: Linear | null = null;
  wk: Linear | null = null;
  v: Linear | null = null;
  w: Linear | null = null;
  logScale: Parameter | null = null;
  readonly score: AttentionScore;
  readonly queryDim: number;
  readonly keyDim: number;
  private readonly rng: Generator | undefined;

  constructor(readonly options: AttentionOptions) {
    super();
    checkRequiredOptions('Attention', options, { score: true, queryDim: true, keyDim: true, hiddenDim: true, initialScale: true, dropout: true, rng: true });
    const name = 'Attention';
    const scores: AttentionScore[] = ['dot', 'scaledDot', 'general', 'additive', 'cosine'];
    if (!scores.includes(options.score)) throw new ValueError(`${name}: score must be one of ${scores.join(', ')}, got '${String(options.score)}'`);
    this.score = options.score;
    this.queryDim = checkPositiveInt(options.queryDim, name, 'queryDim');
    this.keyDim = checkPositiveInt(options.keyDim ?? options.queryDim, name, 'keyDim');
    const p = options.dropout ?? 0;
    if (!(p >= 0 && p < 1)) throw new ValueError(`${name}: dropout must be in [0, 1), got ${p}`);
    if ((this.score === 'dot' || this.score === 'scaledDot' || this.score === 'cosine') && this.keyDim !== this.queryDim) {
      throw new ValueError(`${name}: score '${this.score}' needs queryDim = keyDim, got ${this.queryDim} and ${this.keyDim}; use 'general' or 'additive'`);
    }
    if (this.score === 'general') {
      this.w = new Linear(this.queryDim, this.keyDim, { rng: checkRng(options, name), bias: false });
    } else if (this.score === 'additive') {
      const rng = checkRng(options, name);
      const hidden = checkPositiveInt(options.hiddenDim ?? this.queryDim, name, 'hiddenDim');
      this.wq = new Linear(this.queryDim, hidden, { rng, bias: false });
      this.wk = new Linear(this.keyDim, hidden, { rng, bias: false });
      this.v = new Linear(hidden, 1, { rng, bias: false });
    } else if (this.score === 'cosine') {
      const s0 = options.initialScale ?? 10;
      if (!(s0 > 0)) throw new ValueError(`${name}: initialScale must be > 0, got ${s0}`);
      this.logScale = new Parameter(full([1], Math.log(s0)));
    }
    this.rng = p > 0 ? new Generator(checkRng(options, name).nextUint32()) : undefined;
  }

  /** The raw scores a(q, k) [B, T, S] before masking and softmax. */
  scores(query: Tensor, key: Tensor): Tensor {
    const kt = transpose(key, -2, -1);
    switch (this.score) {
      case 'dot': return matmul(query, kt);
      case 'scaledDot': return mul(matmul(query, kt), 1 / Math.sqrt(this.queryDim));
      case 'general': return matmul(this.w!.forward(query), kt);           // qᵀWk, W = w.weightᵀ [Dq, Dk]
      case 'additive': {
        const hq = unsqueeze(this.wq!.forward(query), 2);                // [B, T, 1, h]
        const hk = unsqueeze(this.wk!.forward(key), 1);                  // [B, 1, S, h]
        return squeeze(this.v!.forward(tanh(add(hq, hk))), -1);         // [B, T, S]
      }
      case 'cosine': {
        const unit = (x: Tensor): Tensor => div(x, sqrt(add(sum(mul(x, x), -1, { keepDim: true }), 1e-12)));
        return mul(matmul(unit(query), transpose(unit(key), -2, -1)), exp(this.logScale!));
      }
    }
  }

  forward(query: Tensor, key: Tensor, value: Tensor, options: AttentionForwardOptions = {}): AttentionOutput {
    const fn = 'Attention.forward';
    checkOptions(fn, options, { ...SELF_ATTENTION_KEYS, attnMask: true });
    const shapeOf = (t: Tensor): string => (t instanceof Tensor ? fmtShape(t.shape) : typeof t);
    checkSequence(fn, 'query', query, this.queryDim, 'B, T');
    checkSequence(fn, 'key', key, this.keyDim, 'B, S');
    if (!(value instanceof Tensor) || value.ndim !== 3) throw new ShapeError(`${fn}: value must be [B, S, Dv], got ${shapeOf(value)}`);
    const [B, T] = query.shape as [number, number, number];
    const S = key.shape[1]!;
    if (key.shape[0] !== B || value.shape[0] !== B || value.shape[1] !== S) {
      throw new ShapeError(`${fn}: query ${fmtShape(query.shape)}, key ${fmtShape(key.shape)} and value ${fmtShape(value.shape)} disagree on B or S`);
    }
    let s = this.scores(query, key);
    const mask = options.attnMask;
    if (mask != null) {
      if (!(mask instanceof Tensor) || mask.dtype === 'int32') {
        throw new DTypeError(`${fn}: attnMask must be a bool (true = may attend) or float (additive) Tensor broadcastable to [B, T, S] = ${fmtShape([B, T, S])}`);
      }
      if (mask.ndim === 2) {
        throw new ShapeError(`${fn}: attnMask has 2 dims ${fmtShape(mask.shape)}; pass keyMask [B, S] for padding, or a 3-d mask [B, T|1, S] (a 2-d mask would broadcast as [T, S])`);
      }
      const off = 3 - mask.ndim;
      if (off < 0 || mask.shape.some((n, i) => n !== 1 && n !== [B, T, S][i + off])) {
        throw new ShapeError(`${fn}: attnMask has shape ${fmtShape(mask.shape)}, which does not broadcast to [B, T, S] = ${fmtShape([B, T, S])}`);
      }
      s = mask.dtype === 'bool' ? where(mask, s, -Infinity) : add(s, toDtype(mask, s.dtype));
    }
    if (options.keyMask != null) s = where(reshape(keyMask4d(fn, 'keyMask', options.keyMask, B, S), [B, 1, S]), s, -Infinity);
    if (options.causal) s = where(causalMask(T, S), s, -Infinity);       // j ≤ i
    const weights = softmax(s, -1);                                      // rows with no key: zeros
    const p = this.training ? this.options.dropout ?? 0 : 0;
    return attentionOutput(matmul(dropout(weights, p, { training: p > 0, rng: this.rng }), value), options.needWeights, () => weights);
  }
}
