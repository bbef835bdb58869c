import type { FloatArray } from '../buffers.js';

/**
 * out[oOff + i·N + j] (+)= Σ_p A(i,p)·B(p,j) for an M×K by K×N product (plus bias[j] when a
 * bias [N] is given without accumulate). A is stored [M,K] row-major, or [K,M] when transA; B is
 * [K,N], or [N,K] when transB.
 *
 * Both operands are first packed into row-major float64 panels, so the inner kernel is one
 * monomorphic loop (whatever the float width and transposition) and accumulates in float64
 * before the single rounding store. Four rows of A share each load of B.
 */
export function gemm(
  a: FloatArray, aOff: number, b: FloatArray, bOff: number, out: FloatArray, oOff: number,
  M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean, bias: FloatArray | null = null,
): void {
  const A = pack(a, aOff, M, K, transA);
  const B = pack(b, bOff, K, N, transB);
  const acc = new Float64Array(4 * N);
  for (let i0 = 0; i0 < M; i0 += 4) {
    const rows = Math.min(4, M - i0);
    kernel(A, B, acc, i0, rows, N, K);
    for (let r = 0; r < rows; r++) {
      const o = oOff + (i0 + r) * N, s = r * N;
      if (accumulate) for (let j = 0; j < N; j++) out[o + j] += acc[s + j];
      else if (bias) for (let j = 0; j < N; j++) out[o + j] = acc[s + j] + bias[j];
      else for (let j = 0; j < N; j++) out[o + j] = acc[s + j];
    }
  }
}

/** Row-major float64 copy of a rows×cols operand stored plain or transposed. */
function pack(x: FloatArray, off: number, rows: number, cols: number, trans: boolean): Float64Array {
  const p = new Float64Array(rows * cols);
  if (!trans) {
    for (let i = 0; i < rows * cols; i++) p[i] = x[off + i];
  } else {
    for (let c = 0; c < cols; c++) {
      const src = off + c * rows;
      for (let r = 0; r < rows; r++) p[r * cols + c] = x[src + r];
    }
  }
  return p;
}

/**
 * acc[r, :] = Σ_p A[i0 + r, p] · B[p, :] for r < rows (≤ 4). Full 4×4 tiles keep their 16
 * sums in locals (registers) across the whole p loop; edges take the plain loop.
 */
function kernel(A: Float64Array, B: Float64Array, acc: Float64Array, i0: number, rows: number, N: number, K: number): void {
  acc.fill(0);
  let j0 = 0;
  if (rows === 4) {
    const r0 = i0 * K, r1 = r0 + K, r2 = r1 + K, r3 = r2 + K;
    for (; j0 + 4 <= N; j0 += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let p = 0, bp = j0; p < K; p++, bp += N) {
        const b0 = B[bp], b1 = B[bp + 1], b2 = B[bp + 2], b3 = B[bp + 3];
        const a0 = A[r0 + p], a1 = A[r1 + p], a2 = A[r2 + p], a3 = A[r3 + p];
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
      }
      acc[j0] = c00; acc[j0 + 1] = c01; acc[j0 + 2] = c02; acc[j0 + 3] = c03;
      acc[N + j0] = c10; acc[N + j0 + 1] = c11; acc[N + j0 + 2] = c12; acc[N + j0 + 3] = c13;
      acc[2 * N + j0] = c20; acc[2 * N + j0 + 1] = c21; acc[2 * N + j0 + 2] = c22; acc[2 * N + j0 + 3] = c23;
      acc[3 * N + j0] = c30; acc[3 * N + j0 + 1] = c31; acc[3 * N + j0 + 2] = c32; acc[3 * N + j0 + 3] = c33;
    }
  }
  if (j0 === N) return;
  for (let r = 0; r < rows; r++) {
    const ar = (i0 + r) * K, s = r * N;
    for (let p = 0; p < K; p++) {
      const av = A[ar + p], bp = p * N;
      for (let j = j0; j < N; j++) acc[s + j] += av * B[bp + j];
    }
  }
}

/** `offsets.length / 3` independent products at element offsets (a, b, out) taken three at a time. */
export function gemmBatched(
  a: FloatArray, b: FloatArray, out: FloatArray, offsets: Float64Array,
  M: number, N: number, K: number, transA: boolean, transB: boolean,
): void {
  for (let i = 0; i < offsets.length; i += 3) gemm(a, offsets[i], b, offsets[i + 1], out, offsets[i + 2], M, N, K, transA, transB, false);
}

/** This family's kernels, by backend name (spread into jsBackend by index.ts: a new kernel here needs no other edit). */
export const kernels = { gemm, gemmBatched };
