/**
 * ONNX emission of the hierarchical attention network, beside its forward: HAN's context
 * attention (`x`, `keyMask` → `y`, `weights`) and the whole network with Transformer encoders
 * (`ids`, `keyMask` [batch, sentences, words] → `y`, `wordWeights`, `sentenceWeights`).
 */
import { Graph, f32, keyMask4, maskedSoftmax, unsupported, weightedSum } from '../../onnx/graph/graph.js';
import { keyMaskOnly, outOf, poolingPlan, type LayerExport, type Plan } from '../../onnx/graph/layerExport.js';
import { emitLinear } from '../linear.onnx.js';
import { ContextAttention, HierarchicalAttentionNetwork } from './hierarchical.js';
import { TransformerEncoder } from './transformer.js';
import { emitEncoder } from './transformer.onnx.js';

/** HAN's context attention: h [N, L, C], mask [N, L] → output [N, C], weights [N, L]. */
export function emitContextAttention(g: Graph, h: string, m: ContextAttention, mask: string | null): { y: string; weights: string } {
  const A = m.context.shape[0]!;
  const u = g.one('Tanh', [emitLinear(g, h, m.proj)]);
  const scores = g.one('Squeeze', [g.one('MatMul', [u, g.const('context', f32(m.context), [A, 1])]), g.ints('axes', [-1])]);
  const weights = maskedSoftmax(g, scores, mask);
  return { y: weightedSum(g, weights, h), weights };
}

/** HAN with Transformer encoders: ids [batch, sentences, words] (int64), keyMask (bool, true = real word) → y, wordWeights, sentenceWeights. */
function planHan(g: Graph, m: HierarchicalAttentionNetwork): Plan {
  if (!(m.wordEncoder instanceof TransformerEncoder) || !(m.sentenceEncoder instanceof TransformerEncoder)) {
    throw unsupported('HierarchicalAttentionNetwork', "with GRU encoders is not supported (encoder: 'transformer' exports)");
  }
  const E = m.options.embedDim, C = m.docDim;
  const BS = g.one('Slice', [g.one('Shape', ['ids']), g.ints('start', [0]), g.ints('end', [2])]);       // [B, S]
  const W = g.one('Slice', [g.one('Shape', ['ids']), g.ints('start', [2]), g.ints('end', [3])]);
  const flat = (x: string, tail: string[]): string => g.one('Reshape', [x, g.one('Concat', [g.ints('minus1', [-1]), ...tail], { axis: 0 })]);
  const words = flat(g.one('Gather', [g.const('embedding', f32(m.embedding), [...m.embedding.shape]), 'ids'], { axis: 0 }), [W, g.ints('e', [E])]); // [B·S, W, E]
  const wm = flat('keyMask', [W]);                                                                           // [B·S, W]
  const wordLevel = emitContextAttention(g, emitEncoder(g, words, m.wordEncoder, keyMask4(g, wm)), m.wordAttention, wm);
  const sentences = g.one('Reshape', [wordLevel.y, g.one('Concat', [BS, g.ints('c', [C])], { axis: 0 })]);  // [B, S, C]
  const sentReal = g.one('Cast', [g.one('ReduceMax', [g.one('Cast', ['keyMask'], { to: 1 })], { axes: [-1], keepdims: 0 })], { to: 9 }); // [B, S]
  const sentLevel = emitContextAttention(g, emitEncoder(g, sentences, m.sentenceEncoder, keyMask4(g, sentReal)), m.sentenceAttention, sentReal);
  const y = m.classifier ? emitLinear(g, sentLevel.y, m.classifier) : sentLevel.y;
  return {
    inputs: [{ name: 'ids', dtype: 'int64', dims: ['batch', 'sentences', 'words'] }, { name: 'keyMask', dtype: 'bool', dims: ['batch', 'sentences', 'words'] }],
    outputs: [
      outOf(y, 'y', ['batch', m.classifier ? m.classifier.outFeatures : C]),
      outOf(g.one('Reshape', [wordLevel.weights, g.one('Shape', ['ids'])]), 'wordWeights', ['batch', 'sentences', 'words']),
      outOf(sentLevel.weights, 'sentenceWeights', ['batch', 'sentences']),
    ],
  };
}

const contextAttentionOnnx: LayerExport<ContextAttention> = {
  cls: ContextAttention, options: () => keyMaskOnly, plan: (g, m, o) => poolingPlan(m.options.embedDim, o, (mask) => emitContextAttention(g, 'x', m, mask)),
};

// `keyMask` (the word mask) is always an input: the sentence mask is derived from it
const hierarchicalAttentionNetworkOnnx: LayerExport<HierarchicalAttentionNetwork> = {
  cls: HierarchicalAttentionNetwork, options: () => ({}), plan: (g, m) => planHan(g, m),
};

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { ContextAttention: contextAttentionOnnx, HierarchicalAttentionNetwork: hierarchicalAttentionNetworkOnnx };
