import { IndexError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { resolveRng, type Generator } from '../tensor/random.js';
import { ones } from '../tensor/creation.js';
import { backend, type FloatArray } from '../backend/backend.js';
import { apply, type Primitive } from './primitive.js';
import { fdata, floatArg, intArg } from './util.js';
import { add, mul, rsqrt, sub } from './elementwise.js';
import { mean, variance } from './reduce.js';
import { indexSelect, reshape } from './shape.js';
import { checkOptions } from '../config.js';

function normalizedDims(x: Tensor, normalizedShape: readonly number[], fn: string): number[] {
  const k = normalizedShape.length;
  if (k === 0 || k > x.ndim || normalizedShape.some((s, i) => x.shape[x.ndim - k + i] !== s)) {
    throw new ShapeError(`${fn}: x has shape ${fmtShape(x.shape)}, expected it to end in normalizedShape ${fmtShape(normalizedShape)}`);
  }
  return Array.from({ length: k }, (_, i) => x.ndim - k + i);
}

function checkAffine(t: Tensor | null | undefined, shape: readonly number[], fn: string, arg: string): void {
  if (!t) return;
  floatArg(t, fn, arg);
  if (t.ndim !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
    throw new ShapeError(`${fn}: ${arg} has shape ${fmtShape(t.shape)}, expected ${fmtShape(shape)}`);
  }
}

/** Fused layer norm over rows of length n (x viewed as [rows, n]); saves mean and 1/σ. */
export const layerNormPrim: Primitive<{ n: number; eps: number }, { mean: FloatArray; rstd: FloatArray }> = {
  name: 'layerNorm',
  forward: ([x, w, b], { n, eps }) => {
    const rows = x.size / n;
    const { y, mean, rstd } = backend().layerNormForward(fdata(x), w ? fdata(w) : null, b ? fdata(b) : null, rows, n, eps);
    return { out: new Tensor(y, x.shape), saved: { mean, rstd } };
  },
  backward: (g, { inputs: [x, w, b], saved, attrs: { n } }) => {
    const rows = x.size / n;
    const { gx, gw, gb } = backend().layerNormBackward(fdata(x), w ? fdata(w) : null, saved.mean, saved.rstd, fdata(g), rows, n);
    const grads: (Tensor | null)[] = [new Tensor(gx, x.shape)];
    if (w) grads.push(new Tensor(gw, w.shape));
    if (b) grads.push(new Tensor(gb, b.shape));
    return grads;
  },
};

/**
 * Layer normalisation over the trailing `normalizedShape` dims: (x − μ)/√(σ² + eps)·γ + β,
 * with the biased variance (as PyTorch). Runs the fused kernel; `layerNormComposite` is the
 * same formula from primitives, which the fused kernel is tested against.
 * @example layerNorm(x, [C], gamma, beta) // x [B, T, C]
 */
export function layerNorm(
  x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5,
): Tensor {
  floatArg(x, 'layerNorm', 'x');
  normalizedDims(x, normalizedShape, 'layerNorm');
  checkAffine(weight, normalizedShape, 'layerNorm', 'weight');
  checkAffine(bias, normalizedShape, 'layerNorm', 'bias');
  const n = normalizedShape.reduce((a, s) => a * s, 1);
  // the kernel takes weight before bias; a bias without weight rides as an explicit ones weight
  const w = weight ?? (bias ? ones(normalizedShape, { dtype: x.dtype }) : null);
  const inputs = [x, ...(w ? [w] : []), ...(bias ? [bias] : [])];
  return apply(layerNormPrim, inputs, { n, eps });
}

/** layerNorm built from primitives (mean, variance, rsqrt…): the reference for the fused kernel. */
export function layerNormComposite(
  x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5,
): Tensor {
  const dims = normalizedDims(x, normalizedShape, 'layerNorm');
  const mu = mean(x, dims, { keepDim: true });                           // [..., 1]
  const v = variance(x, dims, { keepDim: true, correction: 0 });         // [..., 1]
  let y = mul(sub(x, mu), rsqrt(add(v, eps)));                           // [..., C]
  if (weight) y = mul(y, weight);
  if (bias) y = add(y, bias);
  return y;
}

/** RMS normalisation: x / √(mean(x²) + eps)·γ over the trailing `normalizedShape` dims. */
export function rmsNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, eps = 1e-6): Tensor {
  floatArg(x, 'rmsNorm', 'x');
  const dims = normalizedDims(x, normalizedShape, 'rmsNorm');
  checkAffine(weight, normalizedShape, 'rmsNorm', 'weight');
  let y = mul(x, rsqrt(add(mean(mul(x, x), dims, { keepDim: true }), eps)));
  if (weight) y = mul(y, weight);
  return y;
}

/**
 * Inverted dropout: zeroes each element with probability `p` and scales the rest by 1/(1−p).
 * Identity when `training` is false or p = 0. Draws from `rng`, or the default generator when omitted.
 */
export function dropout(x: Tensor, p: number, options: { training: boolean; rng?: Generator }): Tensor {
  checkOptions('dropout', options, { training: true, rng: true });
  floatArg(x, 'dropout', 'x');
  if (!(p >= 0 && p < 1)) throw new ValueError(`dropout: p must be in [0, 1), got ${p}`);
  if (!options.training || p === 0) return x;
  return apply(dropoutPrim, [x], { p, seed: resolveRng(options.rng, 'dropout').nextUint32() });
}

/**
 * Inverted dropout keyed by a seed: element i survives when a counter-based hash of (seed, i)
 * clears p·2³² — the same decisions on every backend, and nothing to store for the backward.
 */
export const dropoutPrim: Primitive<{ p: number; seed: number }> = {
  name: 'dropout',
  forward: ([x], { p, seed }) => ({ out: new Tensor(backend().dropout(fdata(x), p, seed), x.shape), saved: undefined }),
  backward: (g, { attrs: { p, seed } }) => [new Tensor(backend().dropout(fdata(g), p, seed), g.shape)],
};

/**
 * Looks up rows of `weight` [numEmbeddings, dim] for int32 `ids` of any shape → [...ids.shape, dim].
 * Out-of-range ids raise an IndexError.
 */
export function embedding(ids: Tensor, weight: Tensor): Tensor {
  intArg(ids, 'embedding', 'ids');
  floatArg(weight, 'embedding', 'weight');
  if (weight.ndim !== 2) throw new ShapeError(`embedding: weight must be [numEmbeddings, dim], got ${fmtShape(weight.shape)}`);
  const n = weight.shape[0];
  for (const id of ids.data) {
    if (id < 0 || id >= n) throw new IndexError(`embedding: id ${id} is out of range for ${n} embeddings (ids shape ${fmtShape(ids.shape)})`);
  }
  const rows = indexSelect(weight, 0, reshape(ids, [-1]));               // [N, dim]
  return reshape(rows, [...ids.shape, weight.shape[1]]);
}

/** This family's primitives, by registry name (collected by registry.ts: a new primitive here needs no other edit). */
export const prims = { layerNorm: layerNormPrim, dropout: dropoutPrim };
