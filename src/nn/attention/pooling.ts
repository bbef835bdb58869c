/**
 * Attention pooling: learned-query pooling (sequence → vector), gated attention-MIL pooling
 * (Ilse et al. 2018) and Nadaraya–Watson kernel regression.
 */
import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { Generator } from '../../tensor/random.js';
import { full, randn } from '../../tensor/creation.js';
import { div, mul, sigmoid, square, sub, tanh, where } from '../../ops/elementwise.js';
import { matmul } from '../../ops/linalg.js';
import { softmax } from '../../ops/softmax.js';
import { expand, squeeze, unsqueeze } from '../../ops/shape.js';
import { Module, Parameter } from '../module.js';
import { Linear } from '../linear.js';
import { aliasedOption, checkPositiveInt, checkRng, checkSequence } from '../init.js';
import { MultiHeadAttention } from './multihead.js';
import { checkOptions, checkRequiredOptions } from '../../config.js';
import { attentionOutput, type AttentionOutput, type SelfAttentionForwardOptions } from './contract.js';

/** Pooling's options: the shared keyMask and needWeights (`causal` means nothing for a pooled vector and is refused). */
export type PoolingForwardOptions = Omit<SelfAttentionForwardOptions, 'causal'>;

/**
 * Pools a sequence with learned queries that attend over it (multi-head; Set Transformer's PMA,
 * a [CLS] without the token). x [B, T, C] → output [B, C] (one query) or [B, Q, C]; with
 * `needWeights`, weights [B, Q, T] averaged over heads (with `perHead`, [B, H, Q, T]).
 *
 * @example
 * const pool = new AttentionPooling({ embedDim: 64, numHeads: 4, rng });
 * const { output, weights } = pool.forward(x, { keyMask, needWeights: true });   // [B, 64], [B, 1, T]
 */
export class AttentionPooling extends Module {
  queries: Parameter;
  attn: MultiHeadAttention;
  readonly numQueries: number;

  constructor(readonly options: { embedDim: number; numQueries?: number; numHeads?: number; dropout?: number; bias?: boolean; rng?: Generator }) {
    super();
    checkRequiredOptions('AttentionPooling', options, { embedDim: true, numQueries: true, numHeads: true, dropout: true, bias: true, rng: true });
    const rng = checkRng(options, 'AttentionPooling');
    this.numQueries = checkPositiveInt(options.numQueries ?? 1, 'AttentionPooling', 'numQueries');
    const C = checkPositiveInt(options.embedDim, 'AttentionPooling', 'embedDim');
    this.queries = new Parameter(randn([this.numQueries, C], { rng, std: 1 / Math.sqrt(C) }));
    this.attn = new MultiHeadAttention({ embedDim: C, numHeads: options.numHeads ?? 1, dropout: options.dropout, bias: options.bias, rng });
  }

  forward(x: Tensor, options: PoolingForwardOptions & { perHead?: boolean } = {}): AttentionOutput {
    checkOptions('AttentionPooling.forward', options, { keyMask: true, needWeights: true, perHead: true });
    const C = this.options.embedDim;
    checkSequence('AttentionPooling.forward', 'x', x, C, 'B, T');
    const B = x.shape[0]!;
    const q = expand(unsqueeze(this.queries, 0), [B, this.numQueries, C]);
    const r = this.attn.forward(q, x, x, { keyMask: options.keyMask, needWeights: options.needWeights, averageWeights: !options.perHead });
    return attentionOutput(this.numQueries === 1 ? squeeze(r.output, 1) : r.output, options.needWeights, () => r.weights!);
  }
}

/**
 * Attention-based MIL pooling (Ilse et al. 2018): aₖ = softmax_k(wᵀ(tanh(V hₖ) ⊙ sigm(U hₖ)))
 * (without the gate when `gated: false`), z = Σₖ aₖ hₖ. h [B, N, C] (a bag of N instances),
 * keyMask [B, N] (true = real instance) → output [B, C], with `needWeights` weights [B, N].
 * Parameters: attentionV, attentionU (gated), attentionW — the reference code's names.
 *
 * @example
 * const pool = new GatedAttentionPooling({ embedDim: 64 });   // `inDim` is the older alias of embedDim
 * const { output, weights } = pool.forward(h, { keyMask, needWeights: true });   // [B, 64], [B, N]
 */
export class GatedAttentionPooling extends Module {
  attentionV: Linear;
  attentionU: Linear | null;
  attentionW: Linear;

  /** The options with the width under its one name, `embedDim`. */
  readonly options: { embedDim: number; hiddenDim?: number; gated?: boolean; rng?: Generator };

