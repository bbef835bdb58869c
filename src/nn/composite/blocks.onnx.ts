/**
 * ONNX emission of the composite blocks, beside their forward: each maps x [B, T, C] (and the
 * key mask every block takes) to [B, T, C], alone or inside Serial, Parallel and Fusion.
 */
import { Graph, and, causalMask, emitGelu, f32, keyMask4, zeroPadded, type SequenceEmitter } from '../../onnx/graph/graph.js';
import { sequenceLayer, type LayerExport } from '../../onnx/graph/layerExport.js';
import { emitMha } from '../attention/multihead.onnx.js';
import { emitSparse } from '../attention/sparse.onnx.js';
import { emitLinearSelfAttention } from '../attention/linear.onnx.js';
import { emitEncoderLayer, emitFeedForward } from '../attention/transformer.onnx.js';
import { ConvBlock, FeedForwardBlock, LinearAttentionBlock, LocalAttentionBlock, SelfAttentionBlock, TransformerBlock } from './blocks.js';

const km4 = (g: Graph, keyMask: string | null): string | null => keyMask && keyMask4(g, keyMask);

/** A block's sequence emitter: every block takes the key mask and keeps the width `options.embedDim`. */
const block = <M extends { options: { embedDim: number } }>(emit: SequenceEmitter<M>['emit']): SequenceEmitter<M> => ({
  keyMask: true, widths: (m) => ({ C: m.options.embedDim, out: m.options.embedDim }), emit,
});

function emitConvBlock(g: Graph, x: string, m: ConvBlock, keyMask: string | null): string {
  const k = m.options.kernelSize, d = m.options.dilation ?? 1, span = d * (k - 1), left = m.options.causal ? span : span / 2;
  const conv = m.conv;
  const h = g.one('Transpose', [zeroPadded(g, x, keyMask)], { perm: [0, 2, 1] });                     // [B, C, T]
  const inputs = [h, g.const('conv_weight', f32(conv.weight), [...conv.weight.shape])];
  if (conv.bias) inputs.push(g.const('conv_bias', f32(conv.bias), [...conv.bias.shape]));
  const y = g.one('Conv', inputs, { dilations: [d], pads: [left, span - left], strides: [1], group: conv.options.groups ?? 1, kernel_shape: [k] });
  return zeroPadded(g, g.one('Transpose', [emitGelu(g, y)], { perm: [0, 2, 1] }), keyMask);
}

const selfAttentionBlockOnnx: LayerExport<SelfAttentionBlock> = sequenceLayer(SelfAttentionBlock, block(
  (g, x, m, km) => emitMha(g, x, x, m.attn, and(g, m.options.causal ? causalMask(g, x) : null, km4(g, km))),
));
const convBlockOnnx: LayerExport<ConvBlock> = sequenceLayer(ConvBlock, block(emitConvBlock));
const feedForwardBlockOnnx: LayerExport<FeedForwardBlock> = sequenceLayer(FeedForwardBlock, block(
  (g, x, m) => emitFeedForward(g, x, m, m.options.activation === 'relu' ? 'relu' : 'gelu'),
));
const localAttentionBlockOnnx: LayerExport<LocalAttentionBlock> = sequenceLayer(LocalAttentionBlock, block((g, x, m, km) => emitSparse(g, x, m.attn, km)));
const linearAttentionBlockOnnx: LayerExport<LinearAttentionBlock> = sequenceLayer(LinearAttentionBlock, block(
  (g, x, m, km) => zeroPadded(g, emitLinearSelfAttention(g, x, m.attn, km), km),
));
const transformerBlockOnnx: LayerExport<TransformerBlock> = sequenceLayer(TransformerBlock, block((g, x, m, km) => emitEncoderLayer(g, x, m.layer, km4(g, km))));

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { SelfAttentionBlock: selfAttentionBlockOnnx, ConvBlock: convBlockOnnx, FeedForwardBlock: feedForwardBlockOnnx, LocalAttentionBlock: localAttentionBlockOnnx, LinearAttentionBlock: linearAttentionBlockOnnx, TransformerBlock: transformerBlockOnnx };
