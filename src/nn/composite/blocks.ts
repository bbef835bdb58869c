/**
 * Sequence blocks: the uniform shape composite modules join. Every block maps x [B, T, C]
 * (with an optional key mask [B, T], true = real token) to { output [B, T, C], weights? }, so any
 * of them can be a branch of `Parallel`, a stage of `Serial` or a mechanism of `Fusion`.
 */
import { Tensor } from '../../tensor/tensor.js';
import type { Generator } from '../../tensor/random.js';
import { ValueError } from '../../errors.js';
import { gelu, pad, relu, transpose, unsqueeze, where } from '../../ops/index.js';
import { Module } from '../module.js';
import { Linear } from '../linear.js';
import { Conv1d } from '../conv.js';
import { Dropout } from '../dropout.js';
import { checkPositiveInt, checkSequence } from '../init.js';
import { MultiHeadAttention } from '../attention/multihead.js';
import { SparseSelfAttention } from '../attention/sparse.js';
import { LinearSelfAttention } from '../attention/linear.js';
import { TransformerEncoderLayer } from '../attention/transformer.js';
import { checkOptions, type OptionKeys, checkRequiredOptions } from '../../config.js';
import { attentionOutput, type AttentionOutput, type SelfAttentionForwardOptions } from '../attention/contract.js';
/**
 * Options every block's forward takes: the shared keyMask [B, T] and needWeights. `causal` is a
 * block's construction option (it holds for every call), so forward refuses it.
 */
export type BlockForwardOptions = Omit<SelfAttentionForwardOptions, 'causal'>;

/** The keys of BlockForwardOptions, which every block's forward checks. */
export const BLOCK_FORWARD_KEYS: OptionKeys<BlockForwardOptions> = { keyMask: true, needWeights: true };

/**
 * A block's attention weights: each attention layer inside it, by its module path relative to the
 * block (`namedModules` paths: `{ attn: [B, H, T, T] }` for a SelfAttentionBlock,
 * `{ 'layers.0.attn': …, 'layers.2.layer.selfAttn': … }` for a Serial). Blocks without attention
 * (convolution, feed-forward) give `{}`.
 */
export type BlockWeights = Record<string, Tensor>;

/** A module mapping x [B, T, C] → { output [B, T, C], weights? BlockWeights }. */
export type Block = Module & { forward(x: Tensor, options?: BlockForwardOptions): AttentionOutput<BlockWeights> };

/**
 * A child's weights under `prefix.` (its path inside the composite). A child that is itself one
 * attention layer (a TransformerEncoderLayer: one Tensor) gives its weights under `prefix`.
 */
export function prefixWeights(prefix: string, w: BlockWeights | Tensor | undefined): BlockWeights {
  if (w instanceof Tensor) return { [prefix]: w };
  return Object.fromEntries(Object.entries(w ?? {}).map(([k, t]) => [`${prefix}.${k}`, t]));
}

/**
 * The attention layers inside a block whose maps the block's output is computed from
 * (MultiHeadAttention: its output is weights · V on the autograd tape, so gradient × attention
 * applies), in the order its forward runs them (depth first, the `namedModules` walk): each one's
 * path, which is its key in the block's `BlockWeights`, and its head count. Local and linear
 * attention layers are left out: their output comes from a fused or kernelised path and their
 * maps are an equal side computation that the output's gradient never reaches. Empty for blocks
 * without such attention (convolution, feed-forward).
 */
export function attentionLayers(block: Module): { path: string; numHeads: number }[] {
  return block.namedModules().flatMap(([path, m]) => (m instanceof MultiHeadAttention ? [{ path, numHeads: m.numHeads }] : []));
}

/**
 * A block's weights as token-to-token maps [B, H, T, T], in forward order (`BlockWeights` keeps
 * the order its children ran in), of the layers `attentionLayers(block)` lists; other entries
 * (local or linear attention's side-computed maps, gates, maps of another shape) are left out.
 */
export function tokenMaps(weights: BlockWeights, T: number, block: Module): Tensor[] {
  const layers = new Set(attentionLayers(block).map((l) => l.path));
  return Object.entries(weights).filter(([path, w]) => layers.has(path) && w.shape.length === 4 && w.shape[2] === T && w.shape[3] === T).map(([, w]) => w);
}

/**
 * Runs a composite's child (`path`, e.g. `branches.0`) and checks that it kept the block
 * contract: a module whose forward returns a bare Tensor (a Linear) is named, instead of failing
 * later in the merge.
 */
