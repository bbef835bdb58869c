import { type FloatArray, allocLike } from '../buffers.js';

/** Row-wise layer norm over rows of length n; saves mean and 1/σ per row for the backward. */
export function layerNormForward(
  x: FloatArray, w: FloatArray | null, b: FloatArray | null, rows: number, n: number, eps: number,
): { y: FloatArray; mean: FloatArray; rstd: FloatArray } {
  const y = allocLike(x, x.length), mean = allocLike(x, rows), rstd = allocLike(x, rows);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let s = 0;
    for (let j = 0; j < n; j++) s += x[o + j];
    const mu = s / n;
    let v = 0;
    for (let j = 0; j < n; j++) { const d = x[o + j] - mu; v += d * d; }
    const rs = 1 / Math.sqrt(v / n + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let j = 0; j < n; j++) {
      const hh = (x[o + j] - mu) * rs;
      y[o + j] = (w ? hh * w[j] : hh) + (b ? b[j] : 0);
    }
  }
  return { y, mean, rstd };
}

/** gx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)) with ĝ = g⊙w; gw = Σ g⊙x̂; gb = Σ g over rows. */
export function layerNormBackward(
  x: FloatArray, w: FloatArray | null, mean: FloatArray, rstd: FloatArray, g: FloatArray, rows: number, n: number,
): { gx: FloatArray; gw: FloatArray; gb: FloatArray } {
  const gx = allocLike(x, x.length), gw = allocLike(x, n), gb = allocLike(x, n);
  const aw = new Float64Array(n), ab = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const o = r * n, mu = mean[r], rs = rstd[r];
    let s1 = 0, s2 = 0;
    for (let j = 0; j < n; j++) {
      const xh = (x[o + j] - mu) * rs, gh = w ? g[o + j] * w[j] : g[o + j];
      s1 += gh; s2 += gh * xh;
      aw[j] += g[o + j] * xh; ab[j] += g[o + j];
    }
    s1 /= n; s2 /= n;
    for (let j = 0; j < n; j++) {
      const xh = (x[o + j] - mu) * rs, gh = w ? g[o + j] * w[j] : g[o + j];
      gx[o + j] = rs * (gh - s1 - xh * s2);
    }
  }
  gw.set(aw);
  gb.set(ab);
  return { gx, gw, gb };
}

/** This family's kernels, by backend name (spread into jsBackend by index.ts: a new kernel here needs no other edit). */
export const kernels = { layerNormForward, layerNormBackward };
