import { Tensor } from '../tensor/tensor.js';
import { pinHeld, record, unpinHeld } from '../autograd/tape.js';
import type { AnyArray } from '../backend/buffers.js';
import { ValueError, fmtShape } from '../errors.js';

/** What a backward rule receives besides the output gradient. */
export interface BackwardContext<A, S> {
  readonly inputs: readonly Tensor[];
  readonly out: Tensor;
  readonly saved: S;
  readonly attrs: A;
}

/**
 * A primitive: forward (shape rule and validation, then the backend kernel), the values
 * backward needs, and its vector-Jacobian rule. One object, one place.
 */
export interface Primitive<A = undefined, S = undefined> {
  readonly name: string;
  forward(inputs: readonly Tensor[], attrs: A): { out: Tensor; saved: S };
  /** One gradient per input, shaped like it (null for inputs that take none, e.g. indices). */
  backward(grad: Tensor, ctx: BackwardContext<A, S>): (Tensor | null)[];
}

/** Runs a primitive and records it on the tape when gradients are wanted. */
export function applyWithSaved<A, S>(def: Primitive<A, S>, inputs: readonly Tensor[], attrs: A): { out: Tensor; saved: S } {
  const { out, saved } = def.forward(inputs, attrs);
  // what backward reads, until backward has run through the node (without retainGraph)
  let ctx: BackwardContext<A, S> | null = { inputs, out, saved, attrs };
  const held: AnyArray[] = [];
  record(out, {
    name: def.name,
    inputs,
    backward: (grad) => {
      if (ctx === null) {
        throw new ValueError(`backward: the graph through '${def.name}' (output ${fmtShape(out.shape)}) was freed by an earlier backward(); `
          + 'pass { retainGraph: true } to that call to run backward through it again');
      }
      return def.backward(grad, ctx);
    },
    release: () => {
      ctx = null;
      unpinHeld(held);
    },
  }, held);
  if (out.gradFn) {
    pinHeld(attrs, 2, held);
    pinHeld(saved, 2, held);
  }
  return { out, saved };
}

export function apply<A, S>(def: Primitive<A, S>, inputs: readonly Tensor[], attrs: A): Tensor {
  return applyWithSaved(def, inputs, attrs).out;
}
