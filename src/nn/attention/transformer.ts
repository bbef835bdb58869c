/**
 * Transformer encoder and decoder layers and stacks, numerically equal to PyTorch's
 * nn.TransformerEncoderLayer / DecoderLayer / Encoder / Decoder (batch_first=True) for the
 * same weights (parameter names map by `fromTorchStateDict`).
 */
import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { Generator } from '../../tensor/random.js';
import { add, gelu, relu } from '../../ops/elementwise.js';
import { Module } from '../module.js';
import { Linear } from '../linear.js';
import { LayerNorm } from '../layerNorm.js';
import { Dropout } from '../dropout.js';
import { aliasedOption, checkPositiveInt, checkRng, checkSequence } from '../init.js';
import { MultiHeadAttention } from './multihead.js';
import { checkOptions, checkRequiredOptions, type OptionKeys } from '../../config.js';
import {
  CROSS_ATTENTION_KEYS, SELF_ATTENTION_KEYS, attentionOutput,
  type AttentionOutput, type CrossAttentionForwardOptions, type SelfAttentionForwardOptions,
} from './contract.js';

/**
 * Width and heads under the one name every attention layer uses, with PyTorch's names kept as
 * aliases for migration (`{ dModel: 64, nhead: 8 }` ≡ `{ embedDim: 64, numHeads: 8 }`; giving both
 * a name and its alias is allowed only when they agree). A layer stores the one name.
 */
export interface WidthOptions {
  /** Model width C (PyTorch's `d_model`). */
  embedDim?: number;
  /** Attention heads H, must divide embedDim (PyTorch's `nhead`). */
  numHeads?: number;
  /** @deprecated Alias of `embedDim` (PyTorch's name), kept for migration. */
  dModel?: number;
  /** @deprecated Alias of `numHeads` (PyTorch's name), kept for migration. */
  nhead?: number;
}

/** Options with the aliases resolved: `embedDim` and `numHeads` present, `dModel`/`nhead` gone. */
export type WithWidth<T extends WidthOptions> = Omit<T, keyof WidthOptions> & { embedDim: number; numHeads: number };

/** Resolves `embedDim`/`numHeads` from the one name or its alias (they must agree) and drops the aliases. */
export function resolveWidth<T extends WidthOptions>(options: T, layer: string): WithWidth<T> {
  const pick = (name: 'embedDim' | 'numHeads', alias: 'dModel' | 'nhead'): number => {
    const a = options[name], b = options[alias];
    if (a !== undefined && b !== undefined && a !== b) throw new ValueError(`${layer}: ${name} (${String(a)}) and its alias ${alias} (${String(b)}) disagree`);
    return checkPositiveInt(a ?? b, layer, name);
  };
  const embedDim = pick('embedDim', 'dModel'), numHeads = pick('numHeads', 'nhead');
  const { dModel: _d, nhead: _h, embedDim: _e, numHeads: _n, ...rest } = options;
  return { ...rest, embedDim, numHeads };
}

const WIDTH_KEYS: OptionKeys<WidthOptions> = { embedDim: true, numHeads: true, dModel: true, nhead: true };

export interface TransformerLayerOptions extends WidthOptions {
  /** Feed-forward hidden width (default 2048, as PyTorch). */
  dimFeedforward?: number;
  /** Dropout after attention, inside and after the feed-forward, and on attention weights (default 0.1). */
  dropout?: number;
  activation?: 'relu' | 'gelu';
  /** Pre-norm (LayerNorm before each block) instead of post-norm (default false, as PyTorch). */
  normFirst?: boolean;
  layerNormEps?: number;
  bias?: boolean;
  /** Grouped-query attention: key/value heads (default numHeads). */
  numKVHeads?: number;
  /** Rotary position embedding in the self-attention. */
  rope?: boolean | { base?: number };
  /** ALiBi biases in the self-attention. */
  alibi?: boolean;
  rng?: Generator;
}

/** The shared self-attention options (keyMask [B, T], causal, needWeights → per-head weights [B, H, T, T]) plus attnMask. */
export interface EncoderForwardOptions extends SelfAttentionForwardOptions {
  /** Bool (true = may attend) or additive float mask, as MultiHeadAttention's attnMask. */
  attnMask?: Tensor | null;
}

/**
 * The shared cross-attention options — keyMask [B, T] on the targets, memoryKeyMask [B, S],
 * causal (default true here: a decoder does not see later targets), needWeights — plus score masks.
 */
export interface DecoderForwardOptions extends CrossAttentionForwardOptions {
  /** @deprecated Alias of `keyMask` (PyTorch's `tgt_key_padding_mask`), kept for migration. */
  tgtKeyMask?: Tensor | null;
  /** Extra mask on the self-attention scores [T, T] (bool or float). */
  tgtMask?: Tensor | null;
  /** Mask on the cross-attention scores [T, S] (bool or float). */
  memoryMask?: Tensor | null;
}

