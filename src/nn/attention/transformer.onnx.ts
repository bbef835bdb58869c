/**
 * ONNX emission of the Transformer layers and stacks, beside their forward: encoder layer and
 * stack (causal when exported with `causal: true`), decoder layer and stack (`x`, `memory`,
 * `keyMask`, `memoryKeyMask` → `y`, causal unless `causal: false`).
 */
import { Graph, and, causalMask, emitGelu, keyMask4 } from '../../onnx/graph/graph.js';
import { causalSequenceLayer, maskIn, outOf, seqIn, type ExportOptions, type LayerExport, type Plan } from '../../onnx/graph/layerExport.js';
import type { Linear } from '../linear.js';
import { emitLinear } from '../linear.onnx.js';
import { emitLayerNorm } from '../layerNorm.onnx.js';
import { TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer } from './transformer.js';
import { emitMha } from './multihead.onnx.js';

/** The position-wise feed-forward of a Transformer layer (or block): linear2(act(linear1(x))). */
export function emitFeedForward(g: Graph, x: string, l: { linear1: Linear; linear2: Linear }, activation: 'relu' | 'gelu'): string {
  const a = emitLinear(g, x, l.linear1);
  return emitLinear(g, activation === 'gelu' ? emitGelu(g, a) : g.one('Relu', [a]), l.linear2);
}

/** A Transformer encoder layer (post- or pre-norm) on x with the self-attention mask `allowed`. */
export function emitEncoderLayer(g: Graph, x: string, l: TransformerEncoderLayer, allowed: string | null): string {
  const sa = (h: string): string => emitMha(g, h, h, l.selfAttn, allowed);
  const ff = (h: string): string => emitFeedForward(g, h, l, l.activation);
  if (l.options.normFirst) {
    const y = g.one('Add', [x, sa(emitLayerNorm(g, x, l.norm1))]);
    return g.one('Add', [y, ff(emitLayerNorm(g, y, l.norm2))]);
  }
  const y = emitLayerNorm(g, g.one('Add', [x, sa(x)]), l.norm1);
  return emitLayerNorm(g, g.one('Add', [y, ff(y)]), l.norm2);
}

/** A Transformer encoder stack (and its final norm) on x with key mask `allowed`. */
export function emitEncoder(g: Graph, x: string, enc: TransformerEncoder, allowed: string | null): string {
  const y = enc.layers.reduce((h, l) => emitEncoderLayer(g, h, l, allowed), x);
  return enc.norm ? emitLayerNorm(g, y, enc.norm) : y;
}

/** A Transformer decoder layer: causal (or not) self-attention over x, cross-attention to memory, feed-forward. */
export function emitDecoderLayer(g: Graph, x: string, memory: string, l: TransformerDecoderLayer, selfAllowed: string | null, memoryAllowed: string | null): string {
  const sa = (h: string): string => emitMha(g, h, h, l.selfAttn, selfAllowed);
  const ca = (h: string): string => emitMha(g, h, memory, l.crossAttn, memoryAllowed);
  const ff = (h: string): string => emitFeedForward(g, h, l, l.activation);
  if (l.normFirst) {
    let y = g.one('Add', [x, sa(emitLayerNorm(g, x, l.norm1))]);
    y = g.one('Add', [y, ca(emitLayerNorm(g, y, l.norm2))]);
    return g.one('Add', [y, ff(emitLayerNorm(g, y, l.norm3))]);
  }
  let y = emitLayerNorm(g, g.one('Add', [x, sa(x)]), l.norm1);
  y = emitLayerNorm(g, g.one('Add', [y, ca(y)]), l.norm2);
  return emitLayerNorm(g, g.one('Add', [y, ff(y)]), l.norm3);
}

/** A decoder layer or stack: `x`, `memory`, `keyMask`, `memoryKeyMask` → `y`; causal unless `causal: false`. */
function decoderPlan(g: Graph, C: number, options: ExportOptions, emit: (selfAllowed: string | null, memoryAllowed: string | null) => string): Plan {
  const masked = options.keyMask ?? true;
  const selfAllowed = and(g, options.causal ?? true ? causalMask(g, 'x') : null, masked ? keyMask4(g, 'keyMask') : null);
  const y = emit(selfAllowed, masked ? keyMask4(g, 'memoryKeyMask') : null);
  return {
    inputs: [seqIn('x', 'seq', C), seqIn('memory', 'memorySeq', C), ...(masked ? [maskIn('keyMask', 'seq'), maskIn('memoryKeyMask', 'memorySeq')] : [])],
    outputs: [outOf(y, 'y', ['batch', 'seq', C])],
  };
}

const km4 = (g: Graph, keyMask: string | null): string | null => keyMask && keyMask4(g, keyMask);

const transformerEncoderLayerOnnx: LayerExport<TransformerEncoderLayer> = causalSequenceLayer(TransformerEncoderLayer, {
  keyMask: true, widths: (m) => ({ C: m.options.embedDim, out: m.options.embedDim }), emit: (g, x, m, km) => emitEncoderLayer(g, x, m, km4(g, km)),
}, emitEncoderLayer);

const transformerEncoderOnnx: LayerExport<TransformerEncoder> = causalSequenceLayer(TransformerEncoder, {
  keyMask: true, widths: (m) => ({ C: m.options.embedDim, out: m.options.embedDim }), emit: (g, x, m, km) => emitEncoder(g, x, m, km4(g, km)),
}, emitEncoder);

const transformerDecoderLayerOnnx: LayerExport<TransformerDecoderLayer> = {
  cls: TransformerDecoderLayer, options: () => ({ keyMask: 'any', causal: 'any' }),
  plan: (g, m, o) => decoderPlan(g, m.options.embedDim, o, (selfAllowed, memAllowed) => emitDecoderLayer(g, 'x', 'memory', m, selfAllowed, memAllowed)),
};

const transformerDecoderOnnx: LayerExport<TransformerDecoder> = {
  cls: TransformerDecoder, options: () => ({ keyMask: 'any', causal: 'any' }),
  plan: (g, m, o) => decoderPlan(g, m.options.embedDim, o, (selfAllowed, memAllowed) => {
    const y = m.layers.reduce((h, l) => emitDecoderLayer(g, h, 'memory', l, selfAllowed, memAllowed), 'x');
    return m.norm ? emitLayerNorm(g, y, m.norm) : y;
  }),
};

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { TransformerEncoderLayer: transformerEncoderLayerOnnx, TransformerEncoder: transformerEncoderOnnx, TransformerDecoderLayer: transformerDecoderLayerOnnx, TransformerDecoder: transformerDecoderOnnx };
