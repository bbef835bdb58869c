import { type AnyArray, contiguousStrides } from '../buffers.js';

/** out[o, j, i] = x[o, idx[j], i] for x seen as [outer, n, inner]; indices already validated. */
export function indexSelect(x: AnyArray, outer: number, n: number, inner: number, idx: Int32Array, out: AnyArray): void {
  const m = idx.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const src = (o * n + idx[j]) * inner;
      const dst = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) out[dst + i] = x[src + i];
    }
  }
}

/** Adjoint of indexSelect: dx[o, idx[j], i] += g[o, j, i]. */
export function indexAdd(g: AnyArray, outer: number, n: number, inner: number, idx: Int32Array, dx: AnyArray): void {
  const m = idx.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const dst = (o * n + idx[j]) * inner;
      const src = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) dx[dst + i] += g[src + i];
    }
  }
}

/**
 * Walks every position of `indexShape`, handing the flat position in the index tensor and
 * the flat position in a tensor of `targetShape` where coordinate `dim` is replaced by the index value.
 */
function walkIndexed(
  index: Int32Array, indexShape: readonly number[], targetShape: readonly number[], dim: number,
  visit: (pIndex: number, pTarget: number) => void,
): void {
  const nd = indexShape.length;
  const ts = contiguousStrides(targetShape);
  const coord = new Array<number>(nd).fill(0);
  let base = 0; // target offset of coord with coord[dim] taken as 0
  for (let p = 0; p < index.length; p++) {
    visit(p, base + index[p] * ts[dim]);
    for (let d = nd - 1; d >= 0; d--) {
      coord[d]++;
      if (d !== dim) base += ts[d];
      if (coord[d] < indexShape[d]) break;
      if (d !== dim) base -= ts[d] * indexShape[d];
      coord[d] = 0;
    }
  }
}

/** out[..., j, ...] = x[..., index[..., j, ...], ...] along `dim` (torch.gather). */
export function gather(
  x: AnyArray, xShape: readonly number[], dim: number, index: Int32Array, indexShape: readonly number[], out: AnyArray,
): void {
  walkIndexed(index, indexShape, xShape, dim, (pi, pt) => { out[pi] = x[pt]; });
}

/** dst[..., index[..., j, ...], ...] += src[..., j, ...] along `dim` (torch.scatter_add_, in place on dst). */
export function scatterAdd(
  dst: AnyArray, dstShape: readonly number[], dim: number, index: Int32Array, indexShape: readonly number[],
  src: AnyArray, srcShape: readonly number[],
): void {
  const ss = contiguousStrides(srcShape);
  const is = contiguousStrides(indexShape);
  // src may be larger than index in every dim; read it at the index's coordinates
  const sameLayout = srcShape.every((s, d) => s === indexShape[d]);
  walkIndexed(index, indexShape, dstShape, dim, (pi, pt) => {
    let ps = pi;
    if (!sameLayout) {
      ps = 0;
      let rem = pi;
      for (let d = 0; d < indexShape.length; d++) {
        const c = Math.floor(rem / is[d]);
        rem -= c * is[d];
        ps += c * ss[d];
      }
    }
    dst[pt] += src[ps];
  });
}

/** This family's kernels, by backend name (spread into jsBackend by index.ts: a new kernel here needs no other edit). */
export const kernels = { indexSelect, indexAdd, gather, scatterAdd };
