import { Tensor } from '../tensor/tensor.js';
import { linear } from '../ops/linalg.js';
import { Module, Parameter } from './module.js';
import { checkPositiveInt, checkRng, uniformInit, type InitOptions } from './init.js';

/**
 * y = x·Wᵀ + b. weight [outFeatures, inFeatures], bias [outFeatures]; initialised as PyTorch
 * (U(±1/√in)). x [..., in] → [..., out].
 * @example const proj = new Linear(64, 64, { rng: new Generator(0) });
 */
export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: InitOptions & { bias?: boolean }) {
    super();
    checkPositiveInt(inFeatures, 'Linear', 'inFeatures');
    checkPositiveInt(outFeatures, 'Linear', 'outFeatures');
    const rng = checkRng(options, 'Linear');
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = new Parameter(uniformInit([outFeatures, inFeatures], bound, rng));
    this.bias = options.bias === false ? null : new Parameter(uniformInit([outFeatures], bound, rng));
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