export function runChild(fn: string, path: string, child: Block, x: Tensor, options: BlockForwardOptions): AttentionOutput<BlockWeights> {
  const r: unknown = child.forward(x, options);
  if (!(r instanceof Object) || r instanceof Tensor || !((r as { output?: unknown }).output instanceof Tensor)) {
    throw new ValueError(`${fn}: ${path} (${child.constructor.name}) returned ${r instanceof Tensor ? 'a Tensor' : r === null ? 'null' : typeof r}, not { output, weights? }: `
      + 'a child must be a block (nn.Block, forward(x, { keyMask, needWeights }) → { output, weights? }), e.g. a FeedForwardBlock instead of a Linear');
  }
  return r as AttentionOutput<BlockWeights>;
}

/** Zeroes padded positions so convolutions and sums never see them: x [B, T, C], mask [B, T]. */
export function zeroPadded(x: Tensor, keyMask: Tensor | null | undefined): Tensor {
  return keyMask ? where(unsqueeze(keyMask, -1), x, 0) : x;
}

/** Multi-head self-attention as a block (the key mask is honoured); weights `{ attn: [B, H, T, T] }`. */
export class SelfAttentionBlock extends Module {
  attn: MultiHeadAttention;
  constructor(readonly options: { embedDim: number; numHeads: number; dropout?: number; causal?: boolean; rng?: Generator }) {
    super();
    checkRequiredOptions('SelfAttentionBlock', options, { embedDim: true, numHeads: true, dropout: true, causal: true, rng: true });
    this.attn = new MultiHeadAttention({ embedDim: options.embedDim, numHeads: options.numHeads, dropout: options.dropout, rng: options.rng });
  }

  forward(x: Tensor, options: BlockForwardOptions = {}): AttentionOutput<BlockWeights> {
    checkOptions('SelfAttentionBlock.forward', options, BLOCK_FORWARD_KEYS);
    checkSequence('SelfAttentionBlock.forward', 'x', x, this.options.embedDim, 'B, T');
    const r = this.attn.forward(x, x, x, { keyMask: options.keyMask, causal: this.options.causal, needWeights: options.needWeights, averageWeights: false });
    return attentionOutput(r.output, options.needWeights, () => ({ attn: r.weights! }));
  }
}

/**
 * A 1-D convolution over time as a block: same-length output (or causal, left padding only),
 * GELU, padded positions zeroed before and after. x [B, T, C] → [B, T, C].
 */
export class ConvBlock extends Module {
  conv: Conv1d;
  private readonly left: number;
  constructor(readonly options: { embedDim: number; kernelSize: number; dilation?: number; causal?: boolean; rng?: Generator }) {
    super();
    checkRequiredOptions('ConvBlock', options, { embedDim: true, kernelSize: true, dilation: true, causal: true, rng: true });
    const k = checkPositiveInt(options.kernelSize, 'ConvBlock', 'kernelSize');
    const d = checkPositiveInt(options.dilation ?? 1, 'ConvBlock', 'dilation');
    const span = d * (k - 1);
    if (!options.causal && span % 2 !== 0) throw new ValueError(`ConvBlock: a non-causal block needs dilation·(kernelSize−1) even for same-length output, got kernelSize ${k}, dilation ${d}`);
    this.left = options.causal ? span : span / 2;
    this.conv = new Conv1d(options.embedDim, options.embedDim, k, { dilation: d, padding: 0, rng: options.rng });
  }
  /** x [B, T, C] → { output [B, T, C], weights? `{}` (no attention) }. */
  forward(x: Tensor, options: BlockForwardOptions = {}): AttentionOutput<BlockWeights> {
    checkOptions('ConvBlock.forward', options, BLOCK_FORWARD_KEYS);
    checkSequence('ConvBlock.forward', 'x', x, this.options.embedDim, 'B, T');
    const span = (this.options.dilation ?? 1) * (this.options.kernelSize - 1);
    const h = transpose(zeroPadded(x, options.keyMask), 1, 2);                           // [B, C, T]
    const padded = pad(h, [this.left, span - this.left]);                              // [B, C, T + span]
    const y = transpose(gelu(this.conv.forward(padded)), 1, 2);                          // [B, T, C]
    return attentionOutput(zeroPadded(y, options.keyMask), options.needWeights, () => ({}));
  }
}

