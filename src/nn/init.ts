import { Generator } from '../tensor/random.js';
import { rand } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { ValueError } from '../errors.js';

/** Options every layer with random initial weights takes. */
export interface InitOptions {
  /** The generator initial weights are drawn from (required: no hidden global RNG). */
  rng: Generator;
}

export function checkRng(options: Partial<InitOptions> | undefined, layer: string): Generator {
  if (!options || !(options.rng instanceof Generator)) {
    throw new ValueError(`${layer}: options.rng must be a Generator (e.g. { rng: new Generator(0) }) to initialise weights`);
  }
  return options.rng;
}

/** U(−bound, bound), PyTorch's default for Linear/Conv weights and biases (bound = 1/√fanIn). */
export function uniformInit(shape: number[], bound: number, rng: Generator): Tensor {
  return rand(shape, { rng, low: -bound, high: bound });
}

export function checkPositiveInt(v: unknown, layer: string, arg: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ValueError(`${layer}: ${arg} must be a positive integer, got ${String(v)}`);
  return v;
}
