import { Generator, resolveRng } from '../tensor/random.js';
import { rand } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { ShapeError, ValueError, fmtShape } from '../errors.js';

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

/**
 * The one `[B, L, C]` input check: `x` must be a rank-3 Tensor whose last dim is `C`. `dims`
 * names the leading axes in the message (`'B, T'`, `'B, S'`, …): `fn: arg must be [B, L, 64], got [2,7,48]`.
 */
export function checkSequence(fn: string, arg: string, x: unknown, C: number, dims = 'B, L'): asserts x is Tensor {
  if (!(x instanceof Tensor) || x.ndim !== 3 || x.shape[2] !== C) {
    throw new ShapeError(`${fn}: ${arg} must be [${dims}, ${C}], got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`);
  }
}

/**
 * An option given under its one name or its older alias (kept for migration): the value of
 * whichever is present; both present is refused, naming the function.
 */
export function aliasedOption<T>(fn: string, options: object, name: string, alias: string): T | undefined {
  const o = options as Record<string, unknown>;
  if (o[name] != null && o[alias] != null) throw new ValueError(`${fn}: pass ${name} or its alias ${alias}, not both`);
  return (o[name] ?? o[alias]) as T | undefined;
}
