import type { Tensor } from '../../tensor/tensor.js';

/** Gate values a composite module used in its last forward, for inspection. */
export interface GateValues {
  /** One label per gated item (branch or mechanism), e.g. 'branches.0 (selfAttention)'. */
  names: string[];
  /** Mean gate per item over the batch and real tokens (static gates: the gate itself). */
  values: number[];
}

/**
 * Mean over [B, T] of gates g [B, T, n] (real tokens only when mask [B, T] is given) → n numbers.
 * Read from the raw buffer: inspection never enters the autograd tape.
 */
export function meanGates(g: Tensor, mask: Tensor | null | undefined): number[] {
  const n = g.shape[g.ndim - 1]!;
  const rows = g.size / n;
  const sums = new Array<number>(n).fill(0);
  let count = 0;
  const gd = g.data, md = mask?.data;
  for (let r = 0; r < rows; r++) {
    if (md && !md[r]) continue;
    count++;
    for (let i = 0; i < n; i++) sums[i] += gd[r * n + i];
  }
  return sums.map((s) => (count ? s / count : 0));
}
