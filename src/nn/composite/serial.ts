import type { Tensor } from '../../tensor/tensor.js';
import { ValueError } from '../../errors.js';
import { add } from '../../ops/index.js';
import { Module } from '../module.js';
import { LayerNorm } from '../layerNorm.js';
import { checkPositiveInt, checkSequence } from '../init.js';
import { BLOCK_FORWARD_KEYS, prefixWeights, runChild, type Block, type BlockForwardOptions, type BlockWeights } from './blocks.js';
import { attentionOutput, type AttentionOutput } from '../attention/contract.js';
import { checkOptions, checkRequiredOptions } from '../../config.js';

export interface SerialOptions {
  /** Width C through the stack. */
  embedDim: number;
  /** Stages, applied in order, each [B, T, C] → [B, T, C]. */
  layers: Block[];
  /** Add each stage's input to its output (default true). */
  residual?: boolean;
  /**
   * LayerNorm placement: 'pre' x + f(LN(x)) (default), 'post' LN(x + f(x)), 'none'.
   * Without `residual`, 'pre' is f(LN(x)) and 'post' LN(f(x)).
   */
  norm?: 'pre' | 'post' | 'none';
}

/**
 * Stacked blocks with optional residual connections and LayerNorms. x [B, T, C] → { output
 * [B, T, C], weights? the stages' `BlockWeights` under `layers.i.` }.
 * Parameters: layers.N…, norms.N (one LayerNorm per stage unless norm is 'none').
 *
 * @example
 * const stack = new nn.Serial({ embedDim: 32, layers: [
 *   new nn.SelfAttentionBlock({ embedDim: 32, numHeads: 4, rng }),
 *   new nn.FeedForwardBlock({ embedDim: 32, rng }) ] });
 * const { output } = stack.forward(x, { keyMask });   // [B, T, 32]
 */
export class Serial extends Module {
  layers: Block[];
  norms: LayerNorm[];

  constructor(readonly options: SerialOptions) {
    super();
    checkRequiredOptions('Serial', options, { embedDim: true, layers: true, residual: true, norm: true });
    const C = checkPositiveInt(options.embedDim, 'Serial', 'embedDim');
    if (!Array.isArray(options.layers) || options.layers.length === 0 || !options.layers.every((l) => l instanceof Module)) {
      throw new ValueError(`Serial: layers must be a non-empty array of modules, got ${Array.isArray(options.layers) ? `${options.layers.length} items` : typeof options.layers}`);
    }
    const norm = options.norm ?? 'pre';
    if (!['pre', 'post', 'none'].includes(norm)) throw new ValueError(`Serial: norm must be 'pre', 'post' or 'none', got '${String(norm)}'`);
    this.layers = options.layers;
    this.norms = norm === 'none' ? [] : options.layers.map(() => new LayerNorm(C));
  }

  forward(x: Tensor, options: BlockForwardOptions = {}): AttentionOutput<BlockWeights> {
    checkOptions('Serial.forward', options, BLOCK_FORWARD_KEYS);
    checkSequence('Serial.forward', 'x', x, this.options.embedDim, 'B, T');
    const weights: BlockWeights = {};
    const residual = this.options.residual ?? true;
    const norm = this.options.norm ?? 'pre';
    let y = x;
    this.layers.forEach((layer, i) => {
      const inp = norm === 'pre' ? this.norms[i].forward(y) : y;
      const r = runChild('Serial.forward', `layers.${i}`, layer, inp, options);
      Object.assign(weights, prefixWeights(`layers.${i}`, r.weights));
      let out = r.output;
      if (residual) out = add(y, out);
      y = norm === 'post' ? this.norms[i].forward(out) : out;
    });
    return attentionOutput(y, options.needWeights, () => weights);
  }
}