/** A decoder's weights: self-attention [B, H, T, T] and cross-attention [B, H, T, S] (`W` = Tensor[] for a stack: one per layer). */
export interface DecoderWeights<W = Tensor> {
  self: W;
  cross: W;
}

const LAYER_KEYS: OptionKeys<TransformerLayerOptions> = {
  ...WIDTH_KEYS, dimFeedforward: true, dropout: true, activation: true, normFirst: true, layerNormEps: true, bias: true,
  numKVHeads: true, rope: true, alibi: true, rng: true,
};
const STACK_KEYS: OptionKeys<TransformerStackOptions> = { ...LAYER_KEYS, numLayers: true, finalNorm: true };
const ENCODER_FORWARD_KEYS: OptionKeys<EncoderForwardOptions> = { ...SELF_ATTENTION_KEYS, attnMask: true };
const DECODER_FORWARD_KEYS: OptionKeys<DecoderForwardOptions> = { ...CROSS_ATTENTION_KEYS, tgtKeyMask: true, tgtMask: true, memoryMask: true };

/** The layer options of a stack's options (what each of its layers is built from). */
function layerOptions(options: WithWidth<TransformerStackOptions>): WithWidth<TransformerLayerOptions> {
  const { numLayers: _n, finalNorm: _f, ...layer } = options;
  return layer;
}

function resolve(options: WithWidth<TransformerLayerOptions>, layer: string) {
  if (typeof options.rope === 'object') checkOptions(`${layer} rope`, options.rope, { base: true });
  const rng = checkRng(options, layer);
  const ff = checkPositiveInt(options.dimFeedforward ?? 2048, layer, 'dimFeedforward');
  const p = options.dropout ?? 0.1;
  if (!(p >= 0 && p < 1)) throw new ValueError(`${layer}: dropout must be in [0, 1), got ${p}`);
  const activation = options.activation ?? 'relu';
  if (activation !== 'relu' && activation !== 'gelu') throw new ValueError(`${layer}: activation must be 'relu' or 'gelu', got '${String(activation)}'`);
  const dropRng = new Generator(rng.nextUint32());
  return { rng, ff, p, activation, dropRng, eps: options.layerNormEps ?? 1e-5, bias: options.bias ?? true };
}

/** The position-wise feed-forward block linear2(dropout(act(linear1(x)))) shared by both layers. */
function feedForward(m: { linear1: Linear; linear2: Linear; dropout: Dropout; activation: 'relu' | 'gelu' }, x: Tensor): Tensor {
  const h = m.linear1.forward(x);
  return m.linear2.forward(m.dropout.forward(m.activation === 'gelu' ? gelu(h) : relu(h)));
}

/**
 * One encoder layer: self-attention and a feed-forward block, each with a residual, post-norm
 * (PyTorch's default) or pre-norm. x [B, T, C] → [B, T, C].
 * Parameters: selfAttn.*, linear1, linear2, norm1, norm2 (PyTorch: self_attn.*, …).
 *
 * @example
 * const layer = new TransformerEncoderLayer({ embedDim: 64, numHeads: 4, dimFeedforward: 128, normFirst: true });   // or PyTorch's dModel/nhead
 * const { output } = layer.forward(x, { keyMask });                       // [B, T, 64]
 * const { weights } = layer.forward(x, { needWeights: true });            // [B, 4, T, T]
 */
export class TransformerEncoderLayer extends Module {
  selfAttn: MultiHeadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  readonly activation: 'relu' | 'gelu';
  readonly normFirst: boolean;

  /** The options with the width under its one name (`embedDim`, `numHeads`). */
  readonly options: WithWidth<TransformerLayerOptions>;

  constructor(options: TransformerLayerOptions) {
    super();
    checkRequiredOptions('TransformerEncoderLayer', options, LAYER_KEYS);
    this.options = options = resolveWidth(options, 'TransformerEncoderLayer');
    const o = resolve(this.options, 'TransformerEncoderLayer');
    const C = this.options.embedDim;
    this.selfAttn = new MultiHeadAttention({
      embedDim: C, numHeads: this.options.numHeads, numKVHeads: options.numKVHeads, dropout: o.p, bias: o.bias, rope: options.rope, alibi: options.alibi, rng: o.rng,
    });
    this.linear1 = new Linear(C, o.ff, { rng: o.rng, bias: o.bias });
    this.dropout = new Dropout(o.p, o.dropRng);
    this.linear2 = new Linear(o.ff, C, { rng: o.rng, bias: o.bias });
    this.norm1 = new LayerNorm(C, { eps: o.eps });
    this.norm2 = new LayerNorm(C, { eps: o.eps });
    this.dropout1 = new Dropout(o.p, o.dropRng);
    this.dropout2 = new Dropout(o.p, o.dropRng);
    this.activation = o.activation;
    this.normFirst = options.normFirst ?? false;
  }

