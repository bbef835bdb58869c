import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { backend, type Conv2dGeom, type Conv2dParams } from '../backend/backend.js';
import { apply, applyWithSaved, type Primitive } from './primitive.js';
import { fdata, floatArg } from './util.js';
import { add } from './elementwise.js';
import { reshape, squeeze, unsqueeze } from './shape.js';
import { checkOptions } from '../config.js';

export const conv2dPrim: Primitive<Conv2dParams> = {
  name: 'conv2d',
  forward: ([x, w], p) => ({ out: new Tensor(backend().conv2dForward(fdata(x), fdata(w), p), [p.N, p.Cout, p.OH, p.OW]), saved: undefined }),
  backward: (g, { inputs: [x, w], attrs }) => {
    const { gx, gw } = backend().conv2dBackward(fdata(x), fdata(w), fdata(g), attrs, x.requiresGrad, w.requiresGrad);
    return [gx ? new Tensor(gx, x.shape) : null, gw ? new Tensor(gw, w.shape) : null];
  },
};

export const maxPool2dPrim: Primitive<Conv2dGeom, Int32Array> = {
  name: 'maxPool2d',
  forward: ([x], p) => {
    const { y, indices } = backend().maxPool2dForward(fdata(x), p);
    return { out: new Tensor(y, [p.N, p.C, p.OH, p.OW]), saved: indices };
  },
  backward: (g, { inputs: [x], saved, attrs }) => [new Tensor(backend().maxPool2dBackward(fdata(g), saved, attrs, x.size), x.shape)],
};

export const avgPool2dPrim: Primitive<Conv2dGeom & { countIncludePad: boolean }> = {
  name: 'avgPool2d',
  forward: ([x], p) => ({ out: new Tensor(backend().avgPool2dForward(fdata(x), p, p.countIncludePad), [p.N, p.C, p.OH, p.OW]), saved: undefined }),
  backward: (g, { inputs: [x], attrs }) => [new Tensor(backend().avgPool2dBackward(fdata(g), attrs, attrs.countIncludePad, x.size), x.shape)],
};

export const adaptiveAvgPool2dPrim: Primitive<{ OH: number; OW: number }> = {
  name: 'adaptiveAvgPool2d',
  forward: ([x], { OH, OW }) => {
    const [N, C, H, W] = x.shape;
    return { out: new Tensor(backend().adaptiveAvgPool2d(fdata(x), N, C, H, W, OH, OW), [N, C, OH, OW]), saved: undefined };
  },
  backward: (g, { inputs: [x], attrs: { OH, OW } }) => {
    const [N, C, H, W] = x.shape;
    return [new Tensor(backend().adaptiveAvgPool2d(fdata(x), N, C, H, W, OH, OW, fdata(g)), x.shape)];
  },
};

type Pair = number | readonly [number, number];

function pair(v: Pair, fn: string, arg: string, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= min)) throw new ValueError(`${fn}: ${arg} must be integer(s) ≥ ${min}, got ${JSON.stringify(v)}`);
  return p;
}

function geometry(
  fn: string, x: Tensor, k: [number, number], stride: Pair, padding: Pair, dilation: Pair,
): Conv2dGeom {
  if (x.ndim !== 4) throw new ShapeError(`${fn}: input must be [N, C, H, W], got ${fmtShape(x.shape)}`);
  const [N, C, H, W] = x.shape;
  const [sh, sw] = pair(stride, fn, 'stride', 1);
  const [ph, pw] = pair(padding, fn, 'padding', 0);
  const [dh, dw] = pair(dilation, fn, 'dilation', 1);
  const OH = Math.floor((H + 2 * ph - dh * (k[0] - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + 2 * pw - dw * (k[1] - 1) - 1) / sw) + 1;
  if (OH < 1 || OW < 1) {
    throw new ShapeError(`${fn}: kernel ${k[0]}×${k[1]} (dilation ${dh}×${dw}) does not fit input ${fmtShape(x.shape)} with padding ${ph}×${pw}`);
  }
  return { N, C, H, W, kh: k[0], kw: k[1], sh, sw, ph, pw, dh, dw, OH, OW };
}

export interface ConvOptions<P = Pair> { stride?: P; padding?: P; dilation?: P; groups?: number }

/**
 * 2-D convolution (cross-correlation, as PyTorch): x [N, C, H, W], weight [Cout, C/groups, kh, kw],
 * bias [Cout] → [N, Cout, OH, OW].
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): Tensor {
  checkOptions('conv2d', options, { stride: true, padding: true, dilation: true, groups: true });
  floatArg(x, 'conv2d', 'x');
  floatArg(weight, 'conv2d', 'weight');
  if (weight.ndim !== 4) throw new ShapeError(`conv2d: weight must be [Cout, C/groups, kh, kw], got ${fmtShape(weight.shape)}`);
  const groups = options.groups ?? 1;
  const [Cout, Cg, kh, kw] = weight.shape;
  if (!Number.isInteger(groups) || groups < 1 || Cout % groups !== 0) throw new ValueError(`conv2d: groups=${groups} must be a positive divisor of out channels ${Cout}`);
  const g = geometry('conv2d', x, [kh, kw], options.stride ?? 1, options.padding ?? 0, options.dilation ?? 1);
  if (g.C !== Cg * groups) throw new ShapeError(`conv2d: input has ${g.C} channels (shape ${fmtShape(x.shape)}), weight ${fmtShape(weight.shape)} with groups=${groups} expects ${Cg * groups}`);
  let y = apply(conv2dPrim, [x, weight], { ...g, Cout, groups });
  if (bias) {
    floatArg(bias, 'conv2d', 'bias');
    if (bias.ndim !== 1 || bias.shape[0] !== Cout) throw new ShapeError(`conv2d: bias has shape ${fmtShape(bias.shape)}, expected [${Cout}]`);
    y = add(y, reshape(bias, [Cout, 1, 1]));
  }
  return y;
}

/** 1-D convolution: x [N, C, L], weight [Cout, C/groups, k], bias [Cout] → [N, Cout, Lout]. */
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions<number> = {}): Tensor {
  checkOptions('conv1d', options, { stride: true, padding: true, dilation: true, groups: true });
  floatArg(x, 'conv1d', 'x');
  if (x.ndim !== 3) throw new ShapeError(`conv1d: input must be [N, C, L], got ${fmtShape(x.shape)}`);
  if (weight.ndim !== 3) throw new ShapeError(`conv1d: weight must be [Cout, C/groups, k], got ${fmtShape(weight.shape)}`);
  const y = conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, {
    stride: [1, options.stride ?? 1], padding: [0, options.padding ?? 0], dilation: [1, options.dilation ?? 1], groups: options.groups,
  });
  return squeeze(y, 2);
}

