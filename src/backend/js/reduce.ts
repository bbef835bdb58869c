import { type FloatArray, allocLike } from '../buffers.js';

/*
 * Kernels along one dimension of a contiguous tensor seen as [outer, n, inner]:
 * element (o, k, i) lives at (o·n + k)·inner + i.
 */

/** Sum over the middle axis → [outer, inner]. */
export function sumDim(x: FloatArray, outer: number, n: number, inner: number): FloatArray {
  const out = allocLike(x, outer * inner);
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    const base = o * n * inner;
    for (let k = 0; k < n; k++) {
      const row = base + k * inner;
      for (let i = 0; i < inner; i++) acc[i] += x[row + i];
    }
    out.set(acc, o * inner);
  }
  return out;
}

/** Max (or min) over the middle axis with the index of the first extreme; NaN wins, as in PyTorch. */
export function extremeDim(
  x: FloatArray, outer: number, n: number, inner: number, isMax: boolean,
): { values: FloatArray; indices: Int32Array } {
  const values = allocLike(x, outer * inner);
  const indices = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = x[o * n * inner + i];
      let bi = 0;
      if (!Number.isNaN(best)) {
        for (let k = 1; k < n; k++) {
          const v = x[(o * n + k) * inner + i];
          if (Number.isNaN(v)) { best = v; bi = k; break; }
          if (isMax ? v > best : v < best) { best = v; bi = k; }
        }
      }
      values[o * inner + i] = best;
      indices[o * inner + i] = bi;
    }
  }
  return { values, indices };
}

/** Stable softmax (log = false) or logSoftmax (log = true). A row of only -∞ gives zeros (softmax) or -∞ (log). */
export function softmaxDim(x: FloatArray, outer: number, n: number, inner: number, log: boolean): FloatArray {
  const out = allocLike(x, x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let mx = -Infinity;
      for (let k = 0; k < n; k++) { const v = x[base + k * inner]; if (v > mx || Number.isNaN(v)) mx = v; }
      if (mx === -Infinity) {
        for (let k = 0; k < n; k++) out[base + k * inner] = log ? -Infinity : 0;
        continue;
      }
      let s = 0;
      for (let k = 0; k < n; k++) s += Math.exp(x[base + k * inner] - mx);
      if (log) {
        const lse = mx + Math.log(s);
        for (let k = 0; k < n; k++) out[base + k * inner] = x[base + k * inner] - lse;
      } else {
        const inv = 1 / s;
        for (let k = 0; k < n; k++) out[base + k * inner] = Math.exp(x[base + k * inner] - mx) * inv;
      }
    }
  }
  return out;
}

/** Backward of softmax: gx = y ⊙ (g − Σ g⊙y); of logSoftmax: gx = g − exp(y) Σ g, and 0 on a row of only −∞ (a fully masked row passes no gradient). */
export function softmaxBackwardDim(
  y: FloatArray, g: FloatArray, outer: number, n: number, inner: number, log: boolean,
): FloatArray {
  const out = allocLike(y, y.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let s = 0;
      if (log) {
        let live = false;
        for (let k = 0; k < n; k++) { s += g[base + k * inner]; if (y[base + k * inner] !== -Infinity) live = true; }
        if (!live) {
          for (let k = 0; k < n; k++) out[base + k * inner] = 0;
          continue;
        }
        for (let k = 0; k < n; k++) {
          const p = base + k * inner;
          const e = Math.exp(y[p]);
          out[p] = g[p] - e * s;
        }
      } else {
        for (let k = 0; k < n; k++) s += g[base + k * inner] * y[base + k * inner];
        for (let k = 0; k < n; k++) { const p = base + k * inner; out[p] = y[p] * (g[p] - s); }
      }
    }
  }
  return out;
}

/** log Σ exp over the middle axis; a row of only -∞ gives -∞. */
export function logsumexpDim(x: FloatArray, outer: number, n: number, inner: number): FloatArray {
  const out = allocLike(x, outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let mx = -Infinity;
      for (let k = 0; k < n; k++) { const v = x[base + k * inner]; if (v > mx || Number.isNaN(v)) mx = v; }
      if (mx === -Infinity || mx === Infinity || Number.isNaN(mx)) { out[o * inner + i] = mx; continue; }
      let s = 0;
      for (let k = 0; k < n; k++) s += Math.exp(x[base + k * inner] - mx);
      out[o * inner + i] = mx + Math.log(s);
    }
  }
  return out;
}

/** Inclusive cumulative sum along the middle axis; `reverse` sums from the end (the adjoint). */
export function cumsumDim(x: FloatArray, outer: number, n: number, inner: number, reverse: boolean): FloatArray {
  const out = allocLike(x, x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let s = 0;
      for (let t = 0; t < n; t++) {
        const k = reverse ? n - 1 - t : t;
        s += x[base + k * inner];
        out[base + k * inner] = s;
      }
    }
  }
  return out;
}

/** This family's kernels, by backend name (spread into jsBackend by index.ts: a new kernel here needs no other edit). */
export const kernels = { sumDim, extremeDim, softmaxDim, softmaxBackwardDim, logsumexpDim, cumsumDim };
