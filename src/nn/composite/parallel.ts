import { Tensor } from '../../tensor/tensor.js';
import type { Generator } from '../../tensor/random.js';
import { ValueError } from '../../errors.js';
import { add, cat, div, matmul, sigmoid, softmax, squeeze, stack, tanh, unsqueeze } from '../../ops/index.js';
import { Module } from '../module.js';
import { Linear } from '../linear.js';
import { checkPositiveInt, checkRng, checkSequence } from '../init.js';
import { BLOCK_FORWARD_KEYS, prefixWeights, runChild, type Block, type BlockForwardOptions, type BlockWeights } from './blocks.js';
import { attentionOutput, type AttentionOutput } from '../attention/contract.js';
import { meanGates, type GateValues } from './gates.js';
import { checkOptions, checkRequiredOptions } from '../../config.js';

/** How `Parallel` merges its branches' outputs. */
export type MergeMode = 'concat' | 'sum' | 'mean' | 'gated' | 'attention';
export const MERGE_MODES: readonly MergeMode[] = ['concat', 'sum', 'mean', 'gated', 'attention'];

export interface ParallelOptions {
  /** Width C of the input and of every branch's output. */
  embedDim: number;
  /** The branches, each [B, T, C] → [B, T, C]. */
  branches: Block[];
  /**
   * - 'concat': [y₁; …; yₙ] along C (then a learned projection nC → C unless `project: false`)
   * - 'sum' / 'mean': Σᵢ yᵢ, (1/n) Σᵢ yᵢ
   * - 'gated': gᵢ = σ(wᵢᵀ[y₁; …; yₙ] + bᵢ) per token, Σᵢ gᵢ yᵢ (gated multimodal units, n-way)
   * - 'attention': αᵢ = softmaxᵢ(vᵀ tanh(W yᵢ + b)) per token, Σᵢ αᵢ yᵢ (attention over branches)
   */
  merge: MergeMode;
  /** 'concat' only: project back to C (default true); without it the output is [B, T, nC]. */
  project?: boolean;
  /** Labels for gate inspection (default the branch class names). */
  names?: string[];
  rng?: Generator;
}

/**
 * Runs branches on the same input and merges them. x [B, T, C] → { output [B, T, C] ([B, T, nC]
 * for an unprojected concat), weights? the branches' `BlockWeights` under `branches.i.` }. Gate or
 * attention values of the last forward: `gateValues()`.
 *
 * @example
 * const par = new nn.Parallel({ embedDim: 32, merge: 'gated', rng, branches: [
 *   new nn.SelfAttentionBlock({ embedDim: 32, numHeads: 4, rng }),
 *   new nn.ConvBlock({ embedDim: 32, kernelSize: 3, rng }) ] });
 * const { output } = par.forward(x, { keyMask });   // [B, T, 32]
 * par.gateValues();                        // { names: ['SelfAttentionBlock', 'ConvBlock'], values: [0.52, 0.47] }
 */
export class Parallel extends Module {
  branches: Block[];
  proj: Linear | null = null;
  gateProj: Linear | null = null;
  scoreW: Linear | null = null;
  scoreV: Linear | null = null;
  private last: number[] | null = null;

  constructor(readonly options: ParallelOptions) {
    super();
    checkRequiredOptions('Parallel', options, { embedDim: true, branches: true, merge: true, project: true, names: true, rng: true });
    const name = 'Parallel';
    const rng = checkRng(options, name);
    const C = checkPositiveInt(options.embedDim, name, 'embedDim');
    if (!Array.isArray(options.branches) || options.branches.length === 0 || !options.branches.every((b) => b instanceof Module)) {
      throw new ValueError(`${name}: branches must be a non-empty array of modules, got ${Array.isArray(options.branches) ? `${options.branches.length} items` : typeof options.branches}`);
    }
    if (!MERGE_MODES.includes(options.merge)) throw new ValueError(`${name}: merge must be one of ${MERGE_MODES.join(', ')}, got '${String(options.merge)}'`);
    if (options.names && options.names.length !== options.branches.length) throw new ValueError(`${name}: names has ${options.names.length} labels for ${options.branches.length} branches`);
    this.branches = options.branches;
    const n = options.branches.length;
    if (options.merge === 'concat' && options.project !== false) this.proj = new Linear(n * C, C, { rng });
    if (options.merge === 'gated') this.gateProj = new Linear(n * C, n, { rng });
    if (options.merge === 'attention') {
      this.scoreW = new Linear(C, C, { rng });
      this.scoreV = new Linear(C, 1, { rng, bias: false });
    }
  }

  /** Output width: C, or n·C for an unprojected concat. */
  get outDim(): number {
    return this.options.merge === 'concat' && !this.proj ? this.branches.length * this.options.embedDim : this.options.embedDim;
  }

  forward(x: Tensor, options: BlockForwardOptions = {}): AttentionOutput<BlockWeights> {
    checkOptions('Parallel.forward', options, BLOCK_FORWARD_KEYS);
    checkSequence('Parallel.forward', 'x', x, this.options.embedDim, 'B, T');
    const rs = this.branches.map((b, i) => runChild('Parallel.forward', `branches.${i}`, b, x, options));
    const output = this.merge(rs.map((r) => r.output), options.keyMask);
    return attentionOutput(output, options.needWeights, () => Object.assign({}, ...rs.map((r, i) => prefixWeights(`branches.${i}`, r.weights))) as BlockWeights);
  }

  /** Merges the branches' outputs ys (n × [B, T, C]) as `merge` says, keeping the gates for inspection. */
  private merge(ys: Tensor[], keyMask: Tensor | null | undefined): Tensor {
    const n = ys.length;
    switch (this.options.merge) {
      case 'concat': {
        const c = cat(ys, -1);                                                              // [B, T, nC]
        return this.proj ? this.proj.forward(c) : c;
      }
      case 'sum': return ys.reduce((a, b) => add(a, b));
      case 'mean': return div(ys.reduce((a, b) => add(a, b)), n);
      case 'gated': {
        const g = sigmoid(this.gateProj!.forward(cat(ys, -1)));                            // [B, T, n]
        this.last = meanGates(g, keyMask);
        return squeeze(matmul(unsqueeze(g, -2), stack(ys, 2)), -2);                         // [B, T, C]
      }
      case 'attention': {
        const s = stack(ys, 2);                                                             // [B, T, n, C]
        const scores = squeeze(this.scoreV!.forward(tanh(this.scoreW!.forward(s))), -1);    // [B, T, n]
        const a = softmax(scores, -1);                                                      // [B, T, n]
        this.last = meanGates(a, keyMask);
        return squeeze(matmul(unsqueeze(a, -2), s), -2);                                    // [B, T, C]
      }
    }
  }

  /** Mean gate ('gated') or attention weight ('attention') per branch in the last forward; null for other modes or before one. */
  gateValues(): GateValues | null {
    if (!this.last) return null;
    return { names: this.options.names ?? this.branches.map((b) => b.constructor.name), values: [...this.last] };
  }
}
