import { DTypeError, ShapeError, fmtShape } from '../errors.js';
import { Tensor, allocFor } from '../tensor/tensor.js';
import { broadcastShapes, numel } from '../tensor/shape.js';
import { backend, type FloatArray } from '../backend/backend.js';
import { contiguousStrides } from '../backend/buffers.js';
import { apply, type Primitive } from './primitive.js';
import { fdata, floatArg } from './util.js';
import { reshape, squeeze, unsqueeze } from './shape.js';
import { sumToShape } from './broadcast.js';

/** Batched product of [..., M, K] and [..., K, N] with broadcast batch dims (both ≥ 2-D here). */
export const matmulPrim: Primitive<{ transA: boolean; transB: boolean }> = {
  name: 'matmul',
  forward: ([a, b], { transA, transB }) => ({ out: batchedGemm(a, b, transA, transB), saved: undefined }),
  backward: (g, { inputs: [a, b], attrs: { transA, transB } }) => {
    // C = op(A)·op(B): dA = dC·op(B)ᵀ (transposed back if A was), dB = op(A)ᵀ·dC likewise
    const ga = transA ? batchedGemm(b, g, transB, true) : batchedGemm(g, b, false, !transB);
    const gb = transB ? batchedGemm(g, a, true, transA) : batchedGemm(a, g, !transA, false);
    return [sumToShape(ga, a.shape), sumToShape(gb, b.shape)];
  },
};

function batchedGemm(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
  const M = transA ? ac : ar, K = transA ? ar : ac, N = transB ? br : bc;
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmul');
  const nb = numel(batch);
  const out = allocFor(a.dtype, nb * M * N);
  const aStr = batchStrides(a.shape.slice(0, -2), batch, ar * ac);
  const bStr = batchStrides(b.shape.slice(0, -2), batch, br * bc);
  const idx = new Array<number>(batch.length).fill(0);
  const offsets = new Float64Array(nb * 3);
  for (let i = 0; i < nb; i++) {
    let ao = 0, bo = 0, r = i;
    for (let d = batch.length - 1; d >= 0; d--) {
      idx[d] = r % batch[d];
      r = Math.floor(r / batch[d]);
      ao += idx[d] * aStr[d];
      bo += idx[d] * bStr[d];
    }
    offsets[3 * i] = ao; offsets[3 * i + 1] = bo; offsets[3 * i + 2] = i * M * N;
  }
  backend().gemmBatched(fdata(a), fdata(b), out as Float32Array, offsets, M, N, K, transA, transB);
  return new Tensor(out, [...batch, M, N]);
}

function batchStrides(own: readonly number[], batch: readonly number[], matSize: number): number[] {
  const st = contiguousStrides(own).map((s) => s * matSize);
  const off = batch.length - own.length;
  return batch.map((_, d) => (d < off || own[d - off] === 1 ? 0 : st[d - off]));
}

/**
 * Matrix product with PyTorch's rules: 1-D operands are promoted (and the added dim removed),
 * batch dims broadcast.
 * @example matmul(q, transpose(k, -2, -1)) // [B, H, T, D] × [B, H, D, S] → [B, H, T, S]
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  floatArg(a, 'matmul', 'a');
  floatArg(b, 'matmul', 'b');
  if (a.ndim === 0 || b.ndim === 0) throw new ShapeError(`matmul: operands must have at least 1 dim, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  if (a.dtype !== b.dtype) throw new ShapeError(`matmul: dtypes differ (${a.dtype} vs ${b.dtype})`);
  const a2 = a.ndim === 1 ? unsqueeze(a, 0) : a;
  const b2 = b.ndim === 1 ? unsqueeze(b, 1) : b;
  const K = a2.shape[a2.ndim - 1];
  if (b2.shape[b2.ndim - 2] !== K) {
    throw new ShapeError(`matmul: inner dims differ: a ${fmtShape(a.shape)} has ${K}, b ${fmtShape(b.shape)} has ${b2.shape[b2.ndim - 2]}`);
  }
  broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2), 'matmul');
  let out = a2.ndim > 2 && b2.ndim === 2
    ? foldedProduct(a2, b2, false)
    : apply(matmulPrim, [a2, b2], { transA: false, transB: false });
  if (a.ndim === 1) out = squeeze(out, -2);
  if (b.ndim === 1) out = squeeze(out, -1);
  return out;
}

/**
 * a [..., M, K] times a shared 2-D b: the batch dims fold into M, so forward and both gradients
 * are one gemm each (not one per batch entry followed by a sum over the batch for b's gradient).
 */
