import { Tensor } from '../tensor/tensor.js';
import { randn } from '../tensor/creation.js';
import { embedding } from '../ops/norm.js';
import { Module, Parameter } from './module.js';
import { checkPositiveInt, checkRng, type InitOptions } from './init.js';
import { checkOptions } from '../config.js';

/**
 * A lookup table [numEmbeddings, dim] initialised N(0, 1) as PyTorch; int32 ids [...] → [..., dim].
 * `paddingIdx` rows start at zero (their gradient is not masked).
 */
export class Embedding extends Module {
  weight: Parameter;

  constructor(readonly numEmbeddings: number, readonly dim: number, options: InitOptions & { paddingIdx?: number } = {}) {
    super();
    checkOptions('Embedding', options, { rng: true, paddingIdx: true });
    checkPositiveInt(numEmbeddings, 'Embedding', 'numEmbeddings');
    checkPositiveInt(dim, 'Embedding', 'dim');
    const w = randn([numEmbeddings, dim], { rng: checkRng(options, 'Embedding') });
    if (options.paddingIdx !== undefined) w.data.fill(0, options.paddingIdx * dim, (options.paddingIdx + 1) * dim);
    this.weight = new Parameter(w);
  }

  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight);
  }
}
