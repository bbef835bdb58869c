/**
 * ONNX emission of SparseSelfAttention, beside its forward: the sliding-window, block and
 * global-token patterns attnkit computes with gathered kernels become one dense boolean mask
 * built in the graph from the dynamic length, so one exported model serves every length.
 */
import { Graph, and, emitAttend, grid, keyMask4, mergeHeads, splitHeads, unsupported } from '../../onnx/graph/graph.js';
import { sequenceLayer, type LayerExport } from '../../onnx/graph/layerExport.js';
import { emitLinear } from '../linear.onnx.js';
import { SparseSelfAttention } from './sparse.js';

/** The mask [T, T] (bool) of a sparse pattern, built from the dynamic length. */
function sparseMask(g: Graph, x: string, m: SparseSelfAttention): string {
  const o = m.options;
  if (o.pattern === 'bigBird') throw unsupported('SparseSelfAttention', "with the 'bigBird' pattern is not supported (its random blocks depend on the length); use 'window' or 'block'");
  const { i, j, r } = grid(g, x);
  let allowed: string;
  if (o.pattern === 'window') {
    const w = o.window ?? 8, d = o.dilation ?? 1;
    const diff = g.one('Sub', [j, i]);                                                      // [T, T] int64
    const lo = g.one('GreaterOrEqual', [diff, g.ints('lo', [-w * d])]);
    const hi = g.one('LessOrEqual', [diff, g.ints('hi', [o.oneSided ? 0 : w * d])]);
    allowed = g.one('And', [lo, hi]);
    if (d > 1) allowed = g.one('And', [allowed, g.one('Equal', [g.one('Mod', [diff, g.ints('d', [d])], { fmod: 0 }), g.ints('z', [0])])]);
  } else {
    const b = g.ints('block', [o.blockSize ?? 16]);
    allowed = g.one('Equal', [g.one('Div', [i, b]), g.one('Div', [j, b])]);
  }
  if (o.globalTokens?.length) {
    // positions in the global list: [T] bool, as a row and as a column
    const hits = g.one('Cast', [g.one('Equal', [g.one('Unsqueeze', [r, g.ints('axes', [1])]), g.ints('globals', o.globalTokens)])], { to: 1 });
    const isGlobal = g.one('Cast', [g.one('ReduceMax', [hits], { axes: [1], keepdims: 0 })], { to: 9 }); // [T]
    const row = g.one('Unsqueeze', [isGlobal, g.ints('axes', [1])]), col = g.one('Unsqueeze', [isGlobal, g.ints('axes', [0])]);
    allowed = g.one('Or', [allowed, g.one('Or', [row, col])]);
  }
  return allowed;
}

export function emitSparse(g: Graph, x: string, m: SparseSelfAttention, keyMask: string | null): string {
  if (m.relativeBias) throw unsupported('SparseSelfAttention', 'with relativeBias is not supported');
  const C = m.options.embedDim, H = m.options.numHeads, D = C / H;
  const [q, k, v] = g.op('Split', [emitLinear(g, x, m.inProj), g.ints('split', [C, C, C])], { axis: -1 }, 3).map((t) => splitHeads(g, t, H, D));
  const o = emitAttend(g, q, k, v, and(g, sparseMask(g, x, m), keyMask && keyMask4(g, keyMask)), 1 / Math.sqrt(D));
  return emitLinear(g, mergeHeads(g, o, C), m.outProj);
}

const sparseSelfAttentionOnnx: LayerExport<SparseSelfAttention> = sequenceLayer(SparseSelfAttention, {
  keyMask: true, widths: (m) => ({ C: m.options.embedDim, out: m.options.embedDim }), emit: emitSparse,
});

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { SparseSelfAttention: sparseSelfAttentionOnnx };
