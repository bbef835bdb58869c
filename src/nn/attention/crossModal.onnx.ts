/**
 * ONNX emission of the cross-modal layers, beside their forward: the MulT block and stack
 * (`x`, `source`, `sourceKeyMask` → `y`) and the Perceiver encoder (`x`, `keyMask` → latents).
 */
import { Graph, f32, keyMask4 } from '../../onnx/graph/graph.js';
import { crossPlan, keyMaskOnly, maskIn, outOf, seqIn, type LayerExport } from '../../onnx/graph/layerExport.js';
import { emitLayerNorm } from '../layerNorm.onnx.js';
import { CrossModalLayer, CrossModalTransformer, PerceiverEncoder } from './crossModal.js';
import { emitMha } from './multihead.onnx.js';
import { emitEncoder, emitFeedForward } from './transformer.onnx.js';

/** One MulT cross-modal block: target [B, T, C] queries source [B, S, sourceDim]; `allowed` masks source keys. */
export function emitCrossModalLayer(g: Graph, target: string, source: string, l: CrossModalLayer, allowed: string | null): string {
  const s = emitLayerNorm(g, source, l.normSource);
  const y = g.one('Add', [target, emitMha(g, emitLayerNorm(g, target, l.normTarget), s, l.crossAttn, allowed)]);
  return g.one('Add', [y, emitFeedForward(g, emitLayerNorm(g, y, l.norm2), l, l.activation)]);
}

/** A MulT cross-modal stack: its blocks, then its final norm. */
export function emitCrossModal(g: Graph, target: string, source: string, m: CrossModalTransformer, allowed: string | null): string {
  return emitLayerNorm(g, m.layers.reduce((h, l) => emitCrossModalLayer(g, h, source, l, allowed), target), m.norm);
}

/** Perceiver: the learned latents (a constant [1, N, C] broadcast over the batch) read `source`, then self-attend. */
export function emitPerceiver(g: Graph, source: string, p: PerceiverEncoder, allowed: string | null): string {
  const [N, C] = p.latents.shape as [number, number];
  // [B, N, C]: the latents expanded to the source's batch (a zero-valued slice of the source fixes B)
  const B = g.one('Slice', [g.one('Shape', [source]), g.ints('start', [0]), g.ints('end', [1])]);
  const lat = g.one('Expand', [g.const('latents', f32(p.latents), [1, N, C]), g.one('Concat', [B, g.ints('nc', [N, C])], { axis: 0 })]);
  return emitEncoder(g, emitCrossModalLayer(g, lat, source, p.cross, allowed), p.latentEncoder, null);
}

const crossModalLayerOnnx: LayerExport<CrossModalLayer> = {
  cls: CrossModalLayer, options: () => keyMaskOnly,
  plan: (g, m, o) => crossPlan(g, m.options.embedDim, m.options.sourceDim ?? m.options.embedDim, o, (allowed) => emitCrossModalLayer(g, 'x', 'source', m, allowed)),
};

const crossModalTransformerOnnx: LayerExport<CrossModalTransformer> = {
  cls: CrossModalTransformer, options: () => keyMaskOnly,
  plan: (g, m, o) => crossPlan(g, m.options.embedDim, m.options.sourceDim ?? m.options.embedDim, o, (allowed) => emitCrossModal(g, 'x', 'source', m, allowed)),
};

const perceiverEncoderOnnx: LayerExport<PerceiverEncoder> = {
  cls: PerceiverEncoder, options: () => keyMaskOnly,
  plan: (g, m, o) => {
    const [N, C] = m.latents.shape as [number, number], masked = o.keyMask ?? true;
    const y = emitPerceiver(g, 'x', m, masked ? keyMask4(g, 'keyMask') : null);
    return { inputs: [seqIn('x', 'seq', m.options.inputDim), ...(masked ? [maskIn('keyMask', 'seq')] : [])], outputs: [outOf(y, 'y', ['batch', N, C])] };
  },
};

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { CrossModalLayer: crossModalLayerOnnx, CrossModalTransformer: crossModalTransformerOnnx, PerceiverEncoder: perceiverEncoderOnnx };