  /** `embedDim`: instance width C (`inDim` is its deprecated alias); `hiddenDim` (default 128); `gated` (default true). */
  constructor(options: { embedDim?: number; /** @deprecated Alias of embedDim. */ inDim?: number; hiddenDim?: number; gated?: boolean; rng?: Generator }) {
    super();
    checkRequiredOptions('GatedAttentionPooling', options, { embedDim: true, inDim: true, hiddenDim: true, gated: true, rng: true });
    const rng = checkRng(options, 'GatedAttentionPooling');
    const C = checkPositiveInt(aliasedOption('GatedAttentionPooling', options, 'embedDim', 'inDim'), 'GatedAttentionPooling', 'embedDim');
    const { inDim: _i, ...rest } = options;
    this.options = { ...rest, embedDim: C };
    const h = checkPositiveInt(options.hiddenDim ?? 128, 'GatedAttentionPooling', 'hiddenDim');
    this.attentionV = new Linear(C, h, { rng });
    this.attentionU = options.gated === false ? null : new Linear(C, h, { rng });
    this.attentionW = new Linear(h, 1, { rng });
  }

  forward(h: Tensor, options: PoolingForwardOptions = {}): AttentionOutput {
    const fn = 'GatedAttentionPooling.forward';
    checkOptions(fn, options, { keyMask: true, needWeights: true });
    const C = this.options.embedDim;
    checkSequence(fn, 'h', h, C, 'B, N');
    const [B, N] = h.shape as [number, number, number];
    let a = tanh(this.attentionV.forward(h));
    if (this.attentionU) a = mul(a, sigmoid(this.attentionU.forward(h)));
    let scores = squeeze(this.attentionW.forward(a), -1);                  // [B, N]
    const mask = options.keyMask;
    if (mask != null) {
      if (!(mask instanceof Tensor) || mask.dtype !== 'bool' || mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== N) {
        throw new ShapeError(`${fn}: keyMask must be bool [B, N] = ${fmtShape([B, N])}, got ${mask instanceof Tensor ? `${mask.dtype} ${fmtShape(mask.shape)}` : typeof mask}`);
      }
      scores = where(mask, scores, -Infinity);
    }
    const weights = softmax(scores, -1);                                   // [B, N]
    return attentionOutput(squeeze(matmul(unsqueeze(weights, 1), h), 1), options.needWeights, () => weights);
  }
}

/**
 * Nadaraya–Watson kernel regression as attention: f(x) = Σᵢ softmax_i(−((x − xᵢ)·w)²/2)·yᵢ with
 * w = 1/bandwidth, fixed or learned (the parameter `w`). queries [..., T], keys [..., S],
 * values [..., S] or [..., S, Dv] → output [..., T] or [..., T, Dv], with `needWeights` weights
 * [..., T, S]. Its inputs are scalars per position, not [B, L, C] sequences: `keyMask` and `causal`
 * are refused.
 *
 * @example
 * const nw = new NadarayaWatson({ bandwidth: 0.5, learned: true });
 * const { output } = nw.forward(xTest, xTrain, yTrain);
 */
export class NadarayaWatson extends Module {
  w: Parameter | null;
  private readonly fixed: number;

  constructor(readonly options: { bandwidth?: number; learned?: boolean } = {}) {
    super();
    checkOptions('NadarayaWatson', options, { bandwidth: true, learned: true });
    const bw = options.bandwidth ?? 1;
    if (!(bw > 0) || !Number.isFinite(bw)) throw new ValueError(`NadarayaWatson: bandwidth must be a positive number, got ${bw}`);
    this.fixed = 1 / bw;
    this.w = options.learned ? new Parameter(full([1], 1 / bw)) : null;
  }

  /** The current bandwidth 1/|w|. */
  get bandwidth(): number {
    return 1 / Math.abs(this.w ? this.w.data[0]! : this.fixed);
  }

  forward(queries: Tensor, keys: Tensor, values: Tensor, options: Pick<SelfAttentionForwardOptions, 'needWeights'> = {}): AttentionOutput {
    const fn = 'NadarayaWatson.forward';
    checkOptions(fn, options, { needWeights: true });
    const lead = keys instanceof Tensor ? keys.shape.slice(0, -1) : [];
    const S = keys instanceof Tensor ? keys.shape[keys.ndim - 1] : -1;
    if (!(queries instanceof Tensor) || !(keys instanceof Tensor) || !(values instanceof Tensor) || queries.ndim !== keys.ndim
      || queries.shape.slice(0, -1).some((n, i) => n !== lead[i])) {
      throw new ShapeError(`${fn}: queries [..., T] and keys [..., S] must share leading dims, got ${queries instanceof Tensor ? fmtShape(queries.shape) : typeof queries} and ${keys instanceof Tensor ? fmtShape(keys.shape) : typeof keys}`);
    }
    const vector = values.ndim === keys.ndim + 1;
    if ((values.ndim !== keys.ndim && !vector) || values.shape[keys.ndim - 1] !== S || values.shape.slice(0, keys.ndim - 1).some((n, i) => n !== lead[i])) {
      throw new ShapeError(`${fn}: values must be [..., S] or [..., S, Dv] matching keys ${fmtShape(keys.shape)}, got ${fmtShape(values.shape)}`);
    }
    const diff = sub(unsqueeze(queries, -1), unsqueeze(keys, -2));        // [..., T, S]
    const scaled = this.w ? mul(diff, this.w) : mul(diff, this.fixed);
    const weights = softmax(div(square(scaled), -2), -1);
    const output = vector ? matmul(weights, values) : squeeze(matmul(weights, unsqueeze(values, -1)), -1);
    return attentionOutput(output, options.needWeights, () => weights);
  }
}
