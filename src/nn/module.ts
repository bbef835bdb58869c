import { ShapeError, ValueError, clipText, fmtShape, kindOf, previewList } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { sameShape } from '../tensor/shape.js';
import { checkOptions } from '../config.js';

/** `t`, checked to be a Tensor (a Parameter or Buffer of anything else would fail on its first read). */
function tensorArg(t: Tensor, where: string): Tensor {
  if (!(t instanceof Tensor)) throw new ValueError(`${where}: wraps a Tensor, got ${kindOf(t)}`);
  return t;
}

/** A trainable tensor: a leaf that requires gradients, found by `Module.namedParameters()`. */
export class Parameter extends Tensor {
  constructor(t: Tensor) {
    super(tensorArg(t, 'Parameter').data, t.shape);
    this.requireGrad(true);
  }
}

/**
 * A tensor that is module state but not trained (PyTorch's buffer): found by walking fields like
 * a Parameter, carried by `stateDict()` / `loadStateDict()` (so a checkpoint round trip restores
 * it), never handed to an optimiser. PerformerAttention's random features are one.
 */
export class Buffer extends Tensor {
  constructor(t: Tensor) {
    super(tensorArg(t, 'Buffer').data, t.shape);
  }
}

/**
 * Base class of layers and models: a plain object whose Parameter and Module fields
 * (also inside arrays) are its parameters and children. `forward()` is called explicitly.
 *
 * @example
 * class Head extends Module {
 *   proj = new Linear(64, 2, { rng });
 *   forward(x: Tensor): Tensor { return this.proj.forward(x); }
 * }
 * new Head().namedParameters().map(([n]) => n); // ['proj.weight', 'proj.bias']
 */
export abstract class Module {
  /** Training mode (dropout active); switch with `train()` / `eval()`. */
  training = true;

  /** Parameters with dotted paths, in field order: `'blocks.0.attn.qProj.weight'`. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    const visit = (value: unknown, path: string): void => {
      if (value instanceof Parameter) {
        if (!seen.has(value)) { seen.add(value); out.push([path, value]); }
      } else if (value instanceof Module) {
        for (const [n, p] of value.namedParameters(path)) if (!seen.has(p)) { seen.add(p); out.push([n, p]); }
      } else if (Array.isArray(value)) {
        value.forEach((v, i) => visit(v, `${path}.${i}`));
      }
    };
    for (const [key, value] of Object.entries(this)) visit(value, prefix ? `${prefix}.${key}` : key);
    return out;
  }

  /** Buffers (non-trained state) with dotted paths, in field order, as `namedParameters`. */
  namedBuffers(prefix = ''): [string, Buffer][] {
    const out: [string, Buffer][] = [];
    const visit = (value: unknown, path: string): void => {
      if (value instanceof Buffer) out.push([path, value]);
      else if (value instanceof Module) out.push(...value.namedBuffers(path));
      else if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${path}.${i}`));
    };
    for (const [key, value] of Object.entries(this)) visit(value, prefix ? `${prefix}.${key}` : key);
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Direct child modules (also inside arrays). */
  children(): Module[] {
    const out: Module[] = [];
    for (const value of Object.values(this)) {
      if (value instanceof Module) out.push(value);
      else if (Array.isArray(value)) for (const v of value) if (v instanceof Module) out.push(v);
    }
    return out;
  }

  /** This module and every descendant with dotted paths (this one at `prefix`, '' at the root). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    const join = (k: string): string => (prefix ? `${prefix}.${k}` : k);
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Module) out.push(...value.namedModules(join(key)));
      else if (Array.isArray(value)) value.forEach((v, i) => { if (v instanceof Module) out.push(...v.namedModules(join(`${key}.${i}`))); });
    }
    return out;
  }

  /** Number of scalar parameters. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Sets training mode here and in every child; returns this. */
  train(flag = true): this {
    this.training = flag;
    for (const c of this.children()) c.train(flag);
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Parameter and buffer tensors by dotted path (shared with the module: copy before mutating). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies values into the parameters and buffers by dotted path. With `strict` (default), missing
   * or unexpected names are errors; shapes must always match. Everything is checked before
   * anything is copied, so a refused state leaves the module as it was.
   */
  loadStateDict(state: Record<string, Tensor>, options: { strict?: boolean } = {}): void {
    for (const [p, t] of this.checkStateDict(state, options, 'loadStateDict')) p.data.set(t.data);
  }

  /**
   * Checks `state` as `loadStateDict` would, without copying anything: throws the error it would
   * throw. Returns the (own tensor, value) pairs to copy.
   */
  checkStateDict(state: Record<string, Tensor>, options: { strict?: boolean } = {}, fn = 'checkStateDict'): [Tensor, Tensor][] {
    checkOptions(`Module.${fn}`, options, { strict: true });
    const strict = options.strict ?? true;
    const own = new Map<string, Tensor>([...this.namedParameters(), ...this.namedBuffers()]);
    if (strict) {
      const missing = [...own.keys()].filter((k) => !(k in state));
      const extra = Object.keys(state).filter((k) => !own.has(k));
      if (missing.length || extra.length) {
        throw new ValueError(`${this.constructor.name}.${fn}: missing [${previewList(missing)}], unexpected [${previewList(extra)}]`);
      }
    }
    const pairs: [Tensor, Tensor][] = [];
    for (const [name, t] of Object.entries(state)) {
      const p = own.get(name);
      if (!p) continue;
      if (!sameShape(p.shape, t.shape)) {
        throw new ShapeError(`${this.constructor.name}.${fn}: '${clipText(name)}' has shape ${fmtShape(t.shape)}, the parameter is ${fmtShape(p.shape)}`);
      }
      pairs.push([p, t]);
    }
    return pairs;
  }
}
