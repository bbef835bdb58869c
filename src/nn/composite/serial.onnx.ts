/** ONNX emission of the Serial combinator, beside its forward: its children emit through the graph's registry lookup. */
import { Graph } from '../../onnx/graph/graph.js';
import { sequenceLayer, type LayerExport } from '../../onnx/graph/layerExport.js';
import { emitLayerNorm } from '../layerNorm.onnx.js';
import { Serial } from './serial.js';

function emitSerial(g: Graph, x: string, m: Serial, keyMask: string | null): string {
  const residual = m.options.residual ?? true, norm = m.options.norm ?? 'pre';
  return m.layers.reduce((y, layer, i) => {
    const inp = norm === 'pre' ? emitLayerNorm(g, y, m.norms[i]) : y;
    let out = g.sequence(inp, layer, keyMask);
    if (residual) out = g.one('Add', [y, out]);
    return norm === 'post' ? emitLayerNorm(g, out, m.norms[i]) : out;
  }, x);
}

const serialOnnx: LayerExport<Serial> = sequenceLayer(Serial, { keyMask: true, widths: (m) => ({ C: m.options.embedDim, out: m.options.embedDim }), emit: emitSerial });

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { Serial: serialOnnx };
