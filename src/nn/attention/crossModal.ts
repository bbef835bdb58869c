/**
 * Attention across modalities: MulT's cross-modal transformer (Tsai et al. 2019) and a
 * Perceiver-style latent encoder (Jaegle et al. 2021).
 */
import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { Generator } from '../../tensor/random.js';
import { randn } from '../../tensor/creation.js';
import { add, gelu, relu } from '../../ops/elementwise.js';
import { concat, expand, unsqueeze } from '../../ops/shape.js';
import { Module, Parameter } from '../module.js';
import { Linear } from '../linear.js';
import { LayerNorm } from '../layerNorm.js';
import { Dropout } from '../dropout.js';
import { aliasedOption, checkPositiveInt, checkRng, checkSequence } from '../init.js';
import { MultiHeadAttention } from './multihead.js';
import { TransformerEncoder, resolveWidth, type WidthOptions, type WithWidth } from './transformer.js';
import { checkOptions, checkRequiredOptions, type OptionKeys } from '../../config.js';
import { attentionOutput, type AttentionOutput, type CrossAttentionForwardOptions, type SelfAttentionForwardOptions } from './contract.js';

/** `embedDim`: width C of the target stream; `numHeads`: heads (PyTorch's `dModel`/`nhead` are aliases). */
export interface CrossModalOptions extends WidthOptions {
  /** Width of the source modality (default embedDim); keys and values are projected from it. */
  sourceDim?: number;
  dimFeedforward?: number;
  dropout?: number;
  activation?: 'relu' | 'gelu';
  rng?: Generator;
}

const CROSS_KEYS: OptionKeys<CrossModalOptions> = { embedDim: true, numHeads: true, dModel: true, nhead: true, sourceDim: true, dimFeedforward: true, dropout: true, activation: true, rng: true };
/**
 * Cross-modal forward options: the shared `memoryKeyMask` [B, S] bool (true = real source token;
 * `sourceKeyMask` is its older alias) and `needWeights`. The target stream has no self-attention
 * here, so `keyMask` and `causal` are refused.
 */
export interface CrossForwardOptions extends Omit<CrossAttentionForwardOptions, 'keyMask' | 'causal'> {
  /** @deprecated Alias of `memoryKeyMask`, kept for migration. */
  sourceKeyMask?: Tensor | null;
}
const CROSS_FORWARD_KEYS: OptionKeys<CrossForwardOptions> = { memoryKeyMask: true, sourceKeyMask: true, needWeights: true };

/**
 * One cross-modal block (MulT): the target modality's tokens query the source modality,
 * pre-norm with residuals: x ← x + CrossAttn(LN(x), LN(src)); x ← x + FF(LN(x)).
 * target [B, T, C], source (the memory) [B, S, sourceDim] → { output [B, T, C], weights? }:
 * with `needWeights`, the per-head weights [B, H, T, S].
 */
export class CrossModalLayer extends Module {
  normTarget: LayerNorm;
  normSource: LayerNorm;
  crossAttn: MultiHeadAttention;
  norm2: LayerNorm;
  linear1: Linear;
  linear2: Linear;
  dropout: Dropout;
  readonly activation: 'relu' | 'gelu';

  /** The options with the width under its one name (`embedDim`, `numHeads`). */
  readonly options: WithWidth<CrossModalOptions>;

  constructor(options: CrossModalOptions) {
    super();
    checkRequiredOptions('CrossModalLayer', options, CROSS_KEYS);
    const name = 'CrossModalLayer';
    this.options = options = resolveWidth(options, name);
    const rng = checkRng(options, name);
    const C = this.options.embedDim;
    const src = checkPositiveInt(options.sourceDim ?? C, name, 'sourceDim');
    const ff = checkPositiveInt(options.dimFeedforward ?? 4 * C, name, 'dimFeedforward');
    const p = options.dropout ?? 0.1;
    if (!(p >= 0 && p < 1)) throw new ValueError(`${name}: dropout must be in [0, 1), got ${p}`);
    this.activation = options.activation ?? 'relu';
    this.normTarget = new LayerNorm(C);
    this.normSource = new LayerNorm(src);
    this.crossAttn = new MultiHeadAttention({ embedDim: C, numHeads: this.options.numHeads, kDim: src, vDim: src, dropout: p, rng });
    this.norm2 = new LayerNorm(C);
    this.linear1 = new Linear(C, ff, { rng });
    this.linear2 = new Linear(ff, C, { rng });
    this.dropout = new Dropout(p, new Generator(rng.nextUint32()));
  }

