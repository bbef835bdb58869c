import type { FloatArray } from './types.js';

/**
 * out[oOff + i·N + j] (+)= Σ_p A(i,p)·B(p,j) for an M×K by K×N product.
 * A is stored [M,K] row-major, or [K,M] when transA; B is [K,N], or [N,K] when transB.
 * Accumulates in float64 before the single rounding store.
 */
export function gemm(
  a: FloatArray, aOff: number, b: FloatArray, bOff: number, out: FloatArray, oOff: number,
  M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean,
): void {
  const row = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    if (accumulate) for (let j = 0; j < N; j++) row[j] = out[oOff + i * N + j];
    else row.fill(0);
    if (!transB) {
      for (let p = 0; p < K; p++) {
        const aip = transA ? a[aOff + p * M + i] : a[aOff + i * K + p];
        const bRow = bOff + p * N;
        for (let j = 0; j < N; j++) row[j] += aip * b[bRow + j];
      }
    } else {
      for (let j = 0; j < N; j++) {
        let s = 0;
        const bRow = bOff + j * K;
        if (!transA) {
          const aRow = aOff + i * K;
          for (let p = 0; p < K; p++) s += a[aRow + p] * b[bRow + p];
        } else {
          for (let p = 0; p < K; p++) s += a[aOff + p * M + i] * b[bRow + p];
        }
        row[j] += s;
      }
    }
    for (let j = 0; j < N; j++) out[oOff + i * N + j] = row[j];
  }
}
