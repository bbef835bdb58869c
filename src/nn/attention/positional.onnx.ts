/** ONNX emission of the positional encodings, beside their forward: x + PE[positions of x]. */
import { Graph, f32, positions } from '../../onnx/graph/graph.js';
import { sequenceLayer, type LayerExport } from '../../onnx/graph/layerExport.js';
import { LearnedPositionalEmbedding, SinusoidalPositionalEncoding } from './positional.js';

function emitSinusoidal(g: Graph, x: string, m: SinusoidalPositionalEncoding): string {
  // PE[p, 2i] = sin(p / base^(2i/dim)), PE[p, 2i+1] = cos(…)
  const dim = m.options.embedDim, base = m.options.base ?? 10000;
  const inv = Float32Array.from({ length: dim }, (_, i) => 1 / Math.pow(base, (i - (i % 2)) / dim));
  const angles = g.one('Mul', [g.one('Unsqueeze', [g.one('Cast', [positions(g, x)], { to: 1 }), g.ints('axes', [1])]), g.const('pe_inv_freq', inv, [1, dim])]);
  const even = g.one('Cast', [g.const('pe_even', Float32Array.from({ length: dim }, (_, i) => (i % 2 === 0 ? 1 : 0)), [dim])], { to: 9 });
  return g.one('Add', [x, g.one('Where', [even, g.one('Sin', [angles]), g.one('Cos', [angles])])]);
}

const sinusoidalPositionalEncodingOnnx: LayerExport<SinusoidalPositionalEncoding> = sequenceLayer(SinusoidalPositionalEncoding, {
  keyMask: false, widths: (m) => ({ C: m.options.embedDim, out: m.options.embedDim }), emit: (g, x, m) => emitSinusoidal(g, x, m),
});

const learnedPositionalEmbeddingOnnx: LayerExport<LearnedPositionalEmbedding> = sequenceLayer(LearnedPositionalEmbedding, {
  keyMask: false, widths: (m) => ({ C: m.options.embedDim, out: m.options.embedDim }),
  emit: (g, x, m) => g.one('Add', [x, g.one('Gather', [g.const('pos', f32(m.weight), [...m.weight.shape]), positions(g, x)], { axis: 0 })]),
});

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { SinusoidalPositionalEncoding: sinusoidalPositionalEncodingOnnx, LearnedPositionalEmbedding: learnedPositionalEmbeddingOnnx };
