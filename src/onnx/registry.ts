/**
 * Every class `exportOnnx` exports, one line each: the entries are written beside the layers
 * (`<layer>.onnx.ts`, a `LayerExport`) and imported here explicitly — no registration by import
 * side effect. The exporter looks a model up by its exact class (a subclass may change `forward`,
 * so it is refused rather than exported as its base), and the option tests walk this table, so a
 * class added here is tested with every export option.
 */
import type { LayerExport } from './graph/layerExport.js';
import type { SequenceEmitter, SequenceLookup } from './graph/graph.js';
import { linearOnnx } from '../nn/linear.onnx.js';
import { layerNormOnnx } from '../nn/layerNorm.onnx.js';
import { dropoutOnnx } from '../nn/dropout.onnx.js';
import { multiHeadAttentionOnnx } from '../nn/attention/multihead.onnx.js';
import { transformerDecoderLayerOnnx, transformerDecoderOnnx, transformerEncoderLayerOnnx, transformerEncoderOnnx } from '../nn/attention/transformer.onnx.js';
import { sparseSelfAttentionOnnx } from '../nn/attention/sparse.onnx.js';
import { linearSelfAttentionOnnx, linformerSelfAttentionOnnx } from '../nn/attention/linear.onnx.js';
import { learnedPositionalEmbeddingOnnx, sinusoidalPositionalEncodingOnnx } from '../nn/attention/positional.onnx.js';
import { attentionPoolingOnnx, gatedAttentionPoolingOnnx } from '../nn/attention/pooling.onnx.js';
import { attentionOnnx } from '../nn/attention/scoring.onnx.js';
import { contextAttentionOnnx, hierarchicalAttentionNetworkOnnx } from '../nn/attention/hierarchical.onnx.js';
import { crossModalLayerOnnx, crossModalTransformerOnnx, perceiverEncoderOnnx } from '../nn/attention/crossModal.onnx.js';
import {
  convBlockOnnx, feedForwardBlockOnnx, linearAttentionBlockOnnx, localAttentionBlockOnnx, selfAttentionBlockOnnx, transformerBlockOnnx,
} from '../nn/composite/blocks.onnx.js';
import { serialOnnx } from '../nn/composite/serial.onnx.js';
import { parallelOnnx } from '../nn/composite/parallel.onnx.js';
import { fusionOnnx } from '../nn/composite/fusion.onnx.js';
import { fusionModelOnnx } from '../models/fusion.onnx.js';

/** Every exportable class by name (the key is the class's name; a test checks it). */
export const EXPORTERS = {
  Linear: linearOnnx,
  LayerNorm: layerNormOnnx,
  MultiHeadAttention: multiHeadAttentionOnnx,
  TransformerEncoderLayer: transformerEncoderLayerOnnx,
  TransformerEncoder: transformerEncoderOnnx,
  SparseSelfAttention: sparseSelfAttentionOnnx,
  LinearSelfAttention: linearSelfAttentionOnnx,
  LinformerSelfAttention: linformerSelfAttentionOnnx,
  SelfAttentionBlock: selfAttentionBlockOnnx,
  ConvBlock: convBlockOnnx,
  FeedForwardBlock: feedForwardBlockOnnx,
  LocalAttentionBlock: localAttentionBlockOnnx,
  LinearAttentionBlock: linearAttentionBlockOnnx,
  TransformerBlock: transformerBlockOnnx,
  Serial: serialOnnx,
  Parallel: parallelOnnx,
  Fusion: fusionOnnx,
  Dropout: dropoutOnnx,
  SinusoidalPositionalEncoding: sinusoidalPositionalEncodingOnnx,
  LearnedPositionalEmbedding: learnedPositionalEmbeddingOnnx,
  AttentionPooling: attentionPoolingOnnx,
  GatedAttentionPooling: gatedAttentionPoolingOnnx,
  ContextAttention: contextAttentionOnnx,
  Attention: attentionOnnx,
  CrossModalLayer: crossModalLayerOnnx,
  CrossModalTransformer: crossModalTransformerOnnx,
  TransformerDecoderLayer: transformerDecoderLayerOnnx,
  TransformerDecoder: transformerDecoderOnnx,
  PerceiverEncoder: perceiverEncoderOnnx,
  HierarchicalAttentionNetwork: hierarchicalAttentionNetworkOnnx,
  FusionModel: fusionModelOnnx,
};

/** The class names `exportOnnx` exports. */
export type ExportableName = keyof typeof EXPORTERS;

const BY_CLASS = new Map<unknown, LayerExport<object>>(Object.values(EXPORTERS).map((e) => [e.cls, e as unknown as LayerExport<object>]));

/** The export entry of `model`'s exact class, or null. */
export function exporterOf(model: object): LayerExport<object> | null {
  return BY_CLASS.get(model.constructor) ?? null;
}

const SEQUENCE_NAMES = (Object.keys(EXPORTERS) as ExportableName[]).filter((k) => EXPORTERS[k].sequence !== undefined);

/** The sequence layers, for a graph: a composite's children are emitted through it. */
export const SEQUENCE_LAYERS: SequenceLookup = {
  of: (m) => (exporterOf(m)?.sequence as SequenceEmitter<object> | undefined) ?? null,
  names: SEQUENCE_NAMES,
};