  /** x [B, T, C] → { output [B, T, C], weights? [B, H, T, T] }. */
  forward(x: Tensor, options: EncoderForwardOptions = {}): AttentionOutput {
    checkOptions('TransformerEncoderLayer.forward', options, ENCODER_FORWARD_KEYS);
    checkSequence('TransformerEncoderLayer.forward', 'x', x, this.options.embedDim);
    let weights: Tensor | undefined;
    const sa = (h: Tensor): Tensor => {
      const r = this.selfAttn.forward(h, h, h, {
        keyMask: options.keyMask, attnMask: options.attnMask, causal: options.causal, needWeights: options.needWeights, averageWeights: false,
      });
      weights = r.weights;
      return this.dropout1.forward(r.output);
    };
    const ff = (h: Tensor): Tensor => this.dropout2.forward(feedForward(this, h));
    let y: Tensor;
    if (this.normFirst) {
      y = add(x, sa(this.norm1.forward(x)));
      y = add(y, ff(this.norm2.forward(y)));
    } else {
      y = this.norm1.forward(add(x, sa(x)));
      y = this.norm2.forward(add(y, ff(y)));
    }
    return attentionOutput(y, options.needWeights, () => weights!);
  }
}

/**
 * One decoder layer: causal self-attention, cross-attention over `memory`, feed-forward; each
 * with a residual, post- or pre-norm. tgt [B, T, C], memory [B, S, C] → [B, T, C].
 * Parameters: selfAttn.*, crossAttn.* (PyTorch: multihead_attn.*), linear1, linear2, norm1–3.
 */
export class TransformerDecoderLayer extends Module {
  selfAttn: MultiHeadAttention;
  crossAttn: MultiHeadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;
  readonly activation: 'relu' | 'gelu';
  readonly normFirst: boolean;

  /** The options with the width under its one name (`embedDim`, `numHeads`). */
  readonly options: WithWidth<TransformerLayerOptions>;

  constructor(options: TransformerLayerOptions) {
    super();
    checkRequiredOptions('TransformerDecoderLayer', options, LAYER_KEYS);
    this.options = options = resolveWidth(options, 'TransformerDecoderLayer');
    const o = resolve(this.options, 'TransformerDecoderLayer');
    const C = this.options.embedDim;
    const attn = (rope: boolean): MultiHeadAttention => new MultiHeadAttention({
      embedDim: C, numHeads: this.options.numHeads, numKVHeads: options.numKVHeads, dropout: o.p, bias: o.bias,
      rope: rope ? options.rope : undefined, alibi: rope ? options.alibi : undefined, rng: o.rng,
    });
    this.selfAttn = attn(true);
    this.crossAttn = attn(false);
    this.linear1 = new Linear(C, o.ff, { rng: o.rng, bias: o.bias });
    this.dropout = new Dropout(o.p, o.dropRng);
    this.linear2 = new Linear(o.ff, C, { rng: o.rng, bias: o.bias });
    this.norm1 = new LayerNorm(C, { eps: o.eps });
    this.norm2 = new LayerNorm(C, { eps: o.eps });
    this.norm3 = new LayerNorm(C, { eps: o.eps });
    this.dropout1 = new Dropout(o.p, o.dropRng);
    this.dropout2 = new Dropout(o.p, o.dropRng);
    this.dropout3 = new Dropout(o.p, o.dropRng);
    this.activation = o.activation;
    this.normFirst = options.normFirst ?? false;
  }

  /** tgt [B, T, C], memory [B, S, C] → { output [B, T, C], weights? { self [B, H, T, T], cross [B, H, T, S] } }. */
  forward(tgt: Tensor, memory: Tensor, options: DecoderForwardOptions = {}): AttentionOutput<DecoderWeights> {
    checkOptions('TransformerDecoderLayer.forward', options, DECODER_FORWARD_KEYS);
    const fn = 'TransformerDecoderLayer.forward';
    const keyMask = aliasedOption<Tensor | null>(fn, options, 'keyMask', 'tgtKeyMask');
    checkSequence(fn, 'tgt', tgt, this.options.embedDim);
    checkSequence(fn, 'memory', memory, this.options.embedDim);
    if (memory.shape[0] !== tgt.shape[0]) throw new ShapeError(`${fn}: batch sizes differ: tgt ${fmtShape(tgt.shape)}, memory ${fmtShape(memory.shape)}`);
    let selfWeights: Tensor | undefined, crossWeights: Tensor | undefined;
    const need = options.needWeights, avg = false;
    const sa = (h: Tensor): Tensor => {
      const r = this.selfAttn.forward(h, h, h, {
        keyMask, attnMask: options.tgtMask, causal: options.causal ?? true, needWeights: need, averageWeights: avg,
      });
      selfWeights = r.weights;
      return this.dropout1.forward(r.output);
    };
    const ca = (h: Tensor): Tensor => {
      const r = this.crossAttn.forward(h, memory, memory, {
        keyMask: options.memoryKeyMask, attnMask: options.memoryMask, needWeights: need, averageWeights: avg,
      });
      crossWeights = r.weights;
      return this.dropout2.forward(r.output);
    };
    const ff = (h: Tensor): Tensor => this.dropout3.forward(feedForward(this, h));
    let y: Tensor;
    if (this.normFirst) {
      y = add(tgt, sa(this.norm1.forward(tgt)));
      y = add(y, ca(this.norm2.forward(y)));
      y = add(y, ff(this.norm3.forward(y)));
    } else {
      y = this.norm1.forward(add(tgt, sa(tgt)));
      y = this.norm2.forward(add(y, ca(y)));
      y = this.norm3.forward(add(y, ff(y)));
    }
    return attentionOutput(y, need, () => ({ self: selfWeights!, cross: crossWeights! }));
  }
}

