/**
 * Fused cross-entropy over rows of logits: one pass for the loss (no log-softmax tensor),
 * one for the gradient (softmax minus the smoothed one-hot, written once).
 *
 * For row i with target t, validity v = (t ≠ ignoreIndex), class weights w (1 without),
 * W = Σ_c w_c and lse = log Σ_c exp(x_c):
 *   loss_i = v·[(1−ε)·w_t·(lse − x_t) + (ε/C)·Σ_c w_c·(lse − x_c)]
 *   ∂loss_i/∂x_c = v·[(1−ε)·w_t·(p_c − δ_ct) + (ε/C)·(W·p_c − w_c)],  p_c = exp(x_c − lse)
 * A row of only −∞ has lse = −∞: its loss is +∞ and its gradient 0.
 */
import { type FloatArray, allocLike } from '../buffers.js';

/** Label smoothing ε and the ignored class id, as PyTorch's cross_entropy. */
export interface CrossEntropyParams {
  eps: number;
  ignoreIndex: number;
}

/** Row i's log Σ exp of x[i·C … i·C+C), −∞ for a row of only −∞ (NaN if any is NaN). */
function rowLse(x: FloatArray, base: number, C: number): number {
  let mx = -Infinity;
  for (let c = 0; c < C; c++) { const v = x[base + c]; if (v > mx || Number.isNaN(v)) mx = v; }
  if (mx === -Infinity || Number.isNaN(mx)) return mx;
  let s = 0;
  for (let c = 0; c < C; c++) s += Math.exp(x[base + c] - mx);
  return mx + Math.log(s);
}

/**
 * Per-row losses [rows] (weighted, smoothed, 0 for ignored rows) and each row's log-sum-exp
 * [rows], of logits x [rows, C] against class ids `target` [rows] (ids already range-checked).
 */
export function crossEntropyForward(
  x: FloatArray, rows: number, C: number, target: Int32Array, weight: FloatArray | null, p: CrossEntropyParams,
): { loss: FloatArray; lse: FloatArray } {
  const loss = allocLike(x, rows), lse = allocLike(x, rows);
  for (let i = 0; i < rows; i++) {
    const base = i * C, t = target[i];
    const l = rowLse(x, base, C);
    lse[i] = l;
    if (t === p.ignoreIndex) continue;
    if (l === -Infinity) { loss[i] = Infinity; continue; }
    let li = (1 - p.eps) * (weight ? weight[t] : 1) * (l - x[base + t]);
    if (p.eps > 0) {
      let s = 0;
      for (let c = 0; c < C; c++) s += (weight ? weight[c] : 1) * (l - x[base + c]);
      li += (p.eps / C) * s;
    }
    loss[i] = li;
  }
  return { loss, lse };
}

/** ∂(Σ_i g_i·loss_i)/∂x [rows, C], from the forward's lse. */
export function crossEntropyBackward(
  x: FloatArray, lse: FloatArray, g: FloatArray, rows: number, C: number, target: Int32Array,
  weight: FloatArray | null, p: CrossEntropyParams,
): FloatArray {
  const out = allocLike(x, rows * C);
  let W = C;
  if (weight) { W = 0; for (let c = 0; c < C; c++) W += weight[c]; }
  for (let i = 0; i < rows; i++) {
    const t = target[i], l = lse[i];
    if (t === p.ignoreIndex || l === -Infinity) continue;
    const base = i * C, gi = g[i];
    const hard = gi * (1 - p.eps) * (weight ? weight[t] : 1);   // coefficient of p_c − δ_ct
    const soft = gi * p.eps / C;                                  // coefficient of W·p_c − w_c
    const a = hard + soft * W;
    for (let c = 0; c < C; c++) out[base + c] = a * Math.exp(x[base + c] - l) - soft * (weight ? weight[c] : 1);
    out[base + t] -= hard;
  }
  return out;
}

/**
 * ∂(Σ_i g_i·loss_i)/∂w [C]:
 * Σ_i g_i·v_i·[(1−ε)·δ_ct·(lse_i − x_it) + (ε/C)·(lse_i − x_ic)].
 */
export function crossEntropyWeightGrad(
  x: FloatArray, lse: FloatArray, g: FloatArray, rows: number, C: number, target: Int32Array, p: CrossEntropyParams,
): FloatArray {
  const gw = allocLike(x, C);
  for (let i = 0; i < rows; i++) {
    const t = target[i], l = lse[i];
    if (t === p.ignoreIndex || l === -Infinity) continue;
    const base = i * C, gi = g[i];
    gw[t] += gi * (1 - p.eps) * (l - x[base + t]);
    if (p.eps > 0) for (let c = 0; c < C; c++) gw[c] += gi * (p.eps / C) * (l - x[base + c]);
  }
  return gw;
}

/** This family's kernels, by backend name (spread into jsBackend by index.ts: a new kernel here needs no other edit). */
export const kernels = { crossEntropyForward, crossEntropyBackward, crossEntropyWeightGrad };
