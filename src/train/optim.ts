import { ValueError } from '../errors.js';
import type { Parameter } from '../nn/module.js';
import type { FloatArray } from '../backend/js/types.js';

/** Shared by optimisers: the parameters they update and the step count. */
export abstract class Optimizer {
  protected readonly params: Parameter[];
  stepCount = 0;

  constructor(params: Parameter[], readonly name: string) {
    if (!Array.isArray(params) || params.length === 0) throw new ValueError(`${name}: needs a non-empty list of parameters (model.parameters())`);
    this.params = params;
  }

  /** Clears the gradients of every managed parameter. */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** Applies one update from the parameters' current gradients (parameters without one are skipped). */
  abstract step(): void;
}

function checkLr(lr: number, name: string): void {
  if (!(lr > 0) || !Number.isFinite(lr)) throw new ValueError(`${name}: lr must be a positive finite number, got ${lr}`);
}

export interface SgdOptions { lr: number; momentum?: number; nesterov?: boolean; weightDecay?: number; dampening?: number }

/** Stochastic gradient descent with momentum, Nesterov and L2 weight decay (PyTorch's update rule). */
export class SGD extends Optimizer {
  private readonly buf = new Map<Parameter, Float64Array>();
  constructor(params: Parameter[], readonly options: SgdOptions) {
    super(params, 'SGD');
    checkLr(options.lr, 'SGD');
    if (options.nesterov && !(options.momentum && options.momentum > 0)) throw new ValueError('SGD: nesterov needs momentum > 0');
  }
  step(): void {
    const { lr, momentum = 0, nesterov = false, weightDecay = 0, dampening = 0 } = this.options;
    this.stepCount++;
    for (const p of this.params) {
      if (!p.grad) continue;
      const w = p.data as FloatArray, g = p.grad.data as FloatArray;
      let b = this.buf.get(p);
      const first = b === undefined;
      if (momentum > 0 && !b) { b = new Float64Array(w.length); this.buf.set(p, b); }
      for (let i = 0; i < w.length; i++) {
        let d = g[i] + weightDecay * w[i];
        if (b) {
          b[i] = first ? d : momentum * b[i] + (1 - dampening) * d;
          d = nesterov ? d + momentum * b[i] : b[i];
        }
        w[i] -= lr * d;
      }
    }
  }
}

export interface AdamOptions { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number }

/**
 * Adam (Kingma & Ba) with bias correction; `weightDecay` adds L2 to the gradient (PyTorch's Adam).
 * Use AdamW for decoupled decay.
 */
export class Adam extends Optimizer {
  private readonly m = new Map<Parameter, Float64Array>();
  private readonly v = new Map<Parameter, Float64Array>();
  protected decoupled = false;
  constructor(params: Parameter[], readonly options: AdamOptions = {}, name = 'Adam') {
    super(params, name);
    checkLr(options.lr ?? 1e-3, name);
    const [b1, b2] = options.betas ?? [0.9, 0.999];
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new ValueError(`${name}: betas must be in [0, 1), got [${b1}, ${b2}]`);
  }
  step(): void {
    const lr = this.options.lr ?? 1e-3, eps = this.options.eps ?? 1e-8, wd = this.options.weightDecay ?? (this.decoupled ? 1e-2 : 0);
    const [b1, b2] = this.options.betas ?? [0.9, 0.999];
    this.stepCount++;
    const c1 = 1 - Math.pow(b1, this.stepCount), c2 = 1 - Math.pow(b2, this.stepCount);
    for (const p of this.params) {
      if (!p.grad) continue;
      const w = p.data as FloatArray, g = p.grad.data as FloatArray;
      let m = this.m.get(p), v = this.v.get(p);
      if (!m || !v) { m = new Float64Array(w.length); v = new Float64Array(w.length); this.m.set(p, m); this.v.set(p, v); }
      adamUpdate(w, g, m, v, lr, b1, b2, c1, c2, eps, wd, this.decoupled);
    }
  }
}

/** One Adam/AdamW update of a parameter array, in float64 arithmetic (a plain loop V8 keeps monomorphic). */
function adamUpdate(
  w: FloatArray, g: FloatArray, m: Float64Array, v: Float64Array,
  lr: number, b1: number, b2: number, c1: number, c2: number, eps: number, wd: number, decoupled: boolean,
): void {
  const n = w.length, decay = decoupled ? lr * wd : 0, l2 = decoupled ? 0 : wd;
  for (let i = 0; i < n; i++) {
    let wi = w[i];
    const gi = g[i] + l2 * wi;
    wi -= decay * wi;
    const mi = b1 * m[i] + (1 - b1) * gi;
    const vi = b2 * v[i] + (1 - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
  }
}

/** AdamW (Loshchilov & Hutter): Adam with decoupled weight decay (default 0.01, as PyTorch). */
export class AdamW extends Adam {
  constructor(params: Parameter[], options: AdamOptions = {}) {
    super(params, options, 'AdamW');
    this.decoupled = true;
  }
}

/** Scales all gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping. */
export function clipGradNorm(params: Parameter[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new ValueError(`clipGradNorm: maxNorm must be positive, got ${maxNorm}`);
  let sq = 0;
  for (const p of params) if (p.grad) for (const v of p.grad.data) sq += v * v;
  const norm = Math.sqrt(sq);
  if (norm > maxNorm) {
    const s = maxNorm / (norm + 1e-6);
    for (const p of params) if (p.grad) { const d = p.grad.data; for (let i = 0; i < d.length; i++) d[i] *= s; }
  }
  return norm;
}
