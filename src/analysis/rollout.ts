/**
 * Attention rollout (Abnar & Zuidema 2020): average the heads, add the residual as
 * Â = 0.5·A + 0.5·I with rows renormalised, and multiply through the layers,
 * R = Â_L ··· Â_1. Row i of R says how much each input token flows into position i
 * (the [CLS] row is the input attribution). Also gradient × attention, a per-layer
 * attribution: mean over heads of relu(A ⊙ ∂y/∂A).
 */
import type { Tensor } from '../tensor/tensor.js';
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { checkOptions } from '../config.js';

function headFused(w: Tensor, b: number, fusion: 'mean' | 'max' | 'min'): Float64Array {
  const [, H, T, S] = w.shape as [number, number, number, number];
  if (T !== S) throw new ShapeError(`rollout: self-attention weights must be square, got ${fmtShape(w.shape)}`);
  const out = new Float64Array(T * T).fill(fusion === 'min' ? Infinity : fusion === 'max' ? -Infinity : 0);
  for (let h = 0; h < H; h++) {
    const base = (b * H + h) * T * T;
    for (let k = 0; k < T * T; k++) {
      const a = w.data[base + k];
      out[k] = fusion === 'mean' ? out[k] + a / H : fusion === 'max' ? Math.max(out[k], a) : Math.min(out[k], a);
    }
  }
  return out;
}

/**
 * @param weights per layer [B, H, N, N], first layer first
 * @returns per batch item the rollout matrix [N][N]
 *
 * @example
 * const r = analysis.rollout(layerWeights);   // r[0][0] = the [CLS] row: attribution of each token
 */
export function rollout(weights: Tensor[], options: { headFusion?: 'mean' | 'max' | 'min'; residual?: boolean } = {}): number[][][] {
  checkOptions('rollout', options, { headFusion: true, residual: true });
  if (!Array.isArray(weights) || weights.length === 0) throw new ValueError('rollout: needs the weights of at least one layer');
  const [B, , N] = weights[0].shape as [number, number, number, number];
  for (const w of weights) if (w.ndim !== 4 || w.shape[0] !== B || w.shape[2] !== N || w.shape[3] !== N) throw new ShapeError(`rollout: every layer must be [${B}, H, ${N}, ${N}], got ${fmtShape(w.shape)}`);
  const out: number[][][] = [];
  for (let b = 0; b < B; b++) {
    let R = new Float64Array(N * N);
    for (let i = 0; i < N; i++) R[i * N + i] = 1;
    for (const w of weights) {
      const A = headFused(w, b, options.headFusion ?? 'mean');
      if (options.residual ?? true) for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) A[i * N + j] = 0.5 * A[i * N + j] + (i === j ? 0.5 : 0);
      for (let i = 0; i < N; i++) {
        let s = 0;
        for (let j = 0; j < N; j++) s += A[i * N + j];
        if (s > 0) for (let j = 0; j < N; j++) A[i * N + j] /= s;
      }
      const next = new Float64Array(N * N);                       // Â_l · R_{l−1}
      for (let i = 0; i < N; i++) for (let k = 0; k < N; k++) {
        const a = A[i * N + k];
        if (a === 0) continue;
        for (let j = 0; j < N; j++) next[i * N + j] += a * R[k * N + j];
      }
      R = next;
    }
    out.push(Array.from({ length: N }, (_, i) => Array.from(R.subarray(i * N, (i + 1) * N))));
  }
  return out;
}

/** relu(A ⊙ ∂y/∂A) averaged over heads, per batch item: [N][N]. `weights` must have `.grad` (retainGrad before backward). */
export function gradTimesAttention(weights: Tensor): number[][][] {
  if (!weights.grad) throw new ValueError('gradTimesAttention: the weights have no gradient; call weights.retainGrad() before backward');
  const [B, H, T, S] = weights.shape as [number, number, number, number];
  const w = weights.data, g = weights.grad.data;
  return Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, i) => Array.from({ length: S }, (_, j) => {
    let s = 0;
    for (let h = 0; h < H; h++) { const k = ((b * H + h) * T + i) * S + j; s += Math.max(0, w[k] * g[k]); }
    return s / H;
  })));
}
