/**
 * One row of the attribution maps, for the [CLS] query: attention rollout and gradient ×
 * attention of batch item b (analysis/rollout.ts's rules, without the N × N products), and the
 * scalar gradient × attention differentiates. The live viewer computes these for the record it
 * shows (src/viz/engine.ts) and `attnkit inspect` for the whole test split (train/splitSummary.ts).
 */
import { Tensor } from '../tensor/tensor.js';
import { mul, sum } from '../ops/index.js';
import type { TargetInfo } from '../data/preprocessor.js';

/**
 * The [CLS] row of attention rollout for batch item b (analysis.rollout's rule — heads averaged,
 * 0.5·A + 0.5·I, rows renormalised, multiplied through the layers), as a vector–matrix product
 * per layer instead of the whole N × N product: O(L·H·N²), not O(L·N³). `ws`: [B, H, N, N] per layer.
 */
export function clsRollout(ws: Tensor[], b: number): Float64Array {
  const [, H, N] = ws[0].shape as [number, number, number, number];
  let v = new Float64Array(N);
  v[0] = 1;
  for (let l = ws.length - 1; l >= 0; l--) {
    const w = ws[l].data, next = new Float64Array(N);
    for (let i = 0; i < N; i++) {
      if (v[i] === 0) continue;
      const row = new Float64Array(N);
      for (let h = 0; h < H; h++) {
        const base = ((b * H + h) * N + i) * N;
        for (let j = 0; j < N; j++) row[j] += w[base + j] / H;
      }
      let s = 0;
      for (let j = 0; j < N; j++) { row[j] *= 0.5; if (j === i) row[j] += 0.5; s += row[j]; }
      if (s > 0) for (let j = 0; j < N; j++) next[j] += (v[i] * row[j]) / s;
    }
    v = next;
  }
  return v;
}

/** relu(A ⊙ ∂y/∂A) of the [CLS] row, mean over heads, for batch item b (analysis.gradTimesAttention's rule, one row). `w` [B, H, N, N] with its grad. */
export function clsGradAttention(w: Tensor, b: number): Float64Array {
  const [, H, N] = w.shape as [number, number, number, number];
  const a = w.data, g = w.grad!.data, out = new Float64Array(N);
  for (let h = 0; h < H; h++) {
    const base = ((b * H + h) * N) * N;
    for (let j = 0; j < N; j++) out[j] += Math.max(0, a[base + j] * g[base + j]) / H;
  }
  return out;
}

/** The scalar whose gradient gradient × attention uses: each row's predicted-class logit (binary and regression: the output) of `y` [B] or [B, K]. */
export function predictedScore(t: TargetInfo, y: Tensor, predicted: number[]): Tensor {
  if (t.task !== 'multiclass') return sum(y);
  const K = t.outputs, m = new Float32Array(y.size);
  predicted.forEach((k, b) => { m[b * K + k] = 1; });
  return sum(mul(y, new Tensor(m, y.shape)));
}

