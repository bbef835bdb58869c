/**
 * ONNX export (opset 17, our protobuf writer): inference graphs of the attention layers with
 * dynamic batch and sequence axes, meant to be run by ONNX Runtime. Supported: Linear,
 * LayerNorm, MultiHeadAttention (self-attention, a key mask as a bool input), the Transformer
 * encoder layer and stack (pre- or post-norm, ReLU or exact GELU), and AttentionPooling.
 * Anything else is refused with an error naming the layer.
 *
 * Masks: padded keys get −1e9 before the softmax. A query row whose keys are all masked has
 * no defined output in ONNX (attnkit returns zeros); export models whose rows keep one real key.
 */
import { Tensor } from '../tensor/tensor.js';
import { ConfigError } from '../errors.js';
import { noGrad } from '../autograd/tape.js';
import { linear } from '../ops/linalg.js';
import type { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { LayerNorm } from '../nn/layerNorm.js';
import { MultiHeadAttention } from '../nn/attention/multihead.js';
import { TransformerEncoder, TransformerEncoderLayer } from '../nn/attention/transformer.js';
import { AttentionPooling } from '../nn/attention/pooling.js';
import { encodeOnnxModel, onnxFloat, type OnnxNode, type OnnxTensor, type OnnxValue } from './proto.js';

const SUPPORTED = 'Linear, LayerNorm, MultiHeadAttention (self-attention), TransformerEncoderLayer, TransformerEncoder, AttentionPooling';

/** Builds a graph node by node; every value name is unique. */
class Graph {
  nodes: OnnxNode[] = [];
  inits: OnnxTensor[] = [];
  private n = 0;
  fresh(hint: string): string { return `${hint}_${this.n++}`; }
  const(hint: string, data: Float32Array | BigInt64Array, dims: number[]): string {
    const name = this.fresh(hint);
    this.inits.push({ name, dtype: data instanceof BigInt64Array ? 'int64' : 'float', dims, data });
    return name;
  }
  ints(hint: string, values: number[]): string { return this.const(hint, BigInt64Array.from(values.map(BigInt)), [values.length]); }
  scalar(hint: string, v: number): string { return this.const(hint, Float32Array.from([v]), []); }
  op(op: string, inputs: string[], attrs: OnnxNode['attrs'] = {}, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(op.toLowerCase()));
    this.nodes.push({ op, inputs, outputs: outs, attrs });
    return outs;
  }
  one(op: string, inputs: string[], attrs: OnnxNode['attrs'] = {}): string { return this.op(op, inputs, attrs)[0]; }
}

const f32 = (t: Tensor): Float32Array => Float32Array.from(t.data);

/** y = x·Wᵀ + b with W stored transposed ([in, out]) so MatMul needs no Transpose. */
function emitLinear(g: Graph, x: string, weight: Tensor, bias: Tensor | null): string {
  const [out, inp] = weight.shape as [number, number];
  const wt = new Float32Array(inp * out);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) wt[i * out + o] = weight.data[o * inp + i];
  let y = g.one('MatMul', [x, g.const('weight', wt, [inp, out])]);
  if (bias) y = g.one('Add', [y, g.const('bias', f32(bias), [out])]);
  return y;
}

function emitLayerNorm(g: Graph, x: string, ln: LayerNorm): string {
  const C = ln.normalizedShape.reduce((a, b) => a * b, 1);
  const scale = ln.weight ? f32(ln.weight) : new Float32Array(C).fill(1), bias = ln.bias ? f32(ln.bias) : new Float32Array(C);
  return g.one('LayerNormalization', [x, g.const('ln_scale', scale, [C]), g.const('ln_bias', bias, [C])], { axis: -1, epsilon: onnxFloat(ln.options.eps ?? 1e-5) });
}

function emitGelu(g: Graph, x: string): string {
  // exact GELU: ½·x·(1 + erf(x/√2))
  const e = g.one('Erf', [g.one('Div', [x, g.scalar('sqrt2', Math.SQRT2)])]);
  return g.one('Mul', [g.one('Mul', [x, g.one('Add', [e, g.scalar('one', 1)])]), g.scalar('half', 0.5)]);
}

