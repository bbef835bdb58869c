import { DTypeError, IndexError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { sameShape } from '../tensor/shape.js';
import { fdata, floatArg, intArg } from './util.js';
import { abs, add, div, log1p, exp, minimum, mul, neg, relu, square, sub, where, ne, toDtype } from './elementwise.js';
import { apply, type Primitive } from './primitive.js';
import { backend, type Backend, type CrossEntropyParams, type FloatArray } from '../backend/backend.js';
import { isGradEnabled } from '../autograd/tape.js';
import { allocFor } from '../tensor/tensor.js';
import { mean, sum } from './reduce.js';
import { indexSelect, permute, reshape } from './shape.js';
import { checkOptions } from '../config.js';

export type Reduction = 'mean' | 'sum' | 'none';

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (default −100, as PyTorch). */
  ignoreIndex?: number;
  /** ε: mixes the one-hot target with the uniform distribution (PyTorch's label_smoothing). */
  labelSmoothing?: number;
  /** Per-class weights [C]. */
  weight?: Tensor;
  reduction?: Reduction;
}

function checkReduction(r: unknown, fn: string): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new ValueError(`${fn}: reduction must be 'mean', 'sum' or 'none', got '${String(r)}'`);
  return r;
}

// an integer class id (default −100): the compiled kernels take it as an integer, so 2.5 would ignore class 2 there only
function checkIgnoreIndex(fn: string, v: number | undefined): number {
  if (v === undefined) return -100;
  if (!Number.isInteger(v)) throw new ValueError(`${fn}: ignoreIndex must be an integer, got ${typeof v === 'number' ? v : typeof v}`);
  return v;
}

/**
 * Cross-entropy of `logits` [N, C] (or [C], or [N, C, d1, …] — classes on dim 1, as PyTorch)
 * against int32 class `target` [N] ([], [N, d1, …]). With label smoothing ε the loss is
 * (1 − ε)·nll + ε·mean_c(−w_c log p_c); 'mean' divides by the summed weights of non-ignored targets.
 * @example crossEntropy(logits, labels, { labelSmoothing: 0.1 })
 */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  checkOptions('crossEntropy', options, { ignoreIndex: true, labelSmoothing: true, weight: true, reduction: true });
  floatArg(logits, 'crossEntropy', 'logits');
  intArg(target, 'crossEntropy', 'target');
  const ignoreIndex = checkIgnoreIndex('crossEntropy', options.ignoreIndex);
  const eps = options.labelSmoothing ?? 0;
  const reduction = checkReduction(options.reduction ?? 'mean', 'crossEntropy');
  if (!(eps >= 0 && eps <= 1)) throw new ValueError(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  if (logits.ndim === 0) throw new ShapeError('crossEntropy: logits must have a class dim, got a scalar');
  const classDim = logits.ndim === 1 ? 0 : 1;
  const C = logits.shape[classDim];
  const expectTarget = logits.shape.filter((_, d) => d !== classDim);
  if (!sameShape(target.shape, expectTarget)) {
    throw new ShapeError(`crossEntropy: target has shape ${fmtShape(target.shape)}, expected ${fmtShape(expectTarget)} for logits ${fmtShape(logits.shape)}`);
  }
  for (const t of target.data) {
    if (t !== ignoreIndex && (t < 0 || t >= C)) throw new IndexError(`crossEntropy: target ${t} is out of range for ${C} classes`);
  }
  const w = options.weight;
  if (w) {
    floatArg(w, 'crossEntropy', 'weight');
    if (w.ndim !== 1 || w.shape[0] !== C) throw new ShapeError(`crossEntropy: weight has shape ${fmtShape(w.shape)}, expected [${C}]`);
    if (w.dtype !== logits.dtype) throw new DTypeError(`crossEntropy: weight dtype ${w.dtype} differs from logits ${logits.dtype}`);
  }
  // classes last, flattened: [M, C]
  const perm = [...Array.from({ length: logits.ndim }, (_, d) => d).filter((d) => d !== classDim), classDim];
  const flat = reshape(permute(logits, perm), [-1, C]);                 // [M, C]
  const t = reshape(target, [-1]);                                       // [M]
  const p: CrossEntropyParams = { eps, ignoreIndex };
  const loss = apply(crossEntropyPrim, w ? [flat, w] : [flat], { target: t.data as Int32Array, p }); // [M]
  if (reduction === 'none') return reshape(loss, target.shape);
  if (reduction === 'sum') return sum(loss);
  // 'mean' divides by the summed weights of the non-ignored targets
  const valid = ne(t, ignoreIndex);                                      // [M] bool
  const validF = toDtype(valid, logits.dtype);                           // [M] 0/1
  const wT = w ? mul(indexSelect(w, 0, where(valid, t, 0)), validF) : validF; // [M]
  return div(sum(loss), sum(wT));
}