  forward(target: Tensor, source: Tensor, options: CrossForwardOptions = {}): AttentionOutput {
    checkOptions('CrossModalLayer.forward', options, CROSS_FORWARD_KEYS);
    const fn = 'CrossModalLayer.forward';
    checkSequence(fn, 'target', target, this.options.embedDim);
    checkSequence(fn, 'source', source, this.options.sourceDim ?? this.options.embedDim);
    if (source.shape[0] !== target.shape[0]) {
      throw new ShapeError(`${fn}: the modalities' batch sizes differ: target ${fmtShape(target.shape)}, source ${fmtShape(source.shape)}`);
    }
    const s = this.normSource.forward(source);
    const r = this.crossAttn.forward(this.normTarget.forward(target), s, s, {
      keyMask: aliasedOption<Tensor | null>('CrossModalLayer.forward', options, 'memoryKeyMask', 'sourceKeyMask'), needWeights: options.needWeights, averageWeights: false,
    });
    let y = add(target, this.dropout.forward(r.output));
    const h = this.linear1.forward(this.norm2.forward(y));
    y = add(y, this.dropout.forward(this.linear2.forward(this.dropout.forward(this.activation === 'gelu' ? gelu(h) : relu(h)))));
    return attentionOutput(y, options.needWeights, () => r.weights!);
  }
}

/** A stack of cross-modal blocks (target ← source), then a LayerNorm, as in MulT. */
export class CrossModalTransformer extends Module {
  layers: CrossModalLayer[];
  norm: LayerNorm;

  /** The options with the width under its one name (`embedDim`, `numHeads`). */
  readonly options: WithWidth<CrossModalOptions & { numLayers: number }>;

  constructor(options: CrossModalOptions & { numLayers: number }) {
    super();
    checkRequiredOptions('CrossModalTransformer', options, { ...CROSS_KEYS, numLayers: true });
    this.options = resolveWidth(options, 'CrossModalTransformer');
    checkPositiveInt(options.numLayers, 'CrossModalTransformer', 'numLayers');
    const { numLayers: _n, ...layer } = this.options;
    this.layers = Array.from({ length: options.numLayers }, () => new CrossModalLayer(layer));
    this.norm = new LayerNorm(this.options.embedDim);
  }

  /** target [B, T, C], source [B, S, sourceDim] → { output [B, T, C], weights? one [B, H, T, S] per layer }. */
  forward(target: Tensor, source: Tensor, options: CrossForwardOptions = {}): AttentionOutput<Tensor[]> {
    checkOptions('CrossModalTransformer.forward', options, CROSS_FORWARD_KEYS);
    const memoryKeyMask = aliasedOption<Tensor | null>('CrossModalTransformer.forward', options, 'memoryKeyMask', 'sourceKeyMask');
    const weights: Tensor[] = [];
    let y = target;
    for (const layer of this.layers) {
      const r = layer.forward(y, source, { memoryKeyMask, needWeights: options.needWeights });
      y = r.output;
      if (r.weights) weights.push(r.weights);
    }
    y = this.norm.forward(y);
    return attentionOutput(y, options.needWeights, () => weights);
  }
}

export interface PerceiverOptions {
  /** Number N of latent vectors. */
  numLatents: number;
  /** Latent width C. */
  latentDim: number;
  /** Feature size of every input array. */
  inputDim: number;
  crossHeads?: number;
  latentHeads?: number;
  /** Latent self-attention layers after the cross-attention (default 2). */
  numLatentLayers?: number;
  dimFeedforward?: number;
  dropout?: number;
  rng?: Generator;
}

/**
 * PerceiverEncoder's options: `keyMask` — for one input array, a [B, M] bool (true = real); for a
 * list of inputs, a list with one [B, Mᵢ] mask (or null = all real) per input — and `needWeights`.
 * `causal` is refused (latents have no order over the inputs).
 */
export interface PerceiverForwardOptions extends Pick<SelfAttentionForwardOptions, 'needWeights'> {
  keyMask?: Tensor | null | (Tensor | null)[];
}

/** A Perceiver's weights: the cross-attention [B, H, N, ΣMᵢ] and each latent layer's [B, H, N, N]. */
export interface PerceiverWeights {
  cross: Tensor;
  latent: Tensor[];
}

/**
 * A Perceiver-style encoder: a learned latent array [N, C] reads the inputs through one
 * cross-attention block, then refines itself with latent self-attention — cost O(M·N + N²)
 * for M input elements, whatever M is. `inputs` is one array [B, M, inputDim] or several
 * (concatenated along M, each with an optional key mask). → latents [B, N, C].
 * Parameters: latents, cross (a CrossModalLayer), latentEncoder (a pre-norm TransformerEncoder).
 */
