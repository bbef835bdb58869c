import { type FloatArray, allocLike } from '../buffers.js';
import { gemm } from './gemm.js';

/** Geometry of a 2-D convolution or pooling window over NCHW input. */
export interface Conv2dGeom {
  N: number; C: number; H: number; W: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
  OH: number; OW: number;
}

export interface Conv2dParams extends Conv2dGeom { Cout: number; groups: number }

/**
 * im2col (toCols): cols[(c·kh + i)·kw + j, oy·OW + ox] = x[c0 + c, oy·sh − ph + i·dh, ox·sw − pw + j·dw],
 * 0 outside the input. Its adjoint col2im (!toCols) adds cols back into x at the same positions.
 */
function colTransfer(x: FloatArray, xOff: number, Cg: number, g: ConvGeomLike, cols: FloatArray, toCols: boolean): void {
  const { H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW } = g;
  if (toCols) cols.fill(0, 0, Cg * kh * kw * OH * OW);
  let r = 0;
  for (let c = 0; c < Cg; c++) {
    const plane = xOff + c * H * W;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, r++) {
        const rowOff = r * OH * OW;
        for (let oy = 0; oy < OH; oy++) {
          const y = oy * sh - ph + i * dh;
          if (y < 0 || y >= H) continue;
          const col = rowOff + oy * OW;
          const src = plane + y * W;
          for (let ox = 0; ox < OW; ox++) {
            const xx = ox * sw - pw + j * dw;
            if (xx < 0 || xx >= W) continue;
            if (toCols) cols[col + ox] = x[src + xx];
            else x[src + xx] += cols[col + ox];
          }
        }
      }
    }
  }
}

type ConvGeomLike = Omit<Conv2dGeom, 'N' | 'C'>;

/** y[N, Cout, OH, OW] = conv(x[N, C, H, W], w[Cout, C/groups, kh, kw]) without bias. */
export function conv2dForward(x: FloatArray, w: FloatArray, p: Conv2dParams): FloatArray {
  const { N, C, H, W, kh, kw, OH, OW, Cout, groups } = p;
  const Cg = C / groups, Coutg = Cout / groups, CK = Cg * kh * kw, L = OH * OW;
  const out = allocLike(x, N * Cout * L);
  const cols = allocLike(x, CK * L);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      colTransfer(x, (n * C + g * Cg) * H * W, Cg, p, cols, true);
      gemm(w, g * Coutg * CK, cols, 0, out, (n * Cout + g * Coutg) * L, Coutg, L, CK, false, false, false);
    }
  }
  return out;
}

/** Gradients of conv2dForward with respect to x and w. */
export function conv2dBackward(
  x: FloatArray, w: FloatArray, gy: FloatArray, p: Conv2dParams, needX: boolean, needW: boolean,
): { gx: FloatArray | null; gw: FloatArray | null } {
  const { N, C, H, W, kh, kw, OH, OW, Cout, groups } = p;
  const Cg = C / groups, Coutg = Cout / groups, CK = Cg * kh * kw, L = OH * OW;
  const gx = needX ? allocLike(x, x.length) : null;
  const gw = needW ? allocLike(w, w.length) : null;
  const cols = allocLike(x, CK * L);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const xOff = (n * C + g * Cg) * H * W;
      const yOff = (n * Cout + g * Coutg) * L;
      if (gw) {
        colTransfer(x, xOff, Cg, p, cols, true);
        gemm(gy, yOff, cols, 0, gw, g * Coutg * CK, Coutg, CK, L, false, true, true);
      }
      if (gx) {
        gemm(w, g * Coutg * CK, gy, yOff, cols, 0, CK, L, Coutg, true, false, false);
        colTransfer(gx, xOff, Cg, p, cols, false);
      }
    }
  }
  return { gx, gw };
}

/** Max pooling over NCHW with -∞ padding; indices are flat positions within each input plane. */
export function maxPool2dForward(x: FloatArray, p: Conv2dGeom): { y: FloatArray; indices: Int32Array } {
  const { N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW } = p;
  const y = allocLike(x, N * C * OH * OW);
  const indices = new Int32Array(N * C * OH * OW);
  let o = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const plane = nc * H * W;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++, o++) {
        let best = -Infinity;
        let bi = -1;
        for (let i = 0; i < kh; i++) {
          const yy = oy * sh - ph + i * dh;
          if (yy < 0 || yy >= H) continue;
          for (let j = 0; j < kw; j++) {
            const xx = ox * sw - pw + j * dw;
            if (xx < 0 || xx >= W) continue;
            const v = x[plane + yy * W + xx];
            if (v > best || Number.isNaN(v) || bi < 0) { best = v; bi = yy * W + xx; if (Number.isNaN(v)) break; }
          }
        }
        y[o] = best;
        indices[o] = bi;
      }
    }
  }
  return { y, indices };
}