function checkMha(m: MultiHeadAttention): void {
  const o = m as unknown as { rope: unknown; alibi: boolean; reparams: unknown[] };
  if (o.rope || o.alibi) throw new ConfigError('exportOnnx: MultiHeadAttention with rope or alibi is not supported yet');
  if (m.numKVHeads !== m.numHeads) throw new ConfigError('exportOnnx: MultiHeadAttention with grouped key/value heads is not supported yet');
  if (!m.inProjWeight) throw new ConfigError('exportOnnx: MultiHeadAttention with separate kDim/vDim projections is not supported yet');
  if (o.reparams.length) throw new ConfigError('exportOnnx: MultiHeadAttention with σReparam is not supported yet');
}

/** Heads split: [B, L, C] → [B, H, L, D]. */
function heads(g: Graph, x: string, H: number, D: number): string {
  return g.one('Transpose', [g.one('Reshape', [x, g.ints('shape', [0, 0, H, D])])], { perm: [0, 2, 1, 3] });
}

/** softmax(q·kᵀ/√D + maskBias)·v with q [?, H, T, D] (batch may be 1 and broadcast), k, v [B, H, S, D] → merged [B, T, C]. */
function attend(g: Graph, q: string, k: string, v: string, maskBias: string | null, m: MultiHeadAttention): string {
  const scores = g.one('Mul', [g.one('MatMul', [q, g.one('Transpose', [k], { perm: [0, 1, 3, 2] })]), g.scalar('scale', 1 / Math.sqrt(m.headDim))]);
  const p = g.one('Softmax', [maskBias ? g.one('Add', [scores, maskBias]) : scores], { axis: -1 });
  const o = g.one('Transpose', [g.one('MatMul', [p, v])], { perm: [0, 2, 1, 3] });
  return emitLinear(g, g.one('Reshape', [o, g.ints('shape', [0, 0, m.embedDim])]), m.outProj.weight, m.outProj.bias);
}

function emitSelfAttention(g: Graph, x: string, m: MultiHeadAttention, maskBias: string | null): string {
  checkMha(m);
  const C = m.embedDim, H = m.numHeads, D = m.headDim;
  const qkv = emitLinear(g, x, m.inProjWeight!, m.inProjBias);
  const [q, k, v] = g.op('Split', [qkv, g.ints('split', [C, C, C])], { axis: -1 }, 3);
  return attend(g, heads(g, q, H, D), heads(g, k, H, D), heads(g, v, H, D), maskBias, m);
}

function emitEncoderLayer(g: Graph, x: string, l: TransformerEncoderLayer, maskBias: string | null): string {
  const sa = (h: string): string => emitSelfAttention(g, h, l.selfAttn, maskBias);
  const ff = (h: string): string => {
    const a = emitLinear(g, h, l.linear1.weight, l.linear1.bias);
    return emitLinear(g, l.activation === 'gelu' ? emitGelu(g, a) : g.one('Relu', [a]), l.linear2.weight, l.linear2.bias);
  };
  if (l.options.normFirst) {
    const y = g.one('Add', [x, sa(emitLayerNorm(g, x, l.norm1))]);
    return g.one('Add', [y, ff(emitLayerNorm(g, y, l.norm2))]);
  }
  const y = emitLayerNorm(g, g.one('Add', [x, sa(x)]), l.norm1);
  return emitLayerNorm(g, g.one('Add', [y, ff(y)]), l.norm2);
}

/** The additive mask [B, 1, 1, S] from a bool key mask [B, S] (true = real): 0 or −1e9. */
function maskBiasOf(g: Graph, keyMask: string): string {
  const m = g.one('Cast', [keyMask], { to: 1 });
  const bias = g.one('Mul', [g.one('Sub', [g.scalar('one', 1), m]), g.scalar('neg', -1e9)]);
  return g.one('Unsqueeze', [bias, g.ints('axes', [1, 2])]);
}

export interface ExportOptions {
  /** Feature size C of the input x [batch, seq, C] (read from the model when it can be). */
  inputDim?: number;
  /** Add a bool input `keyMask` [batch, seq] (true = real token). Default true for attention layers. */
  keyMask?: boolean;
}