export interface PoolOptions<P = Pair> { stride?: P; padding?: P }

/** Max pooling over [N, C, H, W] (padding counts as -∞; stride defaults to the kernel size). */
export function maxPool2d(x: Tensor, kernelSize: Pair, options: PoolOptions & { dilation?: Pair } = {}): Tensor {
  checkOptions('maxPool2d', options, { stride: true, padding: true, dilation: true });
  floatArg(x, 'maxPool2d', 'x');
  const k = pair(kernelSize, 'maxPool2d', 'kernelSize', 1);
  const g = geometry('maxPool2d', x, k, options.stride ?? k, options.padding ?? 0, options.dilation ?? 1);
  if (g.ph * 2 > k[0] || g.pw * 2 > k[1]) throw new ValueError(`maxPool2d: padding ${g.ph}×${g.pw} must be at most half the kernel ${k[0]}×${k[1]}`);
  return applyWithSaved(maxPool2dPrim, [x], g).out;
}

/** Average pooling over [N, C, H, W]; `countIncludePad` (default true) divides by the full window. */
export function avgPool2d(x: Tensor, kernelSize: Pair, options: PoolOptions & { countIncludePad?: boolean } = {}): Tensor {
  checkOptions('avgPool2d', options, { stride: true, padding: true, countIncludePad: true });
  floatArg(x, 'avgPool2d', 'x');
  const k = pair(kernelSize, 'avgPool2d', 'kernelSize', 1);
  const g = geometry('avgPool2d', x, k, options.stride ?? k, options.padding ?? 0, 1);
  if (g.ph * 2 > k[0] || g.pw * 2 > k[1]) throw new ValueError(`avgPool2d: padding ${g.ph}×${g.pw} must be at most half the kernel ${k[0]}×${k[1]}`);
  return apply(avgPool2dPrim, [x], { ...g, countIncludePad: options.countIncludePad ?? true });
}

/** Average pooling to a fixed output size [N, C, oh, ow] (PyTorch's cell boundaries). */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  floatArg(x, 'adaptiveAvgPool2d', 'x');
  if (x.ndim !== 4) throw new ShapeError(`adaptiveAvgPool2d: input must be [N, C, H, W], got ${fmtShape(x.shape)}`);
  const [OH, OW] = pair(outputSize, 'adaptiveAvgPool2d', 'outputSize', 1);
  return apply(adaptiveAvgPool2dPrim, [x], { OH, OW });
}

function pool1d(x: Tensor, fn: string, run: (x4: Tensor) => Tensor): Tensor {
  floatArg(x, fn, 'x');
  if (x.ndim !== 3) throw new ShapeError(`${fn}: input must be [N, C, L], got ${fmtShape(x.shape)}`);
  return squeeze(run(unsqueeze(x, 2)), 2);
}
/** Max pooling over [N, C, L]. */
export function maxPool1d(x: Tensor, kernelSize: number, options: PoolOptions<number> & { dilation?: number } = {}): Tensor {
  checkOptions('maxPool1d', options, { stride: true, padding: true, dilation: true });
  return pool1d(x, 'maxPool1d', (x4) => maxPool2d(x4, [1, kernelSize], {
    stride: [1, options.stride ?? kernelSize], padding: [0, options.padding ?? 0], dilation: [1, options.dilation ?? 1],
  }));
}
/** Average pooling over [N, C, L]. */
export function avgPool1d(x: Tensor, kernelSize: number, options: PoolOptions<number> & { countIncludePad?: boolean } = {}): Tensor {
  checkOptions('avgPool1d', options, { stride: true, padding: true, countIncludePad: true });
  return pool1d(x, 'avgPool1d', (x4) => avgPool2d(x4, [1, kernelSize], {
    stride: [1, options.stride ?? kernelSize], padding: [0, options.padding ?? 0], countIncludePad: options.countIncludePad,
  }));
}
/** Average pooling of [N, C, L] to [N, C, outputSize]. */
export function adaptiveAvgPool1d(x: Tensor, outputSize: number): Tensor {
  return pool1d(x, 'adaptiveAvgPool1d', (x4) => adaptiveAvgPool2d(x4, [1, outputSize]));
}

/** This family's primitives, by registry name (collected by registry.ts: a new primitive here needs no other edit). */
export const prims = { conv2d: conv2dPrim, maxPool2d: maxPool2dPrim, avgPool2d: avgPool2dPrim, adaptiveAvgPool2d: adaptiveAvgPool2dPrim };