/**
 * Per-row cross-entropy of logits [M, C] (and class weights [C] when given) against class ids:
 * the fused kernel of backend/js/loss.ts, so no [M, C] log-probabilities are kept.
 */
export const crossEntropyPrim: Primitive<{ target: Int32Array; p: CrossEntropyParams }, FloatArray> = {
  name: 'crossEntropy',
  forward: ([x, w], { target, p }) => {
    const [M, C] = x.shape;
    const { loss, lse } = backend().crossEntropyForward(fdata(x), M, C, target, w ? fdata(w) : null, p);
    return { out: new Tensor(loss, [M]), saved: lse };
  },
  backward: (g, { inputs: [x, w], saved: lse, attrs: { target, p } }) => {
    const [M, C] = x.shape;
    const be = backend();
    const gx = new Tensor(be.crossEntropyBackward(fdata(x), lse, fdata(g), M, C, target, w ? fdata(w) : null, p), x.shape);
    if (!w) return [gx];
    return [gx, w.requiresGrad ? new Tensor(be.crossEntropyWeightGrad(fdata(x), lse, fdata(g), M, C, target, p), w.shape) : null];
  },
};

export interface LinearCrossEntropyOptions {
  /** Targets equal to this are skipped (default −100, as PyTorch). */
  ignoreIndex?: number;
  /** ε: mixes the one-hot target with the uniform distribution (PyTorch's label_smoothing). */
  labelSmoothing?: number;
  reduction?: Reduction;
}

/**
 * `crossEntropy(linear(x, weight, bias), target, options)` without keeping the logits: x [..., C],
 * weight [V, C] (as {@link linear}), bias [V] or null, int32 `target` shaped like x's leading dims;
 * returns the loss ([] for 'mean' and 'sum', target's shape for 'none'). On the native and wasm
 * backends the [N, V] logits are computed a chunk of rows at a time and never stored; when
 * gradients are recorded the forward also takes the gradients of each chunk (two more products
 * per chunk, the work backward would do), which backward only scales. No class weights: for those
 * use crossEntropy on linear's output.
 * @example
 * const loss = linearCrossEntropy(h, head.weight, head.bias, targets);  // h [N, C], weight [V, C], targets [N] → []
 */
