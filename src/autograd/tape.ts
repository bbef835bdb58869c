import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor, type TapeNode } from '../tensor/tensor.js';
import { allocLike, type AnyArray } from '../backend/buffers.js';
import { pin, unpin } from '../backend/pool.js';
import { backend } from '../backend/backend.js';
import { sameShape } from '../tensor/shape.js';
import { checkOptions } from '../config.js';

let gradEnabled = true;

/** Whether ops currently record themselves on the tape. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs `fn` without recording operations (evaluation, optimizer updates).
 *
 * @example
 * const logits = noGrad(() => model.forward(x));
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Attaches a tape node to `out` when gradients are being recorded and an input needs them, pinning
 * the inputs' and the output's arrays (their arrays are listed in `held`, for the node's release).
 */
export function record(out: Tensor, node: TapeNode, held: AnyArray[] = []): Tensor {
  if (gradEnabled && node.inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.gradFn = node;
    // backward may read any input's data and the output's: disposing them must not hand their memory out again
    for (const t of node.inputs) pinHeld(t, 0, held);
    pinHeld(out, 0, held);
  }
  return out;
}

/**
 * Pins the arrays a recorded op holds (pool.ts `pin`): tensors and typed arrays in `x`, looking
 * two levels into arrays and plain objects (a primitive's attributes and saved values: masks,
 * targets, log-sum-exps); each pinned array is added to `held`.
 */
export function pinHeld(x: unknown, depth = 2, held: AnyArray[] = []): void {
  if (x instanceof Tensor) {
    if (!x.isDisposed) {
      pin(x.data);
      held.push(x.data);
    }
  } else if (ArrayBuffer.isView(x)) {
    pin(x as AnyArray);
    held.push(x as AnyArray);
  } else if (depth > 0 && typeof x === 'object' && x !== null) {
    for (const v of Array.isArray(x) ? x : Object.values(x)) pinHeld(v, depth - 1, held);
  }
}

/** Lets go of the pins `pinHeld` / `record` listed in `held` (a node freed by backward), emptying it. */
export function unpinHeld(held: AnyArray[]): void {
  for (const a of held.splice(0)) unpin(a);
}

/** A new leaf sharing `t`'s data, cut from the tape. */
export function detach(t: Tensor): Tensor {
  return new Tensor(t.data, t.shape);
}

/** a + b for two gradients of the same shape (the backend's add kernel: threaded on native). */
function addInto(a: Tensor, b: Tensor): Tensor {
  const out = allocLike(a.data, a.size);
  backend().binary('add', a.data, a.shape, b.data, b.shape, a.shape, out);
  return new Tensor(out, a.shape);
}

/** Options of {@link backward}. */
export interface BackwardOptions {
  /**
   * Keep the graph for another backward through it (default false, as PyTorch's `retain_graph`).
   * Without it each op's node is freed once backward has run through it: its saved values are
   * dropped and the arrays it held may be reused once their tensors are disposed; a second
   * backward through it is a ValueError.
   */
  retainGraph?: boolean;
}

/**
 * Back-propagates from `root`: leaves that require gradients get `.grad` added to, and so
 * do intermediate tensors marked with `retainGrad()`.
 * `grad` defaults to 1 for a one-element root.
 */
export function backward(root: Tensor, grad?: Tensor, options: BackwardOptions = {}): void {
  checkOptions('backward', options, { retainGraph: true });
  const retain = options.retainGraph === true;
  if (!root.requiresGrad) throw new ValueError(`backward: the tensor (shape ${fmtShape(root.shape)}) does not require gradients; no input had requiresGrad`);
  if (grad === undefined) {
    if (root.size !== 1) throw new ShapeError(`backward: grad must be given for a non-scalar root of shape ${fmtShape(root.shape)}`);
    const one = allocLike(root.data as Float32Array, 1);
    one[0] = 1;
    grad = new Tensor(one, root.shape);
  } else if (!sameShape(grad.shape, root.shape)) {
    throw new ShapeError(`backward: grad has shape ${fmtShape(grad.shape)}, expected the root's ${fmtShape(root.shape)}`);
  }
  // reverse topological order by iterative DFS
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [t, done] = stack.pop()!;
    if (done) { order.push(t); continue; }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    if (t.gradFn) for (const inp of t.gradFn.inputs) if (inp.requiresGrad && !seen.has(inp)) stack.push([inp, false]);
  }
  const grads = new Map<Tensor, Tensor>([[root, grad]]);
  // A `.grad` of its own: rules may hand one gradient tensor to several inputs (add gives both its
  // `g`), and the root's gradient is the caller's. A second holder gets a tensor object of its own
  // over the same data, so each `.grad` can be disposed alone (the data is reused once both are).
  const handedOut = new Set<Tensor>([grad]);
  const own = (g: Tensor): Tensor => {
    if (!handedOut.has(g)) {
      handedOut.add(g);
      return g;
    }
    return new Tensor(g.data, g.shape);
  };
  noGrad(() => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (g === undefined) continue;
      if (!t.gradFn) {
        t.grad = t.grad ? addInto(t.grad, g) : own(g);
        continue;
      }
      grads.delete(t);
      if (t.retainsGrad) t.grad = t.grad ? addInto(t.grad, g) : own(g);
      const inGrads = t.gradFn.backward(g);
      if (!retain) t.gradFn.release?.();
      t.gradFn.inputs.forEach((inp, k) => {
        const gi = inGrads[k];
        if (!inp.requiresGrad || gi === null || gi === undefined) return;
        if (!sameShape(gi.shape, inp.shape)) {
          throw new ShapeError(`backward: rule of '${t.gradFn!.name}' gave input ${k} a gradient of shape ${fmtShape(gi.shape)}, expected ${fmtShape(inp.shape)}`);
        }
        const prev = grads.get(inp);
        grads.set(inp, prev ? addInto(prev, gi) : gi);
      });
    }
  });
}