export function maxPool2dBackward(gy: FloatArray, indices: Int32Array, p: Conv2dGeom, xLen: number): FloatArray {
  const gx = allocLike(gy, xLen);
  const L = p.OH * p.OW;
  for (let o = 0; o < gy.length; o++) {
    const nc = Math.floor(o / L);
    gx[nc * p.H * p.W + indices[o]] += gy[o];
  }
  return gx;
}

/** Average pooling; with countIncludePad the divisor is always kh·kw (PyTorch's default). */
export function avgPool2dForward(x: FloatArray, p: Conv2dGeom, countIncludePad: boolean): FloatArray {
  const y = allocLike(x, p.N * p.C * p.OH * p.OW);
  avgPoolWalk(p, countIncludePad, (o, src, inv) => { y[o] += x[src] * inv; });
  return y;
}

export function avgPool2dBackward(gy: FloatArray, p: Conv2dGeom, countIncludePad: boolean, xLen: number): FloatArray {
  const gx = allocLike(gy, xLen);
  avgPoolWalk(p, countIncludePad, (o, src, inv) => { gx[src] += gy[o] * inv; });
  return gx;
}

function avgPoolWalk(p: Conv2dGeom, countIncludePad: boolean, visit: (o: number, src: number, inv: number) => void): void {
  const { N, C, H, W, kh, kw, sh, sw, ph, pw, OH, OW } = p;
  let o = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const plane = nc * H * W;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++, o++) {
        const y0 = oy * sh - ph, x0 = ox * sw - pw;
        const y1 = Math.min(y0 + kh, H + ph), x1 = Math.min(x0 + kw, W + pw);
        const ya = Math.max(y0, 0), xa = Math.max(x0, 0), yb = Math.min(y1, H), xb = Math.min(x1, W);
        const count = countIncludePad ? (y1 - y0) * (x1 - x0) : (yb - ya) * (xb - xa);
        const inv = 1 / count;
        for (let yy = ya; yy < yb; yy++) for (let xx = xa; xx < xb; xx++) visit(o, plane + yy * W + xx, inv);
      }
    }
  }
}

/** Adaptive average pooling: cell (oy, ox) averages rows ⌊oy·H/OH⌋ … ⌈(oy+1)·H/OH⌉ − 1 (PyTorch's rule). */
export function adaptiveAvgPool2d(
  x: FloatArray, N: number, C: number, H: number, W: number, OH: number, OW: number, gyForBackward?: FloatArray,
): FloatArray {
  const back = gyForBackward !== undefined;
  const out = back ? allocLike(x, N * C * H * W) : allocLike(x, N * C * OH * OW);
  let o = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const plane = nc * H * W;
    for (let oy = 0; oy < OH; oy++) {
      const ya = Math.floor((oy * H) / OH), yb = Math.ceil(((oy + 1) * H) / OH);
      for (let ox = 0; ox < OW; ox++, o++) {
        const xa = Math.floor((ox * W) / OW), xb = Math.ceil(((ox + 1) * W) / OW);
        const inv = 1 / ((yb - ya) * (xb - xa));
        if (back) {
          const g = gyForBackward[o] * inv;
          for (let yy = ya; yy < yb; yy++) for (let xx = xa; xx < xb; xx++) out[plane + yy * W + xx] += g;
        } else {
          let s = 0;
          for (let yy = ya; yy < yb; yy++) for (let xx = xa; xx < xb; xx++) s += x[plane + yy * W + xx];
          out[o] = s * inv;
        }
      }
    }
  }
  return out;
}

/** This family's kernels, by backend name (spread into jsBackend by index.ts: a new kernel here needs no other edit). */
export const kernels = { conv2dForward, conv2dBackward, maxPool2dForward, maxPool2dBackward, avgPool2dForward, avgPool2dBackward, adaptiveAvgPool2d };
