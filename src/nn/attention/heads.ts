/** Shape checks and head split/merge shared by the attention layers. */
import { ValueError } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { reshape, split, transpose } from '../../ops/shape.js';
import { Linear } from '../linear.js';
import { checkPositiveInt, checkSequence } from '../init.js';

/** Checks embedDim and numHeads (heads must divide the width); returns the width C. */
export function checkHeads(layer: string, embedDim: number, numHeads: number): number {
  const C = checkPositiveInt(embedDim, layer, 'embedDim');
  checkPositiveInt(numHeads, layer, 'numHeads');
  if (C % numHeads !== 0) throw new ValueError(`${layer}: numHeads (${numHeads}) must divide embedDim (${C})`);
  return C;
}

/** t [B, L, H·D] → [B, H, L, D]. */
export function splitHeads(t: Tensor, numHeads: number): Tensor {
  const [B, L, HD] = t.shape as [number, number, number];
  return transpose(reshape(t, [B, L, numHeads, HD / numHeads]), 1, 2);
}

/** out [B, H, L, D] → [B, L, H·D]. */
export function joinHeads(out: Tensor): Tensor {
  const [B, H, L, D] = out.shape as [number, number, number, number];
  return reshape(transpose(out, 1, 2), [B, L, H * D]);
}

/** x [B, T, C] through the packed projection inProj [3C ← C] → q, k, v [B, H, T, C/H]. */
export function projectHeads(fn: string, inProj: Linear, x: Tensor, numHeads: number): [Tensor, Tensor, Tensor] {
  const C = inProj.inFeatures;
  checkSequence(fn, 'x', x, C, 'B, T');
  return split(inProj.forward(x), C, -1).map((t) => splitHeads(t, numHeads)) as [Tensor, Tensor, Tensor];
}

/** out [B, H, T, D] → outProj of [B, T, H·D]. */
export function mergeHeads(out: Tensor, outProj: Linear): Tensor {
  return outProj.forward(joinHeads(out));
}
