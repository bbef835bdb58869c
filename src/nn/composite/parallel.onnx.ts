/** ONNX emission of the Parallel combinator, beside its forward: its children emit through the graph's registry lookup. */
import { Graph, mixBranches, stackBranches } from '../../onnx/graph/graph.js';
import { sequenceLayer, type LayerExport } from '../../onnx/graph/layerExport.js';
import { emitLinear } from '../linear.onnx.js';
import { Parallel } from './parallel.js';

function emitParallel(g: Graph, x: string, m: Parallel, keyMask: string | null): string {
  const ys = m.branches.map((b) => g.sequence(x, b, keyMask));
  switch (m.options.merge) {
    case 'concat': {
      const c = g.one('Concat', ys, { axis: -1 });
      return m.proj ? emitLinear(g, c, m.proj) : c;
    }
    case 'sum': return ys.reduce((a, b) => g.one('Add', [a, b]));
    case 'mean': return g.one('Div', [ys.reduce((a, b) => g.one('Add', [a, b])), g.scalar(ys.length)]);
    case 'gated': return mixBranches(g, g.one('Sigmoid', [emitLinear(g, g.one('Concat', ys, { axis: -1 }), m.gateProj!)]), stackBranches(g, ys));
    case 'attention': {
      const s = stackBranches(g, ys);                                                              // [B, T, n, C]
      const scores = g.one('Squeeze', [emitLinear(g, g.one('Tanh', [emitLinear(g, s, m.scoreW!)]), m.scoreV!), g.ints('axes', [-1])]);
      return mixBranches(g, g.one('Softmax', [scores], { axis: -1 }), s);
    }
  }
}

const parallelOnnx: LayerExport<Parallel> = sequenceLayer(Parallel, { keyMask: true, widths: (m) => ({ C: m.options.embedDim, out: m.outDim }), emit: emitParallel });

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { Parallel: parallelOnnx };
