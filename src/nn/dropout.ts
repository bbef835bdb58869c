import { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import { dropout } from '../ops/norm.js';
import { Module } from './module.js';
import { ValueError } from '../errors.js';

/** Inverted dropout, active only in training mode; draws from its own seeded generator. */
export class Dropout extends Module {
  constructor(readonly p: number, private readonly rng?: Generator) {
    super();
    if (!(p >= 0 && p < 1)) throw new ValueError(`Dropout: p must be in [0, 1), got ${p}`);
    if (p > 0 && !(rng instanceof Generator)) throw new ValueError('Dropout: p > 0 needs a Generator (new Dropout(p, rng))');
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, { training: this.training, rng: this.rng });
  }
}
