/** ONNX emission of Linear, beside its forward: y = x·Wᵀ + b, σReparam folded into the weight. */
import { Graph, emitMatmulBias } from '../onnx/graph/graph.js';
import { sequenceLayer, type LayerExport } from '../onnx/graph/layerExport.js';
import { Linear } from './linear.js';

/** A Linear layer on x [.., in] → [.., out]. */
export function emitLinear(g: Graph, x: string, l: Linear): string {
  return emitMatmulBias(g, x, l.effectiveWeight(), l.bias);
}

const linearOnnx: LayerExport<Linear> = sequenceLayer(Linear, {
  keyMask: false, widths: (m) => ({ C: m.inFeatures, out: m.outFeatures }), emit: (g, x, m) => emitLinear(g, x, m),
});

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { Linear: linearOnnx };
