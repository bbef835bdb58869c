/** Helpers for the self-attention layers that bring their own attention function (sparse, linear). */
import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { reshape, split, transpose } from '../../ops/shape.js';
import { Linear } from '../linear.js';
import { checkPositiveInt } from '../init.js';

/** Checks embedDim and numHeads (heads must divide the width); returns the width C. */
export function checkHeads(layer: string, embedDim: number, numHeads: number): number {
  const C = checkPositiveInt(embedDim, layer, 'embedDim');
  checkPositiveInt(numHeads, layer, 'numHeads');
  if (C % numHeads !== 0) throw new ValueError(`${layer}: numHeads (${numHeads}) must divide embedDim (${C})`);
  return C;
}

/** x [B, T, C] through the packed projection inProj [3C ← C] → q, k, v [B, H, T, C/H]. */
export function projectHeads(fn: string, inProj: Linear, x: Tensor, numHeads: number): [Tensor, Tensor, Tensor] {
  const C = inProj.inFeatures;
  if (!(x instanceof Tensor) || x.ndim !== 3 || x.shape[2] !== C) throw new ShapeError(`${fn}: x must be [B, T, ${C}], got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`);
  const [B, T] = x.shape as [number, number, number];
  return split(inProj.forward(x), C, -1).map((t) => transpose(reshape(t, [B, T, numHeads, C / numHeads]), 1, 2)) as [Tensor, Tensor, Tensor];
}

/** out [B, H, T, D] → outProj of [B, T, H·D]. */
export function mergeHeads(out: Tensor, outProj: Linear): Tensor {
  const [B, H, T, D] = out.shape as [number, number, number, number];
  return outProj.forward(reshape(transpose(out, 1, 2), [B, T, H * D]));
}
