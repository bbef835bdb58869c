/**
 * Every primitive in one table, collected from each family's `prims` (src/ops/<family>.ts). Its
 * key type, PrimitiveName, is what the gradcheck sample table is keyed by: a primitive added to
 * a family without a sample fails to compile.
 */
import { prims as elementwise } from './elementwise.js';
import { prims as broadcast } from './broadcast.js';
import { prims as reduce } from './reduce.js';
import { prims as shape } from './shape.js';
import { prims as linalg } from './linalg.js';
import { prims as attention } from './attention.js';
import { prims as norm } from './norm.js';
import { prims as softmax } from './softmax.js';
import { prims as loss } from './loss.js';
import { prims as conv } from './conv.js';

export const primitives = {
  ...elementwise,
  ...broadcast,
  ...reduce,
  ...shape,
  ...linalg,
  ...attention,
  ...norm,
  ...softmax,
  ...loss,
  ...conv,
};

// a name defined in two families would silently keep the later one
if (Object.keys(primitives).length !== [elementwise, broadcast, reduce, shape, linalg, attention, norm, softmax, loss, conv].reduce((n, f) => n + Object.keys(f).length, 0)) {
  throw new Error('ops/registry: a primitive name is defined in two families');
}

export type PrimitiveName = keyof typeof primitives;
