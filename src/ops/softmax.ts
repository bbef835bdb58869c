import { Tensor } from '../tensor/tensor.js';
import { normDim, splitAt } from '../tensor/shape.js';
import { backend } from '../backend/backend.js';
import { apply, type Primitive } from './primitive.js';
import { fdata, floatArg } from './util.js';

function softmaxPrim(log: boolean): Primitive<{ dim: number }> {
  return {
    name: log ? 'logSoftmax' : 'softmax',
    forward: ([x], { dim }) => {
      const { outer, n, inner } = splitAt(x.shape, dim);
      return { out: new Tensor(backend().softmaxDim(fdata(x), outer, n, inner, log), x.shape), saved: undefined };
    },
    backward: (g, { out, attrs: { dim } }) => {
      const { outer, n, inner } = splitAt(out.shape, dim);
      const gx = backend().softmaxBackwardDim(fdata(out), fdata(g), outer, n, inner, log);
      // a fully masked (-∞) row has output 0 / -∞ and no gradient
      if (log) for (let i = 0; i < gx.length; i++) if (Number.isNaN(gx[i])) gx[i] = 0;
      return [new Tensor(gx, out.shape)];
    },
  };
}
export const softmaxPrims = { softmax: softmaxPrim(false), logSoftmax: softmaxPrim(true) };

/**
 * Stable softmax along `dim` (default last). A row of only -∞ (fully masked) gives zeros, not NaN.
 * @example softmax(scores, -1) // [B, H, T, S], rows sum to 1
 */
export function softmax(x: Tensor, dim = -1): Tensor {
  floatArg(x, 'softmax', 'x');
  return apply(softmaxPrims.softmax, [x], { dim: normDim(dim, x.ndim, 'softmax') });
}

/** log(softmax(x)) computed stably; a row of only -∞ stays -∞ with zero gradient. */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  floatArg(x, 'logSoftmax', 'x');
  return apply(softmaxPrims.logSoftmax, [x], { dim: normDim(dim, x.ndim, 'logSoftmax') });
}

/** This family's primitives, by registry name (collected by registry.ts: a new primitive here needs no other edit). */
export const prims = { ...softmaxPrims };
