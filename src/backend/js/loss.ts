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
import { gemm } from './gemm.js';
import { sumDim } from './reduce.js';

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

/** What {@link linearCrossEntropy} returns: per-row loss and lse, and the gradients asked for (else null). */
export interface LinearCrossEntropyResult {
  loss: FloatArray; lse: FloatArray; gx: FloatArray | null; gw: FloatArray | null; gb: FloatArray | null;
}

/**
 * Cross-entropy of the logits x·wᵀ + b [rows, V] (x [rows, K], w [V, K], b [V] or null) against class
 * ids `target`, as crossEntropyForward on those logits (no class weights): per-row loss and lse.
 * With gradX / gradW it also returns the gradients of Σ_i g_i·loss_i (every g_i = 1 when g is null)
 * w.r.t. x [rows, K], and w [V, K] and b [V]. This reference builds the logits whole; the native
 * kernel computes the same over chunks of rows, so no [rows, V] buffer is ever kept.
 */
export function linearCrossEntropy(
  x: FloatArray, w: FloatArray, b: FloatArray | null, rows: number, K: number, V: number, target: Int32Array,
  g: FloatArray | null, p: CrossEntropyParams, gradX: boolean, gradW: boolean,
): LinearCrossEntropyResult {
  const logits = allocLike(x, rows * V);                                          // [rows, V]
  gemm(x, 0, w, 0, logits, 0, rows, V, K, false, true, false, b);
  const { loss, lse } = crossEntropyForward(logits, rows, V, target, null, p);
  if (!gradX && !gradW) return { loss, lse, gx: null, gw: null, gb: null };
  const gl = crossEntropyBackward(logits, lse, g ?? allocLike(x, rows).fill(1), rows, V, target, null, p);  // [rows, V]
  let gx: FloatArray | null = null, gw: FloatArray | null = null;
  if (gradX) gemm(gl, 0, w, 0, (gx = allocLike(x, rows * K)), 0, rows, K, V, false, false, false);          // G·w
  if (gradW) gemm(gl, 0, x, 0, (gw = allocLike(x, V * K)), 0, V, K, rows, true, false, false);             // Gᵀ·x
  return { loss, lse, gx, gw, gb: gradW && b ? sumDim(gl, 1, rows, V) : null };
}

/** This family's kernels, by backend name (spread into jsBackend by index.ts: a new kernel here needs no other edit). */
export const kernels = { crossEntropyForward, crossEntropyBackward, crossEntropyWeightGrad, linearCrossEntropy };
