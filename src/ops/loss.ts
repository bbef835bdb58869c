import { DTypeError, IndexError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { sameShape } from '../tensor/shape.js';
import { fdata, floatArg, intArg } from './util.js';
import { abs, add, div, log1p, exp, minimum, mul, neg, relu, square, sub, where, ne, toDtype } from './elementwise.js';
import { apply, type Primitive } from './primitive.js';
import { backend, type CrossEntropyParams, type FloatArray } from '../backend/backend.js';
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
  const ignoreIndex = options.ignoreIndex ?? -100;
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
export const prims = { crossEntropy: crossEntropyPrim };
