import { Generator, resolveRng } from '../tensor/random.js';
import { rand } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { ValueError } from '../errors.js';

/** Options every layer with random initial weights takes. */
export interface InitOptions {
  /** The generator initial weights are drawn from; omitted, the default generator (reseed it with `manualSeed`). */
  rng?: Generator;
}

/** The layer's generator: `options.rng` when given (it must be a Generator), else the default generator. */
export function checkRng(options: Partial<InitOptions> | undefined, layer: string): Generator {
  return resolveRng(options?.rng, layer);
}

/** U(−bound, bound), PyTorch's default for Linear/Conv weights and biases (bound = 1/√fanIn). */
export function uniformInit(shape: number[], bound: number, rng: Generator): Tensor {
  return rand(shape, { rng, low: -bound, high: bound });
}

export function checkPositiveInt(v: unknown, layer: string, arg: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ValueError(`${layer}: ${arg} must be a positive integer, got ${String(v)}`);
  return v;
}
