import { ValueError, clipText, preview } from '../errors.js';
import { Parameter } from '../nn/module.js';
import type { FloatArray } from '../backend/buffers.js';
import { backend } from '../backend/backend.js';
import { Tensor } from '../tensor/tensor.js';
import { decodeSafetensors, encodeSafetensors } from '../tensor/safetensors.js';
import { checkOptions, type OptionKeys } from '../config.js';

/** A group of parameters with its own options (e.g. no weight decay for biases and norms). */
export interface ParamGroup<O> { params: Parameter[]; options?: Partial<O> }

/**
 * The state of an optimiser: step count and per-parameter buffers (by parameter index; an empty
 * array for a parameter without one). To store it, use `saveState()` (safetensors bytes); the JSON
 * of `state()` also round-trips through `loadState` (buffers become number arrays).
 */
export interface OptimizerState { step: number; buffers: Record<string, Float64Array[]> }

/** `saveState()`'s metadata `format`; buffers are float64 tensors `__optim__.<buffer>.<i>`, as in trainer checkpoints. */
const STATE_FORMAT = 'attnkit-optimizer';

const OPTIM_KEY = /^__optim__\.(\w+)\.(\d+)$/;

/** Optimiser buffers as float64 tensors `__optim__.<buffer>.<i>` (empty ones left out): the one naming of saveState() and trainer checkpoints. */
export function optimTensors(buffers: OptimizerState['buffers']): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  for (const [name, list] of Object.entries(buffers)) {
    list.forEach((b, i) => { if (b.length) tensors[`__optim__.${name}.${i}`] = new Tensor(Float64Array.from(b), [b.length]); });
  }
  return tensors;
}

/**
 * Splits decoded tensors into optimiser buffers (`__optim__.<buffer>.<i>`, for `nParams`
 * parameters; absent entries empty) and the rest. A `__optim__.` name that does not fit (no
 * index, an index past the parameters) is passed to `bad`, which throws.
 */
