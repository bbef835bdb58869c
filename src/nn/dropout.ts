import { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import { dropout } from '../ops/norm.js';
import { Module } from './module.js';
import { ValueError } from '../errors.js';

/** Inverted dropout, active only in training mode; draws from `rng`, or the default generator when omitted. */
export class Dropout extends Module {
  constructor(readonly p: number, private readonly rng?: Generator) {
    super();
    if (!(p >= 0 && p < 1)) throw new ValueError(`Dropout: p must be in [0, 1), got ${p}`);
    if (rng !== undefined && !(rng instanceof Generator)) throw new ValueError(`Dropout: rng must be a Generator or omitted, got ${typeof rng}`);
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, { training: this.training, rng: this.rng });
  }
}
