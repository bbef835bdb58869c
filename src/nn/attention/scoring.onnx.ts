/** ONNX emission of the scoring-function attention layer, beside its forward: `query`, `key`, `value`, `keyMask` → `y`, `weights`. */
import { Graph, maskedSoftmax } from '../../onnx/graph/graph.js';
import { maskIn, outOf, seqIn, type LayerExport } from '../../onnx/graph/layerExport.js';
import { emitLinear } from '../linear.onnx.js';
import { Attention } from './scoring.js';

/** The raw scores a(q, k) [B, T, S] of the scoring-function layer. */
export function emitScores(g: Graph, q: string, k: string, m: Attention): string {
  const kt = g.one('Transpose', [k], { perm: [0, 2, 1] });
  switch (m.score) {
    case 'dot': return g.one('MatMul', [q, kt]);
    case 'scaledDot': return g.one('Mul', [g.one('MatMul', [q, kt]), g.scalar(1 / Math.sqrt(m.queryDim))]);
    case 'general': return g.one('MatMul', [emitLinear(g, q, m.w!), kt]);
    case 'additive': {
      const hq = g.one('Unsqueeze', [emitLinear(g, q, m.wq!), g.ints('axes', [2])]), hk = g.one('Unsqueeze', [emitLinear(g, k, m.wk!), g.ints('axes', [1])]);
      return g.one('Squeeze', [emitLinear(g, g.one('Tanh', [g.one('Add', [hq, hk])]), m.v!), g.ints('axes', [-1])]);
    }
    case 'cosine': {
      const unit = (x: string): string => g.one('Div', [x, g.one('Sqrt', [g.one('Add', [g.one('ReduceSum', [g.one('Mul', [x, x]), g.ints('axes', [-1])], { keepdims: 1 }), g.scalar(1e-12)])])]);
      return g.one('Mul', [g.one('MatMul', [unit(q), g.one('Transpose', [unit(k)], { perm: [0, 2, 1] })]), g.scalar(Math.exp(m.logScale!.data[0]!))]);
    }
  }
}

const attentionOnnx: LayerExport<Attention> = {
  cls: Attention, options: () => ({ keyMask: 'any', valueDim: 'any' }),
  plan: (g, m, o) => {
    const masked = o.keyMask ?? true, Dv = o.valueDim ?? m.keyDim;
    const weights = maskedSoftmax(g, emitScores(g, 'query', 'key', m), masked ? g.one('Unsqueeze', ['keyMask', g.ints('axes', [1])]) : null);
    return {
      inputs: [seqIn('query', 'queries', m.queryDim), seqIn('key', 'keys', m.keyDim), seqIn('value', 'keys', Dv), ...(masked ? [maskIn('keyMask', 'keys')] : [])],
      outputs: [outOf(g.one('MatMul', [weights, 'value']), 'y', ['batch', 'queries', Dv]), outOf(weights, 'weights', ['batch', 'queries', 'keys'])],
    };
  },
};

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { Attention: attentionOnnx };
