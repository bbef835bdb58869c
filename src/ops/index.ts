/** The functional API: every op as a free function (also exported as the `F` namespace). */
export {
  neg, exp, log, log1p, sqrt, rsqrt, abs, sign, tanh, sigmoid, relu, sin, cos, square, reciprocal, silu,
  leakyRelu, elu, softplus, gelu, clamp, add, sub, mul, div, maximum, minimum, pow,
  eq, ne, lt, le, gt, ge, logicalAnd, logicalOr, logicalNot, where, maskedFill, toDtype, tril, triu,
} from './elementwise.js';
export {
  sum, mean, variance, variance as var, std, amax, amin, max, min, argmax, argmin, logsumexp, cumsum,
} from './reduce.js';
export { sumToShape } from './broadcast.js';
export type { ReduceOptions, VarOptions } from './reduce.js';
export {
  reshape, view, clone, flatten, permute, transpose, expand, broadcastTo, squeeze, unsqueeze, concat, cat, stack,
  slice, narrow, split, chunk, flip, pad, indexSelect, gather, scatterAdd,
} from './shape.js';
export { matmul, bmm, linear } from './linalg.js';
export { softmax, logSoftmax } from './softmax.js';
export { layerNorm, layerNormComposite, rmsNorm, dropout, embedding } from './norm.js';
export { scaledDotProductAttention, packedAttention } from './attention.js';
export type { SdpaOptions, PackedAttentionOptions } from './attention.js';
export { BlockMask, createBlockMask, causalBlockMask, keyPaddingBlockMask } from './blockMask.js';
export type { BlockMaskSizes } from './blockMask.js';
export { relativePositionBias } from './relativeBias.js';
export type { RelativeBias } from './relativeBias.js';
export { crossEntropy, linearCrossEntropy, binaryCrossEntropyWithLogits, mseLoss, l1Loss, huberLoss } from './loss.js';
export type { CrossEntropyOptions, LinearCrossEntropyOptions, BceOptions, Reduction } from './loss.js';
export {
  conv1d, conv2d, maxPool1d, maxPool2d, avgPool1d, avgPool2d, adaptiveAvgPool1d, adaptiveAvgPool2d,
} from './conv.js';
export type { ConvOptions, PoolOptions } from './conv.js';
export type { TensorLike } from './util.js';
