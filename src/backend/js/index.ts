/**
 * The js backend: complete reference kernels over raw typed arrays.
 * Knows nothing of Tensor or autograd.
 */
import { stridedCopy, stridedScatter } from './strided.js';
import { unary, unaryBackward, binary, where, cast } from './elementwise.js';
import { sumDim, extremeDim, softmaxDim, softmaxBackwardDim, logsumexpDim, cumsumDim } from './reduce.js';
import { gemm, gemmBatched } from './gemm.js';
import {
  conv2dForward, conv2dBackward, maxPool2dForward, maxPool2dBackward,
  avgPool2dForward, avgPool2dBackward, adaptiveAvgPool2d,
} from './conv.js';
import { indexSelect, indexAdd, gather, scatterAdd } from './gather.js';
import { attentionForward, attentionBackward, dropoutKernel as dropout } from './attention.js';
import { layerNormForward, layerNormBackward } from './layerNorm.js';
import { adamUpdate } from './optim.js';
import { crossEntropyForward, crossEntropyBackward, crossEntropyWeightGrad } from './loss.js';

export const jsBackend = {
  name: 'js' as string,
  stridedCopy, stridedScatter,
  unary, unaryBackward, binary, where, cast,
  sumDim, extremeDim, softmaxDim, softmaxBackwardDim, logsumexpDim, cumsumDim,
  gemm, gemmBatched,
  attentionForward, attentionBackward, dropout,
  layerNormForward, layerNormBackward,
  conv2dForward, conv2dBackward, maxPool2dForward, maxPool2dBackward,
  avgPool2dForward, avgPool2dBackward, adaptiveAvgPool2d,
  indexSelect, indexAdd, gather, scatterAdd,
  adamUpdate,
  crossEntropyForward, crossEntropyBackward, crossEntropyWeightGrad,
};

export type { AnyArray, FloatArray } from '../buffers.js';
export type { UnaryOp, UnaryParams, BinaryOp, CompareOp } from './elementwise.js';
export type { Conv2dGeom, Conv2dParams } from './conv.js';
export { unaryTable } from './elementwise.js';
export { broadcastStrides } from './strided.js';
export { contiguousStrides } from '../buffers.js';
export type { AttnShape, AttnOptions, AttnMask, AttnView, AttnLayout } from './attention.js';
export type { AdamParams } from './optim.js';
export type { CrossEntropyParams } from './loss.js';
export { dropoutKeep, dropoutThreshold } from '../dropoutHash.js';