function foldedProduct(a: Tensor, b: Tensor, transB: boolean): Tensor {
  const lead = a.shape.slice(0, -1);
  const K = a.shape[a.ndim - 1];
  const N = transB ? b.shape[0] : b.shape[1];
  const y = apply(matmulPrim, [reshape(a, [numel(lead), K]), b], { transA: false, transB });
  return reshape(y, [...lead, N]);
}

/** Batched product of [B, M, K] and [B, K, N] (no broadcasting, as torch.bmm). */
export function bmm(a: Tensor, b: Tensor): Tensor {
  floatArg(a, 'bmm', 'a');
  floatArg(b, 'bmm', 'b');
  if (a.ndim !== 3 || b.ndim !== 3 || a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new ShapeError(`bmm: expected [B, M, K] and [B, K, N], got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  return matmul(a, b);
}

/**
 * y = x·Wᵀ + b, with weight [out, in] as in PyTorch.
 * @example linear(x, w, b) // x [B, T, in] → [B, T, out]
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  floatArg(x, 'linear', 'x');
  floatArg(weight, 'linear', 'weight');
  if (weight.ndim !== 2) throw new ShapeError(`linear: weight must be [out, in], got ${fmtShape(weight.shape)}`);
  const inF = weight.shape[1];
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF) {
    throw new ShapeError(`linear: x has shape ${fmtShape(x.shape)}, expected last dim ${inF} (weight ${fmtShape(weight.shape)})`);
  }
  if (weight.dtype !== x.dtype) throw new DTypeError(`linear: weight dtype ${weight.dtype} differs from x ${x.dtype}`);
  if (bias) {
    floatArg(bias, 'linear', 'bias');
    if (bias.ndim !== 1 || bias.shape[0] !== weight.shape[0]) throw new ShapeError(`linear: bias has shape ${fmtShape(bias.shape)}, expected [${weight.shape[0]}]`);
    if (bias.dtype !== x.dtype) throw new DTypeError(`linear: bias dtype ${bias.dtype} differs from x ${x.dtype}`);
  }
  const lead = x.shape.slice(0, -1);
  const x2 = x.ndim === 2 ? x : reshape(x, [numel(lead), inF]);
  const y = apply(linearPrim, bias ? [x2, weight, bias] : [x2, weight], undefined);  // [M, out]
  return x.ndim === 2 ? y : reshape(y, [...lead, weight.shape[0]]);
}

/**
 * x [M, in] · weightᵀ [in, out] (+ bias [out]): one gemm, the bias added as its output tiles are
 * computed; the backward is two gemms and a column sum, each skipped when its input takes no gradient.
 */
export const linearPrim: Primitive = {
  name: 'linear',
  forward: ([x, w, b]) => {
    const [M, K] = x.shape, N = w.shape[0];
    const out = allocFor(x.dtype, M * N);
    if (out.length > 0) backend().gemm(fdata(x), 0, fdata(w), 0, out as FloatArray, 0, M, N, K, false, true, false, b ? fdata(b) : null);
    return { out: new Tensor(out, [M, N]), saved: undefined };
  },
  backward: (g, { inputs: [x, w, b] }) => {
    const [M, K] = x.shape, N = w.shape[0];
    const be = backend();
    const product = (need: boolean, rows: number, cols: number, inner: number, a: Tensor, bb: Tensor, ta: boolean): Tensor | null => {
      if (!need) return null;
      const out = allocFor(g.dtype, rows * cols);
      if (out.length > 0) be.gemm(fdata(a), 0, fdata(bb), 0, out as FloatArray, 0, rows, cols, inner, ta, false, false);
      return new Tensor(out, [rows, cols]);
    };
    const gx = product(x.requiresGrad, M, K, N, g, w, false);   // g·W
    const gw = product(w.requiresGrad, N, K, M, g, x, true);    // gᵀ·x
    const grads = [gx, gw];
    if (b) grads.push(b.requiresGrad ? new Tensor(be.sumDim(fdata(g), 1, M, N), [N]) : null);
    return grads;
  },
};

/** This family's primitives, by registry name (collected by registry.ts: a new primitive here needs no other edit). */
export const prims = { matmul: matmulPrim, linear: linearPrim };