export function linearCrossEntropy(
  x: Tensor, weight: Tensor, bias: Tensor | null, target: Tensor, options: LinearCrossEntropyOptions = {},
): Tensor {
  const fn = 'linearCrossEntropy';
  checkOptions(fn, options, { ignoreIndex: true, labelSmoothing: true, reduction: true });
  floatArg(x, fn, 'x');
  floatArg(weight, fn, 'weight');
  intArg(target, fn, 'target');
  const ignoreIndex = checkIgnoreIndex(fn, options.ignoreIndex);
  const eps = options.labelSmoothing ?? 0;
  const reduction = checkReduction(options.reduction ?? 'mean', fn);
  if (!(eps >= 0 && eps <= 1)) throw new ValueError(`${fn}: labelSmoothing must be in [0, 1], got ${eps}`);
  if (weight.ndim !== 2) throw new ShapeError(`${fn}: weight must be [V, C], got ${fmtShape(weight.shape)}`);
  const [V, C] = weight.shape;
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== C) {
    throw new ShapeError(`${fn}: x has shape ${fmtShape(x.shape)}, expected last dim ${C} (weight ${fmtShape(weight.shape)})`);
  }
  if (weight.dtype !== x.dtype) throw new DTypeError(`${fn}: weight dtype ${weight.dtype} differs from x ${x.dtype}`);
  if (bias) {
    floatArg(bias, fn, 'bias');
    if (bias.ndim !== 1 || bias.shape[0] !== V) throw new ShapeError(`${fn}: bias has shape ${fmtShape(bias.shape)}, expected [${V}]`);
    if (bias.dtype !== x.dtype) throw new DTypeError(`${fn}: bias dtype ${bias.dtype} differs from x ${x.dtype}`);
  }
  const lead = x.shape.slice(0, -1);
  if (!sameShape(target.shape, lead)) {
    throw new ShapeError(`${fn}: target has shape ${fmtShape(target.shape)}, expected ${fmtShape(lead)} for x ${fmtShape(x.shape)}`);
  }
  for (const t of target.data) {
    if (t !== ignoreIndex && (t < 0 || t >= V)) throw new IndexError(`${fn}: target ${t} is out of range for ${V} classes`);
  }
  const x2 = reshape(x, [-1, C]);                                        // [N, C]
  const t = reshape(target, [-1]);                                       // [N]
  const p: CrossEntropyParams = { eps, ignoreIndex };
  const loss = apply(linearCrossEntropyPrim, bias ? [x2, weight, bias] : [x2, weight], { target: t.data as Int32Array, p }); // [N]
  if (reduction === 'none') return reshape(loss, target.shape);
  if (reduction === 'sum') return sum(loss);
  return div(sum(loss), sum(toDtype(ne(t, ignoreIndex), x.dtype)));    // over the non-ignored targets
}

type LinearCrossEntropyResult = ReturnType<Backend['linearCrossEntropy']>;

/** a·s as a new tensor of `shape` (a new buffer even when s is 1: the tape adds into gradients, and a second backward reuses `a`) */
function scaled(a: FloatArray, s: number, shape: number[], like: Tensor): Tensor {
  const sc = allocFor(like.dtype, 1) as FloatArray, out = allocFor(like.dtype, a.length) as FloatArray;
  sc[0] = s;
  backend().binary('mul', a, [a.length], sc, [1], [a.length], out);
  return new Tensor(out, shape);
}

/**
 * Per-row cross-entropy [N] of the logits x [N, C] · wᵀ [C, V] (+ b [V]) against class ids. The
 * forward, when gradients are recorded, also returns the gradients for unit row weights; a
 * backward whose g is the same for every row (any 'mean' or 'sum' reduction) scales them, any
 * other g runs the kernel again with it.
 */
export const linearCrossEntropyPrim: Primitive<{ target: Int32Array; p: CrossEntropyParams }, LinearCrossEntropyResult> = {
  name: 'linearCrossEntropy',
  forward: ([x, w, b], { target, p }) => {
    const [M, K] = x.shape, V = w.shape[0];
    const rec = isGradEnabled();
    const r = backend().linearCrossEntropy(
      fdata(x), fdata(w), b ? fdata(b) : null, M, K, V, target, null, p, rec && x.requiresGrad, rec && (w.requiresGrad || !!b?.requiresGrad),
    );
    return { out: new Tensor(r.loss, [M]), saved: r };
  },
  backward: (g, { inputs: [x, w, b], saved, attrs: { target, p } }) => {
    const [M, K] = x.shape, V = w.shape[0];
    const gd = fdata(g);
    const g0 = M > 0 ? gd[0] : 0;
    const needW = w.requiresGrad || !!b?.requiresGrad;
    let r = saved, s = g0;
    if (!gd.every((v) => v === g0) || (x.requiresGrad && !r.gx) || (needW && !r.gw)) {
      r = backend().linearCrossEntropy(fdata(x), fdata(w), b ? fdata(b) : null, M, K, V, target, gd, p, x.requiresGrad, needW);
      s = 1;
    }
    const grads = [x.requiresGrad ? scaled(r.gx!, s, [M, K], x) : null, w.requiresGrad ? scaled(r.gw!, s, [V, K], x) : null];
    if (b) grads.push(b.requiresGrad ? scaled(r.gb!, s, [V], x) : null);
    return grads;
  },
};

