import { Tensor } from '../tensor/tensor.js';
import { ones, zeros } from '../tensor/creation.js';
import { layerNorm } from '../ops/norm.js';
import { Module, Parameter } from './module.js';
import { checkPositiveInt } from './init.js';
import { checkOptions } from '../config.js';
import { ValueError, kindOf } from '../errors.js';

/** Layer normalisation over the last dim(s) with learned scale (1) and shift (0). x [..., C] → [..., C]. */
export class LayerNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly normalizedShape: number[];

  constructor(normalizedShape: number | number[], readonly options: { eps?: number; elementwiseAffine?: boolean } = {}) {
    super();
    checkOptions('LayerNorm', options, { eps: true, elementwiseAffine: true });
    if (typeof normalizedShape !== 'number' && !Array.isArray(normalizedShape)) {
      throw new ValueError(`LayerNorm: normalizedShape must be a positive integer or a list of them, got ${kindOf(normalizedShape)}`);
    }
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.normalizedShape.forEach((s) => checkPositiveInt(s, 'LayerNorm', 'normalizedShape'));
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? new Parameter(ones(this.normalizedShape)) : null;
    this.bias = affine ? new Parameter(zeros(this.normalizedShape)) : null;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.options.eps ?? 1e-5);
  }
}
