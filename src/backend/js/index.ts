/**
 * The js backend: complete reference kernels over raw typed arrays.
 * Knows nothing of Tensor or autograd.
 */
import { kernels as strided } from './strided.js';
import { kernels as elementwise } from './elementwise.js';
import { kernels as reduce } from './reduce.js';
import { kernels as gemm } from './gemm.js';
import { kernels as attention } from './attention.js';
import { kernels as layerNorm } from './layerNorm.js';
import { kernels as conv } from './conv.js';
import { kernels as gather } from './gather.js';
import { kernels as optim } from './optim.js';
import { kernels as loss } from './loss.js';

export const jsBackend = {
  name: 'js' as string,
  ...strided,
  ...elementwise,
  ...reduce,
  ...gemm,
  ...attention,
  ...layerNorm,
  ...conv,
  ...gather,
  ...optim,
  ...loss,
};

// a name defined in two families would silently keep the later one
if (Object.keys(jsBackend).length !== 1 + [strided, elementwise, reduce, gemm, attention, layerNorm, conv, gather, optim, loss].reduce((n, f) => n + Object.keys(f).length, 0)) {
  throw new Error('backend/js: a kernel name is defined in two families');
}

export type { AnyArray, FloatArray } from '../buffers.js';
export type { UnaryOp, UnaryParams, BinaryOp, CompareOp } from './elementwise.js';
export type { Conv2dGeom, Conv2dParams } from './conv.js';
export { unaryTable } from './elementwise.js';
export { broadcastStrides } from './strided.js';
export { contiguousStrides } from '../buffers.js';
export type { AttnShape, AttnOptions, AttnMask, AttnView, AttnLayout, AttnBlocks, AttnExtra, AttnRel } from './attention.js';
export type { AdamParams } from './optim.js';
export type { CrossEntropyParams } from './loss.js';
export { dropoutKeep, dropoutThreshold } from '../dropoutHash.js';