export interface BceOptions {
  /** Per-element weights, broadcast to the input. */
  weight?: Tensor;
  /** Weight of positive examples, broadcast along the last dim (PyTorch's pos_weight). */
  posWeight?: Tensor;
  reduction?: Reduction;
}

/**
 * Binary cross-entropy on logits, stable for any magnitude:
 * (1 − y)·x + (1 + (pw − 1)·y)·(log(1 + e^{−|x|}) + max(−x, 0)).
 */
export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, options: BceOptions = {}): Tensor {
  checkOptions('binaryCrossEntropyWithLogits', options, { weight: true, posWeight: true, reduction: true });
  floatArg(logits, 'binaryCrossEntropyWithLogits', 'logits');
  floatArg(target, 'binaryCrossEntropyWithLogits', 'target');
  if (!sameShape(logits.shape, target.shape)) {
    throw new ShapeError(`binaryCrossEntropyWithLogits: target has shape ${fmtShape(target.shape)}, expected the logits' ${fmtShape(logits.shape)}`);
  }
  const reduction = checkReduction(options.reduction ?? 'mean', 'binaryCrossEntropyWithLogits');
  const softTerm = add(log1p(exp(neg(abs(logits)))), relu(neg(logits)));   // log(1 + e^{−x})
  const coef = options.posWeight ? add(1, mul(sub(options.posWeight, 1), target)) : null;
  let loss = add(mul(sub(1, target), logits), coef ? mul(coef, softTerm) : softTerm);
  if (options.weight) loss = mul(loss, options.weight);
  return reduce(loss, reduction);
}

/** Mean squared error (or summed / per element). */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  checkOptions('mseLoss', options, { reduction: true });
  checkPair('mseLoss', input, target);
  return reduce(square(sub(input, target)), checkReduction(options.reduction ?? 'mean', 'mseLoss'));
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? loss : reduction === 'sum' ? sum(loss) : mean(loss);
}

function checkPair(fn: string, input: Tensor, target: Tensor): void {
  floatArg(input, fn, 'input');
  floatArg(target, fn, 'target');
  if (!sameShape(input.shape, target.shape)) throw new ShapeError(`${fn}: target has shape ${fmtShape(target.shape)}, expected the input's ${fmtShape(input.shape)}`);
}

/** Mean absolute error |x − y| (PyTorch's l1_loss). */
export function l1Loss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  checkOptions('l1Loss', options, { reduction: true });
  checkPair('l1Loss', input, target);
  return reduce(abs(sub(input, target)), checkReduction(options.reduction ?? 'mean', 'l1Loss'));
}

/**
 * Huber loss (PyTorch's huber_loss): ½d² where |d| ≤ δ, δ(|d| − ½δ) beyond — squared near
 * zero, linear for outliers. d = x − y, δ = `delta` (default 1).
 */
export function huberLoss(input: Tensor, target: Tensor, options: { delta?: number; reduction?: Reduction } = {}): Tensor {
  checkOptions('huberLoss', options, { delta: true, reduction: true });
  checkPair('huberLoss', input, target);
  const delta = options.delta ?? 1;
  if (!(delta > 0)) throw new ValueError(`huberLoss: delta must be positive, got ${delta}`);
  const a = abs(sub(input, target));
  const quad = minimum(a, delta);                                    // min(|d|, δ)
  // ½·min(|d|,δ)² + δ·(|d| − min(|d|,δ)) equals both branches and keeps one smooth expression
  const loss = add(mul(square(quad), 0.5), mul(sub(a, quad), delta));
  return reduce(loss, checkReduction(options.reduction ?? 'mean', 'huberLoss'));
}

/** This family's primitives, by registry name (collected by registry.ts: a new primitive here needs no other edit). */
export const prims = { crossEntropy: crossEntropyPrim, linearCrossEntropy: linearCrossEntropyPrim };
