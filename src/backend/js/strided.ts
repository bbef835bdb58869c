import { type AnyArray, contiguousStrides } from '../buffers.js';

/**
 * out[i] = src[offset + Σ_d idx_d · strides_d] for every index of `shape` in row-major order.
 * One kernel serves permute, slice (with steps), expand (stride 0) and flip (negative strides).
 */
export function stridedCopy(
  src: AnyArray, offset: number, strides: readonly number[], shape: readonly number[], out: AnyArray,
): void {
  stridedWalk(offset, strides, shape, (base, ls, last, o) => {
    for (let j = 0, p = base; j < last; j++, p += ls) out[o + j] = src[p];
  });
}

/**
 * dst[offset + Σ idx_d · strides_d] += src[i] (or `=` when `assign`), the adjoint of stridedCopy.
 * Used for slice/pad/concat and the backward of copies.
 */
export function stridedScatter(
  dst: AnyArray, offset: number, strides: readonly number[], shape: readonly number[], src: AnyArray, assign: boolean,
): void {
  stridedWalk(offset, strides, shape, (base, ls, last, o) => {
    if (assign) for (let j = 0, p = base; j < last; j++, p += ls) dst[p] = src[o + j];
    else for (let j = 0, p = base; j < last; j++, p += ls) dst[p] += src[o + j];
  });
}

/** Walks the rows of `shape`, handing each row's source base, stride, length and output offset. */
function stridedWalk(
  offset: number, strides: readonly number[], shape: readonly number[],
  row: (base: number, stride: number, len: number, outOffset: number) => void,
): void {
  const nd = shape.length;
  if (nd === 0) {
    row(offset, 0, 1, 0);
    return;
  }
  let total = 1;
  for (const s of shape) total *= s;
  if (total === 0) return;
  const last = shape[nd - 1];
  const ls = strides[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let base = offset;
  for (let o = 0; o < total; o += last) {
    row(base, ls, last, o);
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      base += strides[d];
      if (idx[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** Strides of a contiguous `shape` read as if broadcast to `outShape` (0 where broadcast). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = contiguousStrides(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, d) => (d < off || shape[d - off] === 1 ? 0 : own[d - off]));
}

/** This family's kernels, by backend name (spread into jsBackend by index.ts: a new kernel here needs no other edit). */
export const kernels = { stridedCopy, stridedScatter };
