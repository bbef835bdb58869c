/** Optimizer update kernels over raw arrays (the Adam/AdamW step). */
import type { FloatArray } from '../buffers.js';

/** Hyper-parameters of one Adam/AdamW update; c1, c2 are the bias corrections 1 − βᵗ. */
export interface AdamParams {
  lr: number; b1: number; b2: number; c1: number; c2: number; eps: number;
  /** weight decay: decoupled (AdamW: w ← w − lr·wd·w) or added to the gradient (Adam's L2) */
  wd: number; decoupled: boolean;
}

/**
 * One Adam/AdamW update of a parameter array in place, in float64 arithmetic; the moments m and
 * v are float64. The native kernel performs the same operations in the same order, so both
 * backends give identical weights.
 */
export function adamUpdate(w: FloatArray, g: FloatArray, m: Float64Array, v: Float64Array, p: AdamParams): void {
  const { lr, b1, b2, c1, c2, eps } = p;
  const n = w.length, decay = p.decoupled ? lr * p.wd : 0, l2 = p.decoupled ? 0 : p.wd;
  for (let i = 0; i < n; i++) {
    let wi = w[i]!;
    const gi = g[i]! + l2 * wi;
    wi -= decay * wi;
    const mi = b1 * m[i]! + (1 - b1) * gi;
    const vi = b2 * v[i]! + (1 - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
  }
}

/** This family's kernels, by backend name (spread into jsBackend by index.ts: a new kernel here needs no other edit). */
export const kernels = { adamUpdate };
