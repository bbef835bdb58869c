/** Masked mean pooling over tokens, shared by the fusion model and the baselines. */
import type { Tensor } from '../tensor/tensor.js';
import { div, maximum, mul, sum, toDtype, unsqueeze } from '../ops/index.js';

/** Masked mean over tokens: x [B, n, C], mask [B, n] → [B, C] (zeros where nothing is real). */
export function maskedMean(x: Tensor, mask: Tensor): Tensor {
  const m = unsqueeze(toDtype(mask, 'float32'), -1);                                      // [B, n, 1]
  return div(sum(mul(x, m), 1), maximum(sum(m, 1), 1));                                  // [B, C]
}
