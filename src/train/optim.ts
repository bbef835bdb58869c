import { ValueError } from '../errors.js';
import { Parameter } from '../nn/module.js';
import type { FloatArray } from '../backend/js/types.js';
import { backend } from '../backend/backend.js';

/** A group of parameters with its own options (e.g. no weight decay for biases and norms). */
export interface ParamGroup<O> { params: Parameter[]; options?: Partial<O> }

/** The serialisable state of an optimiser: step count and per-parameter buffers (by parameter index). */
export interface OptimizerState { step: number; buffers: Record<string, Float64Array[]> }

/**
 * Shared by optimisers: the parameters (in groups), the step count and an lr scale that
 * schedules set (effective lr = group lr × `lrScale`).
 */
export abstract class Optimizer<O extends { lr?: number }> {
  protected readonly params: Parameter[];
  protected readonly groupOf: Map<Parameter, Partial<O>>;
  stepCount = 0;
  /** Multiplies every group's lr; learning-rate schedules set it. */
  lrScale = 1;

  constructor(params: Parameter[] | ParamGroup<O>[], readonly options: O, readonly name: string) {
    if (!Array.isArray(params) || params.length === 0) throw new ValueError(`${name}: needs a non-empty list of parameters (model.parameters()) or parameter groups`);
    const groups: ParamGroup<O>[] = params[0] instanceof Parameter ? [{ params: params as Parameter[] }] : params as ParamGroup<O>[];
    this.groupOf = new Map();
    for (const [gi, g] of groups.entries()) {
      if (!g || !Array.isArray(g.params) || !g.params.every((p) => p instanceof Parameter)) throw new ValueError(`${name}: group ${gi} must be { params: Parameter[], options? }`);
      if (g.options?.lr !== undefined) checkLr(g.options.lr, `${name} group ${gi}`);
      for (const p of g.params) {
        if (this.groupOf.has(p)) throw new ValueError(`${name}: a parameter appears in more than one group (group ${gi})`);
        this.groupOf.set(p, g.options ?? {});
      }
    }
    this.params = [...this.groupOf.keys()];
  }

  /** Option `k` for parameter p: its group's value, else the optimiser's. */
  protected opt<K extends keyof O>(p: Parameter, k: K): O[K] {
    const g = this.groupOf.get(p)!;
    return (g[k] !== undefined ? g[k] : this.options[k]) as O[K];
  }

  /** The base lr of the first group times the schedule scale (what the loop logs). */
  get lr(): number {
    return (this.opt(this.params[0], 'lr') ?? 1e-3) * this.lrScale;
  }

  /** Clears the gradients of every managed parameter. */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** Applies one update from the parameters' current gradients (parameters without one are skipped). */
  abstract step(): void;

  /** Buffers by name, one Float64Array (or empty) per parameter in order. */
  protected abstract buffers(): Record<string, Map<Parameter, Float64Array>>;

  /** Step count and buffers, for checkpoints. */
  state(): OptimizerState {
    const buffers: Record<string, Float64Array[]> = {};
    for (const [name, map] of Object.entries(this.buffers())) buffers[name] = this.params.map((p) => map.get(p) ?? new Float64Array(0));
    return { step: this.stepCount, buffers };
  }

  /** Restores `state()` (same parameters in the same order; shapes are checked). */
  loadState(state: OptimizerState): void {
    const own = this.buffers();
    for (const [name, list] of Object.entries(state.buffers)) {
      const map = own[name];
      if (!map) throw new ValueError(`${this.name}.loadState: unknown buffer '${name}'`);
      if (list.length !== this.params.length) throw new ValueError(`${this.name}.loadState: '${name}' has ${list.length} entries for ${this.params.length} parameters`);
      map.clear();
      list.forEach((b, i) => {
        if (b.length === 0) return;
        if (b.length !== this.params[i].size) throw new ValueError(`${this.name}.loadState: '${name}' entry ${i} has ${b.length} values for a parameter of ${this.params[i].size}`);
        map.set(this.params[i], Float64Array.from(b));
      });
    }
    this.stepCount = state.step;
  }
}

function checkLr(lr: number, name: string): void {
  if (!(lr > 0) || !Number.isFinite(lr)) throw new ValueError(`${name}: lr must be a positive finite number, got ${lr}`);
}

