import type { Tensor } from '../../tensor/tensor.js';
import type { Generator } from '../../tensor/random.js';
import { zeros } from '../../tensor/creation.js';
import { ValueError } from '../../errors.js';
import { add, expand, matmul, sigmoid, softmax, squeeze, stack, unsqueeze } from '../../ops/index.js';
import { Module, Parameter } from '../module.js';
import { Linear } from '../linear.js';
import { LayerNorm } from '../layerNorm.js';
import { Dropout } from '../dropout.js';
import { checkPositiveInt, checkRng, checkSequence } from '../init.js';
import { BLOCK_FORWARD_KEYS, prefixWeights, runChild, type Block, type BlockForwardOptions, type BlockWeights } from './blocks.js';
import { attentionOutput, type AttentionOutput } from '../attention/contract.js';
import { meanGates, type GateValues } from './gates.js';
import { checkOptions, checkRequiredOptions } from '../../config.js';

export interface FusionOptions {
  /** Width C of the input and of every mechanism. */
  embedDim: number;
  /** The mechanisms mixed (self-attention, local attention, a convolution…), each [B, T, C] → [B, T, C]. */
  mechanisms: Block[];
  /**
   * 'static' (default): one learned logit per mechanism, mixed by softmax — a global choice
   * between mechanisms, readable as a distribution. 'token': per-token sigmoid gates computed
   * from the normalised input, so each position picks its own mix.
   */
  gate?: 'static' | 'token';
  dropout?: number;
  names?: string[];
  rng?: Generator;
}

/**
 * Mixes mechanisms with learned gates inside one residual block:
 * y = x + Dropout(Σᵢ gᵢ · mᵢ(LN(x))). x [B, T, C] → { output [B, T, C], weights? the
 * mechanisms' `BlockWeights` under `mechanisms.i.` }.
 * Parameters: norm, mechanisms.N…, gateLogits [n] ('static') or gateProj ('token').
 *
 * @example
 * const mix = new nn.Fusion({ embedDim: 32, rng, mechanisms: [
 *   new nn.SelfAttentionBlock({ embedDim: 32, numHeads: 4, rng }),
 *   new nn.ConvBlock({ embedDim: 32, kernelSize: 3, rng }) ] });
 * mix.forward(x).output;   // [B, T, 32]
 * mix.gateValues();        // { names: [...], values: [0.5, 0.5] } at initialisation
 */
export class Fusion extends Module {
  norm: LayerNorm;
  mechanisms: Block[];
  gateLogits: Parameter | null = null;
  gateProj: Linear | null = null;
  dropout: Dropout;
  private last: number[] | null = null;

  constructor(readonly options: FusionOptions) {
    super();
    checkRequiredOptions('Fusion', options, { embedDim: true, mechanisms: true, gate: true, dropout: true, names: true, rng: true });
    const rng = checkRng(options, 'Fusion');
    const C = checkPositiveInt(options.embedDim, 'Fusion', 'embedDim');
    if (!Array.isArray(options.mechanisms) || options.mechanisms.length === 0 || !options.mechanisms.every((m) => m instanceof Module)) {
      throw new ValueError(`Fusion: mechanisms must be a non-empty array of modules, got ${Array.isArray(options.mechanisms) ? `${options.mechanisms.length} items` : typeof options.mechanisms}`);
    }
    const g = options.gate ?? 'static';
    if (g !== 'static' && g !== 'token') throw new ValueError(`Fusion: gate must be 'static' or 'token', got '${String(g)}'`);
    if (options.names && options.names.length !== options.mechanisms.length) throw new ValueError(`Fusion: names has ${options.names.length} labels for ${options.mechanisms.length} mechanisms`);
    const n = options.mechanisms.length;
    this.norm = new LayerNorm(C);
    this.mechanisms = options.mechanisms;
    if (g === 'static') this.gateLogits = new Parameter(zeros([n]));
    else this.gateProj = new Linear(C, n, { rng });
    this.dropout = new Dropout(options.dropout ?? 0, options.rng);
  }

  forward(x: Tensor, options: BlockForwardOptions = {}): AttentionOutput<BlockWeights> {
    checkOptions('Fusion.forward', options, BLOCK_FORWARD_KEYS);
    checkSequence('Fusion.forward', 'x', x, this.options.embedDim, 'B, T');
    const [B, T] = x.shape as [number, number, number];
    const h = this.norm.forward(x);                                                        // [B, T, C]
    const rs = this.mechanisms.map((m, i) => runChild('Fusion.forward', `mechanisms.${i}`, m, h, options));
    const ys = stack(rs.map((r) => r.output), 2);                                          // [B, T, n, C]
    const n = this.mechanisms.length;
    let g: Tensor;                                                                         // [B, T, n]
    if (this.gateLogits) {
      g = expand(softmax(this.gateLogits, -1), [B, T, n]);
    } else {
      g = sigmoid(this.gateProj!.forward(h));
      this.last = meanGates(g, options.keyMask);
    }
    const mixed = squeeze(matmul(unsqueeze(g, -2), ys), -2);                              // [B, T, C]
    const output = add(x, this.dropout.forward(mixed));
    return attentionOutput(output, options.needWeights, () => Object.assign({}, ...rs.map((r, i) => prefixWeights(`mechanisms.${i}`, r.weights))) as BlockWeights);
  }

  /** The mixing weights: the softmax of the logits ('static'), or mean per-token gates of the last forward ('token'). */
  gateValues(): GateValues | null {
    if (this.gateLogits) this.last = softmaxOf(Array.from(this.gateLogits.data));
    if (!this.last) return null;
    return { names: this.options.names ?? this.mechanisms.map((m) => m.constructor.name), values: [...this.last] };
  }
}

function softmaxOf(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