/** Position-wise feed-forward block: Linear → ReLU/GELU → dropout → Linear. */
export class FeedForwardBlock extends Module {
  linear1: Linear;
  linear2: Linear;
  dropout: Dropout;
  constructor(readonly options: { embedDim: number; hidden?: number; activation?: 'relu' | 'gelu'; dropout?: number; rng?: Generator }) {
    super();
    checkRequiredOptions('FeedForwardBlock', options, { embedDim: true, hidden: true, activation: true, dropout: true, rng: true });
    const hidden = options.hidden ?? 4 * options.embedDim;
    this.linear1 = new Linear(options.embedDim, hidden, { rng: options.rng });
    this.linear2 = new Linear(hidden, options.embedDim, { rng: options.rng });
    this.dropout = new Dropout(options.dropout ?? 0, options.rng);
  }
  /** x [B, T, C] → { output [B, T, C], weights? `{}` (no attention) }. */
  forward(x: Tensor, options: BlockForwardOptions = {}): AttentionOutput<BlockWeights> {
    checkOptions('FeedForwardBlock.forward', options, BLOCK_FORWARD_KEYS);
    checkSequence('FeedForwardBlock.forward', 'x', x, this.options.embedDim, 'B, T');
    const h = this.linear1.forward(x);
    const y = this.linear2.forward(this.dropout.forward(this.options.activation === 'relu' ? relu(h) : gelu(h)));
    return attentionOutput(y, options.needWeights, () => ({}));
  }
}

/** Sliding-window (local) self-attention as a block; weights `{ attn: [B, H, T, T] }` (zero off the window). */
export class LocalAttentionBlock extends Module {
  attn: SparseSelfAttention;
  constructor(readonly options: { embedDim: number; numHeads: number; window: number; rng?: Generator }) {
    super();
    checkRequiredOptions('LocalAttentionBlock', options, { embedDim: true, numHeads: true, window: true, rng: true });
    this.attn = new SparseSelfAttention({ embedDim: options.embedDim, numHeads: options.numHeads, pattern: 'window', window: options.window, rng: options.rng });
  }
  forward(x: Tensor, options: BlockForwardOptions = {}): AttentionOutput<BlockWeights> {
    checkOptions('LocalAttentionBlock.forward', options, BLOCK_FORWARD_KEYS);
    checkSequence('LocalAttentionBlock.forward', 'x', x, this.options.embedDim, 'B, T');
    const r = this.attn.forward(x, options);
    return attentionOutput(r.output, options.needWeights, () => ({ attn: r.weights! }));
  }
}

/** Linear (kernel) self-attention as a block; padded outputs are zeroed; weights `{ attn: [B, H, T, T] }`. */
export class LinearAttentionBlock extends Module {
  attn: LinearSelfAttention;
  constructor(readonly options: { embedDim: number; numHeads: number; kernel?: 'elu' | 'performer'; rng?: Generator }) {
    super();
    checkRequiredOptions('LinearAttentionBlock', options, { embedDim: true, numHeads: true, kernel: true, rng: true });
    this.attn = new LinearSelfAttention({ embedDim: options.embedDim, numHeads: options.numHeads, kernel: options.kernel, rng: options.rng });
  }
  forward(x: Tensor, options: BlockForwardOptions = {}): AttentionOutput<BlockWeights> {
    checkOptions('LinearAttentionBlock.forward', options, BLOCK_FORWARD_KEYS);
    checkSequence('LinearAttentionBlock.forward', 'x', x, this.options.embedDim, 'B, T');
    const r = this.attn.forward(x, options);
    return attentionOutput(zeroPadded(r.output, options.keyMask), options.needWeights, () => ({ attn: r.weights! }));
  }
}

/** A whole Transformer encoder layer (pre-norm by default) as a block; weights `{ 'layer.selfAttn': [B, H, T, T] }`. */
export class TransformerBlock extends Module {
  layer: TransformerEncoderLayer;
  constructor(readonly options: { embedDim: number; numHeads: number; dimFeedforward?: number; dropout?: number; normFirst?: boolean; rng?: Generator }) {
    super();
    checkRequiredOptions('TransformerBlock', options, { embedDim: true, numHeads: true, dimFeedforward: true, dropout: true, normFirst: true, rng: true });
    this.layer = new TransformerEncoderLayer({
      embedDim: options.embedDim, numHeads: options.numHeads, dimFeedforward: options.dimFeedforward ?? 2 * options.embedDim,
      dropout: options.dropout ?? 0, normFirst: options.normFirst ?? true, activation: 'gelu', rng: options.rng,
    });
  }
  forward(x: Tensor, options: BlockForwardOptions = {}): AttentionOutput<BlockWeights> {
    checkOptions('TransformerBlock.forward', options, BLOCK_FORWARD_KEYS);
    checkSequence('TransformerBlock.forward', 'x', x, this.options.embedDim, 'B, T');
    const r = this.layer.forward(x, options);
    return attentionOutput(r.output, options.needWeights, () => ({ 'layer.selfAttn': r.weights! }));
  }
}