export interface SgdOptions { lr: number; momentum?: number; nesterov?: boolean; weightDecay?: number; dampening?: number }

/** Stochastic gradient descent with momentum, Nesterov and L2 weight decay (PyTorch's update rule); parameter groups may override any option. */
export class SGD extends Optimizer<SgdOptions> {
  private readonly buf = new Map<Parameter, Float64Array>();
  constructor(params: Parameter[] | ParamGroup<SgdOptions>[], options: SgdOptions) {
    super(params, options, 'SGD');
    checkLr(options.lr, 'SGD');
    if (options.nesterov && !(options.momentum && options.momentum > 0)) throw new ValueError('SGD: nesterov needs momentum > 0');
  }
  protected buffers(): Record<string, Map<Parameter, Float64Array>> { return { momentum: this.buf }; }
  step(): void {
    this.stepCount++;
    for (const p of this.params) {
      if (!p.grad) continue;
      const lr = this.opt(p, 'lr') * this.lrScale, momentum = this.opt(p, 'momentum') ?? 0, nesterov = this.opt(p, 'nesterov') ?? false;
      const weightDecay = this.opt(p, 'weightDecay') ?? 0, dampening = this.opt(p, 'dampening') ?? 0;
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
 * Use AdamW for decoupled decay. Parameter groups may override any option.
 */
export class Adam extends Optimizer<AdamOptions> {
  private readonly m = new Map<Parameter, Float64Array>();
  private readonly v = new Map<Parameter, Float64Array>();
  protected decoupled = false;
  constructor(params: Parameter[] | ParamGroup<AdamOptions>[], options: AdamOptions = {}, name = 'Adam') {
    super(params, options, name);
    checkLr(options.lr ?? 1e-3, name);
    const [b1, b2] = options.betas ?? [0.9, 0.999];
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new ValueError(`${name}: betas must be in [0, 1), got [${b1}, ${b2}]`);
  }
  protected buffers(): Record<string, Map<Parameter, Float64Array>> { return { m: this.m, v: this.v }; }
  step(): void {
    this.stepCount++;
    for (const p of this.params) {
      if (!p.grad) continue;
      const lr = (this.opt(p, 'lr') ?? 1e-3) * this.lrScale, eps = this.opt(p, 'eps') ?? 1e-8;
      const wd = this.opt(p, 'weightDecay') ?? (this.decoupled ? 1e-2 : 0);
      const [b1, b2] = this.opt(p, 'betas') ?? [0.9, 0.999];
      const c1 = 1 - Math.pow(b1, this.stepCount), c2 = 1 - Math.pow(b2, this.stepCount);
      const w = p.data as FloatArray, g = p.grad.data as FloatArray;
      let m = this.m.get(p), v = this.v.get(p);
      if (!m || !v) { m = new Float64Array(w.length); v = new Float64Array(w.length); this.m.set(p, m); this.v.set(p, v); }
      backend().adamUpdate(w, g, m, v, { lr, b1, b2, c1, c2, eps, wd, decoupled: this.decoupled });
    }
  }
}

/** AdamW (Loshchilov & Hutter): Adam with decoupled weight decay (default 0.01, as PyTorch). */
export class AdamW extends Adam {
  constructor(params: Parameter[] | ParamGroup<AdamOptions>[], options: AdamOptions = {}) {
    super(params, options, 'AdamW');
    this.decoupled = true;
  }
}

/**
 * Splits a model's parameters into two groups: with weight decay, and without it for biases,
 * norms and embeddings (names matching `noDecay`), the usual Transformer recipe.
 */
export function decayGroups<O extends { weightDecay?: number }>(named: [string, Parameter][], noDecay: RegExp = /bias$|[Nn]orm\d*\.|[Ee]mbedding|position\./): ParamGroup<O>[] {
  const decay = named.filter(([n]) => !noDecay.test(n)).map(([, p]) => p);
  const rest = named.filter(([n]) => noDecay.test(n)).map(([, p]) => p);
  return [{ params: decay }, { params: rest, options: { weightDecay: 0 } as Partial<O> }].filter((g) => g.params.length > 0);
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
