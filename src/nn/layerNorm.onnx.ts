/** ONNX emission of LayerNorm, beside its forward (one normalised axis: LayerNormalization). */
import { Graph, f32, unsupported } from '../onnx/graph/graph.js';
import { onnxFloat } from '../onnx/graph/proto.js';
import { sequenceLayer, type LayerExport } from '../onnx/graph/layerExport.js';
import { LayerNorm } from './layerNorm.js';

export function emitLayerNorm(g: Graph, x: string, ln: LayerNorm): string {
  const C = ln.normalizedShape.reduce((a, b) => a * b, 1);
  if (ln.normalizedShape.length !== 1) throw unsupported('LayerNorm', `over ${ln.normalizedShape.length} dimensions is not supported (one)`);
  const scale = ln.weight ? f32(ln.weight) : new Float32Array(C).fill(1), bias = ln.bias ? f32(ln.bias) : new Float32Array(C);
  return g.one('LayerNormalization', [x, g.const('ln_scale', scale, [C]), g.const('ln_bias', bias, [C])], { axis: -1, epsilon: onnxFloat(ln.options.eps ?? 1e-5) });
}

const layerNormOnnx: LayerExport<LayerNorm> = sequenceLayer(LayerNorm, {
  keyMask: false, widths: (m) => ({ C: m.normalizedShape[0], out: m.normalizedShape[0] }), emit: (g, x, m) => emitLayerNorm(g, x, m),
});

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { LayerNorm: layerNormOnnx };
