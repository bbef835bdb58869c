import { Tensor } from '../tensor/tensor.js';
import { linear } from '../ops/linalg.js';
import { Module, Parameter } from './module.js';
import { checkPositiveInt, checkRng, uniformInit, type InitOptions } from './init.js';
import { SpectralReparam } from './sigmaReparam.js';
import type { Generator } from '../tensor/random.js';
import { checkOptions } from '../config.js';

/**
 * y = x·Wᵀ + b. weight [outFeatures, inFeatures], bias [outFeatures]; initialised as PyTorch
 * (U(±1/√in)). x [..., in] → [..., out].
 * @example const proj = new Linear(64, 64, { rng: new Generator(0) });
 */
export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;
  /** σReparam of the weight, when enabled with `useSigmaReparam` (null: the plain weight). */
  reparam: SpectralReparam | null = null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: InitOptions & { bias?: boolean } = {}) {
    super();
    checkOptions('Linear', options, { rng: true, bias: true });
    checkPositiveInt(inFeatures, 'Linear', 'inFeatures');
    checkPositiveInt(outFeatures, 'Linear', 'outFeatures');
    const rng = checkRng(options, 'Linear');
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = new Parameter(uniformInit([outFeatures, inFeatures], bound, rng));
    this.bias = options.bias === false ? null : new Parameter(uniformInit([outFeatures], bound, rng));
  }

  /** Uses Ŵ = (γ/σ(W))·W from now on (Zhai et al. 2023); returns this. */
  useSigmaReparam(rng: Generator): this {
    this.reparam ??= new SpectralReparam(this.outFeatures, this.inFeatures, rng);
    return this;
  }

  /** The weight as used: (γ/σ)·W under σReparam (a power-iteration step in training), else W. [out, in] */
  effectiveWeight(): Tensor {
    return this.reparam ? this.reparam.apply(this.weight, this.training) : this.weight;
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.effectiveWeight(), this.bias);
  }
}