export class PerceiverEncoder extends Module {
  latents: Parameter;
  cross: CrossModalLayer;
  latentEncoder: TransformerEncoder;

  constructor(readonly options: PerceiverOptions) {
    super();
    checkRequiredOptions('PerceiverEncoder', options, { numLatents: true, latentDim: true, inputDim: true, crossHeads: true, latentHeads: true, numLatentLayers: true, dimFeedforward: true, dropout: true, rng: true });
    const name = 'PerceiverEncoder';
    const rng = checkRng(options, name);
    const N = checkPositiveInt(options.numLatents, name, 'numLatents');
    const C = checkPositiveInt(options.latentDim, name, 'latentDim');
    checkPositiveInt(options.inputDim, name, 'inputDim');
    this.latents = new Parameter(randn([N, C], { rng, std: 0.02 }));
    const p = options.dropout ?? 0;
    this.cross = new CrossModalLayer({
      embedDim: C, numHeads: options.crossHeads ?? 1, sourceDim: options.inputDim, dimFeedforward: options.dimFeedforward, dropout: p, rng,
    });
    this.latentEncoder = new TransformerEncoder({
      embedDim: C, numHeads: options.latentHeads ?? 4, dimFeedforward: options.dimFeedforward ?? 4 * C, dropout: p,
      numLayers: options.numLatentLayers ?? 2, normFirst: true, finalNorm: true, rng,
    });
  }

  /**
   * inputs: [B, M, inputDim] or a list of them; keyMask: [B, M] bool for one array, or one
   * [B, Mᵢ] bool per input (null = all real) for a list. → { output [B, N, C], weights? }: with
   * `needWeights`, `{ cross: [B, H, N, ΣMᵢ], latent: [B, H, N, N] per latent layer }`.
   */
  forward(inputs: Tensor | Tensor[], options: PerceiverForwardOptions = {}): AttentionOutput<PerceiverWeights> {
    checkOptions('PerceiverEncoder.forward', options, { keyMask: true, needWeights: true });
    const fn = 'PerceiverEncoder.forward';
    const list = Array.isArray(inputs) ? inputs : [inputs];
    if (list.length === 0) throw new ValueError(`${fn}: needs at least one input array`);
    list.forEach((x, i) => checkSequence(fn, `inputs[${i}]`, x, this.options.inputDim));
    const B = list[0]!.shape[0]!;
    list.forEach((x, i) => {
      if (x.shape[0] !== B) throw new ShapeError(`${fn}: inputs[${i}] has batch ${x.shape[0]}, inputs[0] has ${B}`);
    });
    const km = options.keyMask ?? null;
    if (km !== null && Array.isArray(inputs) !== Array.isArray(km)) {
      throw new ValueError(`${fn}: keyMask must be ${Array.isArray(inputs) ? `a list of ${list.length} masks (one per input)` : 'one [B, M] mask'} for ${Array.isArray(inputs) ? 'a list of inputs' : 'one input array'}`);
    }
    const masks = km === null ? null : Array.isArray(km) ? km : [km];
    if (masks && masks.length !== list.length) throw new ValueError(`${fn}: keyMask has ${masks.length} entries for ${list.length} inputs`);
    let keyMask: Tensor | null = null;
    if (masks?.some((m) => m != null)) {
      keyMask = concat(list.map((x, i) => {
        const m = masks[i];
        if (m == null) return new Tensor(new Uint8Array(B * x.shape[1]!).fill(1), [B, x.shape[1]!]);
        if (!(m instanceof Tensor) || m.dtype !== 'bool' || m.ndim !== 2 || m.shape[0] !== B || m.shape[1] !== x.shape[1]) {
          throw new ShapeError(`${fn}: keyMask${Array.isArray(km) ? `[${i}]` : ''} must be bool [B, M] = ${fmtShape([B, x.shape[1]!])}, got ${m instanceof Tensor ? `${m.dtype} ${fmtShape(m.shape)}` : typeof m}`);
        }
        return m;
      }), 1);
    }
    const source = list.length === 1 ? list[0]! : concat(list, 1);
    const lat = expand(unsqueeze(this.latents, 0), [B, ...this.latents.shape]);
    const c = this.cross.forward(lat, source, { memoryKeyMask: keyMask, needWeights: options.needWeights });
    const l = this.latentEncoder.forward(c.output, { needWeights: options.needWeights });
    return attentionOutput(l.output, options.needWeights, () => ({ cross: c.weights!, latent: l.weights! }));
  }
}
