/**
 * Every primitive in one table. Its key type, PrimitiveName, is what the gradcheck
 * sample table is keyed by: a primitive added here without a sample fails to compile.
 */
import { unaryPrims, binaryPrims, wherePrim, toDtypePrim } from './elementwise.js';
import { extremePrim, logsumexpPrim, cumsumPrim } from './reduce.js';
import { reshapePrim, expandPrim, sumPrim } from './broadcast.js';
import {
  permutePrim, stridedPrim, padPrim, concatPrim,
  indexSelectPrim, gatherPrim, scatterAddPrim,
} from './shape.js';
import { matmulPrim, linearPrim } from './linalg.js';
import { attentionPrim, packedAttentionPrim } from './attention.js';
import { layerNormPrim, dropoutPrim } from './norm.js';
import { softmaxPrims } from './softmax.js';
import { crossEntropyPrim } from './loss.js';
import { conv2dPrim, maxPool2dPrim, avgPool2dPrim, adaptiveAvgPool2dPrim } from './conv.js';

export const primitives = {
  ...unaryPrims,
  ...binaryPrims,
  where: wherePrim,
  toDtype: toDtypePrim,
  sum: sumPrim,
  extreme: extremePrim,
  logsumexp: logsumexpPrim,
  cumsum: cumsumPrim,
  reshape: reshapePrim,
  permute: permutePrim,
  expand: expandPrim,
  strided: stridedPrim,
  pad: padPrim,
  concat: concatPrim,
  indexSelect: indexSelectPrim,
  gather: gatherPrim,
  scatterAdd: scatterAddPrim,
  matmul: matmulPrim,
  linear: linearPrim,
  attention: attentionPrim,
  packedAttention: packedAttentionPrim,
  layerNorm: layerNormPrim,
  dropout: dropoutPrim,
  ...softmaxPrims,
  crossEntropy: crossEntropyPrim,
  conv2d: conv2dPrim,
  maxPool2d: maxPool2dPrim,
  avgPool2d: avgPool2dPrim,
  adaptiveAvgPool2d: adaptiveAvgPool2dPrim,
};

export type PrimitiveName = keyof typeof primitives;