/**
 * Exports a model's inference graph. Inputs: `x` [batch, seq, C] (float) and, for attention
 * layers, `keyMask` [batch, seq] (bool); output `y`. Batch and sequence are dynamic axes.
 *
 * @example
 * const bytes = exportOnnx(encoder);               // run it: new ort.InferenceSession.create(bytes)
 */
export function exportOnnx(model: Module, options: ExportOptions = {}): Uint8Array {
  return noGrad(() => {
    const g = new Graph();
    const attention = model instanceof MultiHeadAttention || model instanceof TransformerEncoderLayer || model instanceof TransformerEncoder || model instanceof AttentionPooling;
    const withMask = attention && (options.keyMask ?? true);
    let C: number, outDims: (number | string)[];
    const x = 'x';
    const maskBias = withMask ? maskBiasOf(g, 'keyMask') : null;
    let y: string;
    if (model instanceof Linear) {
      C = model.inFeatures; outDims = ['batch', 'seq', model.outFeatures];
      y = emitLinear(g, x, model.weight, model.bias);
    } else if (model instanceof LayerNorm) {
      C = model.normalizedShape[0]; outDims = ['batch', 'seq', C];
      y = emitLayerNorm(g, x, model);
    } else if (model instanceof MultiHeadAttention) {
      C = model.embedDim; outDims = ['batch', 'seq', C];
      y = emitSelfAttention(g, x, model, maskBias);
    } else if (model instanceof TransformerEncoderLayer) {
      C = model.options.dModel; outDims = ['batch', 'seq', C];
      y = emitEncoderLayer(g, x, model, maskBias);
    } else if (model instanceof TransformerEncoder) {
      C = model.options.dModel; outDims = ['batch', 'seq', C];
      y = model.layers.reduce((h, l) => emitEncoderLayer(g, h, l, maskBias), x);
      if (model.norm) y = emitLayerNorm(g, y, model.norm);
    } else if (model instanceof AttentionPooling) {
      const m = model.attn;
      checkMha(m);
      C = m.embedDim;
      const Q = model.numQueries, H = m.numHeads, D = m.headDim;
      outDims = Q === 1 ? ['batch', C] : ['batch', Q, C];
      // the learned queries are constants: project them here, [1, H, Q, D]
      const wq = new Tensor(m.inProjWeight!.data.slice(0, C * C), [C, C]);
      const bq = m.inProjBias ? new Tensor(m.inProjBias.data.slice(0, C), [C]) : null;
      const qp = linear(model.queries, wq, bq);                                           // [Q, C]
      const q = new Float32Array(H * Q * D);
      for (let h = 0; h < H; h++) for (let i = 0; i < Q; i++) for (let d = 0; d < D; d++) q[(h * Q + i) * D + d] = qp.data[i * C + h * D + d];
      const kvW = new Tensor(m.inProjWeight!.data.slice(C * C), [2 * C, C]);
      const kvB = m.inProjBias ? new Tensor(m.inProjBias.data.slice(C), [2 * C]) : null;
      const [k, v] = g.op('Split', [emitLinear(g, x, kvW, kvB), g.ints('split', [C, C])], { axis: -1 }, 2);
      const o = attend(g, g.const('queries', q, [1, H, Q, D]), heads(g, k, H, D), heads(g, v, H, D), maskBias, m);
      y = Q === 1 ? g.one('Squeeze', [o, g.ints('axes', [1])]) : o;
    } else {
      throw new ConfigError(`exportOnnx: ${model.constructor.name} is not supported (supported: ${SUPPORTED})`);
    }
    const last = g.nodes.at(-1)!;
    last.outputs = last.outputs.map((o) => (o === y ? 'y' : o));
    const inputs: OnnxValue[] = [{ name: x, dtype: 'float', dims: ['batch', 'seq', options.inputDim ?? C] }];
    if (withMask) inputs.push({ name: 'keyMask', dtype: 'bool', dims: ['batch', 'seq'] });
    return encodeOnnxModel({ name: model.constructor.name, nodes: g.nodes, inputs, outputs: [{ name: 'y', dtype: 'float', dims: outDims }], initializers: g.inits });
  });
}