export interface TransformerStackOptions extends TransformerLayerOptions {
  numLayers: number;
  /** A LayerNorm after the last layer (`norm`; usual with pre-norm layers). Default false. */
  finalNorm?: boolean;
}

/** numLayers encoder layers (each initialised from the generator in turn), then an optional LayerNorm. */
export class TransformerEncoder extends Module {
  layers: TransformerEncoderLayer[];
  norm: LayerNorm | null;

  /** The options with the width under its one name (`embedDim`, `numHeads`). */
  readonly options: WithWidth<TransformerStackOptions>;

  constructor(options: TransformerStackOptions) {
    super();
    checkRequiredOptions('TransformerEncoder', options, STACK_KEYS);
    this.options = resolveWidth(options, 'TransformerEncoder');
    checkPositiveInt(options.numLayers, 'TransformerEncoder', 'numLayers');
    this.layers = Array.from({ length: options.numLayers }, () => new TransformerEncoderLayer(layerOptions(this.options)));
    this.norm = options.finalNorm ? new LayerNorm(this.options.embedDim, { eps: options.layerNormEps }) : null;
  }

  /** x [B, T, C] → { output [B, T, C], weights? one [B, H, T, T] per layer }. */
  forward(x: Tensor, options: EncoderForwardOptions = {}): AttentionOutput<Tensor[]> {
    checkOptions('TransformerEncoder.forward', options, ENCODER_FORWARD_KEYS);
    const weights: Tensor[] = [];
    let y = x;
    for (const layer of this.layers) {
      const r = layer.forward(y, options);
      y = r.output;
      if (r.weights) weights.push(r.weights);
    }
    if (this.norm) y = this.norm.forward(y);
    return attentionOutput(y, options.needWeights, () => weights);
  }
}

/** numLayers decoder layers, then an optional LayerNorm. */
export class TransformerDecoder extends Module {
  layers: TransformerDecoderLayer[];
  norm: LayerNorm | null;

  /** The options with the width under its one name (`embedDim`, `numHeads`). */
  readonly options: WithWidth<TransformerStackOptions>;

  constructor(options: TransformerStackOptions) {
    super();
    checkRequiredOptions('TransformerDecoder', options, STACK_KEYS);
    this.options = resolveWidth(options, 'TransformerDecoder');
    checkPositiveInt(options.numLayers, 'TransformerDecoder', 'numLayers');
    this.layers = Array.from({ length: options.numLayers }, () => new TransformerDecoderLayer(layerOptions(this.options)));
    this.norm = options.finalNorm ? new LayerNorm(this.options.embedDim, { eps: options.layerNormEps }) : null;
  }

  /** tgt [B, T, C], memory [B, S, C] → { output [B, T, C], weights? { self: [B, H, T, T] per layer, cross: [B, H, T, S] per layer } }. */
  forward(tgt: Tensor, memory: Tensor, options: DecoderForwardOptions = {}): AttentionOutput<DecoderWeights<Tensor[]>> {
    checkOptions('TransformerDecoder.forward', options, DECODER_FORWARD_KEYS);
    const { tgtKeyMask: _t, ...rest } = options;
    options = { ...rest, keyMask: aliasedOption<Tensor | null>('TransformerDecoder.forward', options, 'keyMask', 'tgtKeyMask') };
    const weights: DecoderWeights<Tensor[]> = { self: [], cross: [] };
    let y = tgt;
    for (const layer of this.layers) {
      const r = layer.forward(y, memory, options);
      y = r.output;
      if (r.weights) { weights.self.push(r.weights.self); weights.cross.push(r.weights.cross); }
    }
    if (this.norm) y = this.norm.forward(y);
    return attentionOutput(y, options.needWeights, () => weights);
  }
}
