/** ONNX emission of the Fusion combinator, beside its forward: its children emit through the graph's registry lookup. */
import { Graph, mixBranches, stackBranches } from '../../onnx/graph/graph.js';
import { sequenceLayer, type LayerExport } from '../../onnx/graph/layerExport.js';
import { emitLinear } from '../linear.onnx.js';
import { emitLayerNorm } from '../layerNorm.onnx.js';
import { Fusion } from './fusion.js';

function emitFusion(g: Graph, x: string, m: Fusion, keyMask: string | null): string {
  const h = emitLayerNorm(g, x, m.norm);
  const ys = stackBranches(g, m.mechanisms.map((b) => g.sequence(h, b, keyMask)));
  let w: string;
  if (m.gateLogits) {
    const z = Array.from(m.gateLogits.data), top = Math.max(...z), e = z.map((v) => Math.exp(v - top)), s = e.reduce((a, b) => a + b, 0);
    w = g.const('fusion_gates', Float32Array.from(e.map((v) => v / s)), [1, 1, z.length]);
  } else w = g.one('Sigmoid', [emitLinear(g, h, m.gateProj!)]);
  return g.one('Add', [x, mixBranches(g, w, ys)]);
}

const fusionOnnx: LayerExport<Fusion> = sequenceLayer(Fusion, { keyMask: true, widths: (m) => ({ C: m.options.embedDim, out: m.options.embedDim }), emit: emitFusion });

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { Fusion: fusionOnnx };
