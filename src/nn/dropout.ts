import { Tensor } from '../tensor/tensor.js';
import { Generator, moduleGenerator } from '../tensor/random.js';
import { dropout } from '../ops/norm.js';
import { Module } from './module.js';
import { ValueError } from '../errors.js';

/**
 * Inverted dropout, active only in training mode; draws from `rng`, or (omitted, p > 0) from its
 * own generator seeded from the default generator when the layer is built.
 */
export class Dropout extends Module {
  private readonly rng: Generator | undefined;

  constructor(readonly p: number, rng?: Generator) {
    super();
    if (!(p >= 0 && p < 1)) throw new ValueError(`Dropout: p must be in [0, 1), got ${p}`);
    if (rng !== undefined && !(rng instanceof Generator)) throw new ValueError(`Dropout: rng must be a Generator or omitted, got ${typeof rng}`);
    this.rng = p > 0 ? moduleGenerator(rng, 'Dropout') : rng;
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, { training: this.training, rng: this.rng });
  }
}