export function splitOptimTensors(
  tensors: Record<string, Tensor>, nParams: number, bad: (key: string) => never,
): { buffers: OptimizerState['buffers']; rest: Record<string, Tensor> } {
  const buffers: OptimizerState['buffers'] = {};
  const rest: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (!k.startsWith('__optim__.')) { rest[k] = t; continue; }
    const m = OPTIM_KEY.exec(k);
    if (!m || Number(m[2]) >= nParams) bad(k);
    (buffers[m![1]] ??= Array.from({ length: nParams }, () => new Float64Array(0)))[Number(m![2])] = Float64Array.from(t.data);
  }
  return { buffers, rest };
}

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

  /** `keys`: every option O defines; options and group options with other keys are refused. */
  constructor(params: Parameter[] | ParamGroup<O>[], readonly options: O, readonly name: string, keys?: OptionKeys<O>) {
    if (keys) checkOptions(name, options, keys);
    if (!Array.isArray(params) || params.length === 0) throw new ValueError(`${name}: needs a non-empty list of parameters (model.parameters()) or parameter groups`);
    const groups: ParamGroup<O>[] = params[0] instanceof Parameter ? [{ params: params as Parameter[] }] : params as ParamGroup<O>[];
    this.groupOf = new Map();
    for (const [gi, g] of groups.entries()) {
      if (!g || !Array.isArray(g.params) || !g.params.every((p) => p instanceof Parameter)) throw new ValueError(`${name}: group ${gi} must be { params: Parameter[], options? }`);
      checkOptions(`${name} group ${gi}`, g, { params: true, options: true });
      if (keys) checkOptions(`${name} group ${gi}`, g.options, keys as OptionKeys<Partial<O>>);
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

  /**
   * Step count and buffers (live arrays, not copies). `JSON.stringify` writes the buffers as
   * number arrays, which `loadState` accepts; to save to a file, prefer `saveState()`.
   */
  state(): OptimizerState {
    const buffers: Record<string, Float64Array[]> = {};
    for (const [name, map] of Object.entries(this.buffers())) buffers[name] = this.params.map((p) => map.get(p) ?? new Float64Array(0));
    const state: OptimizerState = { step: this.stepCount, buffers };
    const toJSON = (): unknown => ({ step: state.step, buffers: Object.fromEntries(Object.entries(buffers).map(([k, list]) => [k, list.map((b) => Array.from(b))])) });
    Object.defineProperty(state, 'toJSON', { value: toJSON, enumerable: false });
    return state;
  }

  /**
   * The state as safetensors bytes: one float64 tensor per buffer and parameter
   * (`__optim__.<buffer>.<i>`, the trainer checkpoint's names), with the optimiser's name, step and
   * lr scale in the metadata. `loadState(bytes)` restores it into an optimiser of the same kind
   * over the same parameters (in the same order).
   *
   * @example
   * writeFileSync('optim.safetensors', opt.saveState());
   * opt2.loadState(readFileSync('optim.safetensors'));
   */
  saveState(): Uint8Array {
    return encodeSafetensors(optimTensors(this.state().buffers), {
      format: STATE_FORMAT, optimizer: this.name, step: String(this.stepCount), lrScale: String(this.lrScale), params: String(this.params.length),
    });
  }

  /**
   * Restores `saveState()` bytes, or a `state()` object (also after a JSON round trip): the same
   * parameters in the same order; sizes are checked. Anything else is a ValueError.
   */
  loadState(state: OptimizerState | Uint8Array): void {
    const fn = `${this.name}.loadState`;
    if (state instanceof Uint8Array) {
      this.loadBytes(state, fn);
      return;
    }
    if (!state || typeof state !== 'object' || typeof state.buffers !== 'object' || state.buffers === null) {
      throw new ValueError(`${fn}: expects saveState() bytes or a state() object { step, buffers }, got ${preview(state)}`);
    }
    if (!Number.isInteger(state.step) || state.step < 0) throw new ValueError(`${fn}: step must be a non-negative integer, got ${preview(state.step)}`);
    const own = this.buffers();
    const restored = new Map<string, Map<Parameter, Float64Array>>();
    for (const [name, list] of Object.entries(state.buffers as Record<string, unknown>)) {
      if (!own[name]) throw new ValueError(`${fn}: unknown buffer '${clipText(name)}' (${this.name} has ${Object.keys(own).join(', ') || 'none'})`);
      if (!Array.isArray(list) || list.length !== this.params.length) {
        throw new ValueError(`${fn}: '${clipText(name)}' has ${Array.isArray(list) ? list.length : preview(list)} entries for ${this.params.length} parameters`);
      }
      const map = new Map<Parameter, Float64Array>();
      list.forEach((b: unknown, i) => {
        const numeric = b instanceof Float64Array || b instanceof Float32Array || (Array.isArray(b) && b.every((x) => typeof x === 'number'));
        if (!numeric) {
          throw new ValueError(`${fn}: '${clipText(name)}' entry ${i} is not an array of numbers (got ${preview(b)}); store the state with saveState() (safetensors bytes) and pass those bytes, or pass state() itself or JSON.parse(JSON.stringify(state()))`);
        }
        const arr = b as ArrayLike<number>;
        if (arr.length === 0) return;
        if (arr.length !== this.params[i].size) throw new ValueError(`${fn}: '${clipText(name)}' entry ${i} has ${arr.length} values for a parameter of ${this.params[i].size}`);
        map.set(this.params[i], Float64Array.from(arr));
      });
      restored.set(name, map);
    }
    // all checked: only now replace the buffers, so a refused state leaves the optimiser as it was
    for (const [name, map] of restored) {
      own[name].clear();
      for (const [p, b] of map) own[name].set(p, b);
    }
    this.stepCount = state.step;
  }

  private loadBytes(bytes: Uint8Array, fn: string): void {
    const f = decodeSafetensors(bytes, fn);
    const meta = f.metadata;
    if (meta.format !== STATE_FORMAT) throw new ValueError(`${fn}: not an attnkit optimiser state (metadata format ${preview(meta.format ?? '')}); write one with saveState()`);
    if (meta.optimizer !== this.name) throw new ValueError(`${fn}: the state was saved by ${clipText(String(meta.optimizer))}, this optimiser is ${this.name}`);
    if (meta.params !== undefined && meta.params !== String(this.params.length)) {
      throw new ValueError(`${fn}: the state was saved over ${clipText(meta.params)} parameters, this optimiser has ${this.params.length}; restore it into an optimiser over the same parameters`);
    }
    const unexpected = (k: string): never => { throw new ValueError(`${fn}: unexpected tensor '${clipText(k)}' for ${this.name} over ${this.params.length} parameters`); };
    const { buffers, rest } = splitOptimTensors(f.tensors, this.params.length, unexpected);
    Object.keys(rest).forEach(unexpected);
    const lrScale = Number(meta.lrScale ?? 1);
    if (!(lrScale >= 0) || !Number.isFinite(lrScale)) throw new ValueError(`${fn}: lrScale in the metadata must be a finite number ≥ 0, got ${preview(meta.lrScale)}`);
    this.loadState({ step: Number(meta.step), buffers });
    this.lrScale = lrScale;
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
    super(params, options, 'SGD', { lr: true, momentum: true, nesterov: true, weightDecay: true, dampening: true });
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
    super(params, options, name, { lr: true, betas: true, eps: true, weightDecay: true });
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
