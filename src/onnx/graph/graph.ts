/**
 * The ONNX graph builder every layer's emitter writes to (`<layer>.onnx.ts` beside the layer):
 * nodes, initializers and unique value names, plus the small emitters many layers share (matmul
 * with bias, GELU, head split, masked attention, masks). It knows tensors, not modules, so the
 * layers' emitters can import it (lint rule 'attnkit/layers': onnx/graph sits below nn/).
 */
import type { Tensor } from '../../tensor/tensor.js';
import { ConfigError } from '../../errors.js';
import { type OnnxNode, type OnnxTensor } from './proto.js';

/** Input width C and output width C′ of a sequence layer, when the layer fixes them. */
export interface Widths { C: number | null; out: number | null }

/** How one class of sequence layer emits inside a graph: x [B, T, C] (and the key mask, when it takes one) → [B, T, C′]. */
export interface SequenceEmitter<M> {
  /**
   * Takes the bool key-mask input: its output depends on other tokens, or it is a block (whose
   * forward takes one). Dropout keeps the input too, so it can stand in for any of them.
   */
  keyMask: boolean;
  widths(m: M): Widths;
  /** `keyMask` is the bool [B, T] value name (null: every token real). */
  emit(g: Graph, x: string, m: M, keyMask: string | null): string;
}

/**
 * Where a graph finds the sequence emitter of a child layer (a composite's branch): the
 * exporter's registry, given to the graph so that no layer's emitter imports it.
 */
export interface SequenceLookup {
  of(m: object): SequenceEmitter<object> | null;
  /** The class names it knows, for the refusal. */
  names: readonly string[];
}

const NO_LAYERS: SequenceLookup = { of: () => null, names: [] };

/** Builds a graph node by node; every value name is unique. */
export class Graph {
  nodes: OnnxNode[] = [];
  inits: OnnxTensor[] = [];
  private n = 0;
  private readonly scalars = new Map<number, string>();
  constructor(private readonly layers: SequenceLookup = NO_LAYERS) {}
  /** A new internal value name; `#` keeps internal names apart from input names (which may not contain it). */
  fresh(hint: string): string { return `${hint}#${this.n++}`; }
  const(hint: string, data: Float32Array | BigInt64Array, dims: number[]): string {
    const name = this.fresh(hint);
    // 8-byte elements: the int64 array (the only other kind is float32)
    this.inits.push({ name, dtype: data.BYTES_PER_ELEMENT === 8 ? 'int64' : 'float', dims, data });
    return name;
  }
  ints(hint: string, values: number[]): string { return this.const(hint, BigInt64Array.from(values.map(BigInt)), [values.length]); }
  /** A float scalar constant (one initializer per distinct value). */
  scalar(v: number): string {
    let name = this.scalars.get(v);
    if (!name) { name = this.const('c', Float32Array.from([v]), []); this.scalars.set(v, name); }
    return name;
  }
  op(op: string, inputs: string[], attrs: OnnxNode['attrs'] = {}, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(op.toLowerCase()));
    this.nodes.push({ op, inputs, outputs: outs, attrs });
    return outs;
  }
  one(op: string, inputs: string[], attrs: OnnxNode['attrs'] = {}): string { return this.op(op, inputs, attrs)[0]; }
  /** Renames the value `from` (an output of some node) to `to`, e.g. a graph output. */
  rename(from: string, to: string): void {
    for (const node of this.nodes) {
      node.outputs = node.outputs.map((o) => (o === from ? to : o));
      node.inputs = node.inputs.map((i) => (i === from ? to : i));
    }
  }
  /**
   * Any exportable sequence layer `m` (a composite's child): x [B, T, C] → [B, T, C′], found by
   * its exact class. `keyMask` is the bool [B, T] value name (null: every token real).
   */
  sequence(x: string, m: object, keyMask: string | null): string {
    const e = this.layers.of(m);
    if (!e) throw unsupported(m.constructor.name, `is not supported inside a sequence layer (supported: ${this.layers.names.join(', ')})`);
    return e.emit(this, x, m, keyMask);
  }
}

export const f32 = (t: Tensor): Float32Array => Float32Array.from(t.data);

/** The refusal every exporter uses: names the layer and what is supported. */
export function unsupported(what: string, detail: string): ConfigError {
  return new ConfigError(`exportOnnx: ${what} ${detail}`);
}

/** y = x·Wᵀ + b with W stored transposed ([in, out]) so MatMul needs no Transpose. */
export function emitMatmulBias(g: Graph, x: string, weight: Tensor, bias: Tensor | null): string {
  const [out, inp] = weight.shape as [number, number];
  const wt = new Float32Array(inp * out);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) wt[i * out + o] = weight.data[o * inp + i];
  let y = g.one('MatMul', [x, g.const('weight', wt, [inp, out])]);
  if (bias) y = g.one('Add', [y, g.const('bias', f32(bias), [out])]);
  return y;
}

/** Exact GELU: ½·x·(1 + erf(x/√2)). */
export function emitGelu(g: Graph, x: string): string {
  const e = g.one('Erf', [g.one('Div', [x, g.scalar(Math.SQRT2)])]);
  return g.one('Mul', [g.one('Mul', [x, g.one('Add', [e, g.scalar(1)])]), g.scalar(0.5)]);
}

/** Heads split: [B, L, H·D] → [B, H, L, D]. */
export function splitHeads(g: Graph, x: string, H: number, D: number): string {
  return g.one('Transpose', [g.one('Reshape', [x, g.ints('shape', [0, 0, H, D])])], { perm: [0, 2, 1, 3] });
}

/** Heads merged: [B, H, L, D] → [B, L, H·D]. */
export function mergeHeads(g: Graph, x: string, C: number): string {
  return g.one('Reshape', [g.one('Transpose', [x], { perm: [0, 2, 1, 3] }), g.ints('shape', [0, 0, C])]);
}

/**
 * softmax(q·kᵀ·scale, masked)·v for q [?, H, T, D], k [B, H, S, D], v [B, H, S, Dv] → [B, H, T, Dv].
 * `allowed` is a bool mask broadcastable to [B, H, T, S] (true = may attend); a row with no
 * allowed key gives zeros, as attnkit's attention does. `bias` (float, broadcastable) is added
 * to the scores first (ALiBi).
 */
export function emitAttend(g: Graph, q: string, k: string, v: string, allowed: string | null, scale: number, bias: string | null = null): string {
  let scores = g.one('Mul', [g.one('MatMul', [q, g.one('Transpose', [k], { perm: [0, 1, 3, 2] })]), g.scalar(scale)]);
  if (bias) scores = g.one('Add', [scores, bias]);
  if (allowed) scores = g.one('Where', [allowed, scores, g.scalar(-1e9)]);
  let p = g.one('Softmax', [scores], { axis: -1 });
  if (allowed) p = g.one('Mul', [p, rowHasKey(g, allowed)]);
  return g.one('MatMul', [p, v]);
}

/** 1 where a mask row [.., T, S] has any true entry, else 0: [.., T, 1] float. */
export function rowHasKey(g: Graph, allowed: string): string {
  return g.one('ReduceMax', [g.one('Cast', [allowed], { to: 1 })], { axes: [-1], keepdims: 1 });
}

/** A bool [B, T] key mask as [B, 1, 1, T] (broadcast over heads and queries). */
export function keyMask4(g: Graph, keyMask: string): string {
  return g.one('Unsqueeze', [keyMask, g.ints('axes', [1, 2])]);
}

/** Zeroes padded positions: x [B, T, C], keyMask [B, T] bool. */
export function zeroPadded(g: Graph, x: string, keyMask: string | null): string {
  return keyMask ? g.one('Where', [g.one('Unsqueeze', [keyMask, g.ints('axes', [2])]), x, g.scalar(0)]) : x;
}

/** Both masks (bool) or whichever exists. */
export function and(g: Graph, a: string | null, b: string | null): string | null {
  return a && b ? g.one('And', [a, b]) : a ?? b;
}

/** Dimension `axis` of x as an int64 scalar. */
export function dimOf(g: Graph, x: string, axis: number): string {
  return g.one('Gather', [g.one('Shape', [x]), g.const('axis', BigInt64Array.from([BigInt(axis)]), [])], { axis: 0 });
}

/** int64 scalar constant. */
export function int64(g: Graph, v: number): string {
  return g.const('i64', BigInt64Array.from([BigInt(v)]), []);
}

/** The positions start…start+L−1 (int64 [L]) of the sequence axis `axis` (default 1) of x; `start` an int64 scalar name. */
export function positions(g: Graph, x: string, options: { axis?: number; start?: string } = {}): string {
  const L = dimOf(g, x, options.axis ?? 1);
  if (!options.start) return g.one('Range', [int64(g, 0), L, int64(g, 1)]);
  return g.one('Range', [options.start, g.one('Add', [options.start, L]), int64(g, 1)]);
}

/** Query positions [T, 1] and key positions [1, S] (int64) for pattern masks; `r` the positions [T] of x. */
export function grid(g: Graph, x: string, keys: string = x): { i: string; j: string; r: string } {
  const r = positions(g, x);
  return { r, i: g.one('Unsqueeze', [r, g.ints('axes', [1])]), j: g.one('Unsqueeze', [keys === x ? r : positions(g, keys), g.ints('axes', [0])]) };
}

/** The causal mask [T, S] of queries x [B, T, ·] over keys [B, S, ·] (default x): key j ≤ query i, top-left aligned as attnkit's. */
export function causalMask(g: Graph, x: string, keys: string = x): string {
  const { i, j } = grid(g, x, keys);
  return g.one('LessOrEqual', [j, i]);
}

/** softmax over the last axis of `scores` where `allowed` (bool, broadcastable); rows with nothing allowed give zeros. */
export function maskedSoftmax(g: Graph, scores: string, allowed: string | null): string {
  if (!allowed) return g.one('Softmax', [scores], { axis: -1 });
  const p = g.one('Softmax', [g.one('Where', [allowed, scores, g.scalar(-1e9)])], { axis: -1 });
  return g.one('Mul', [p, rowHasKey(g, allowed)]);
}

/** Σ_t w_t x_t: weights [B, T], x [B, T, C] → [B, C]. */
export function weightedSum(g: Graph, w: string, x: string): string {
  return g.one('Squeeze', [g.one('MatMul', [g.one('Unsqueeze', [w, g.ints('axes', [1])]), x]), g.ints('axes', [1])]);
}

/** [B, T, n, C] from n values [B, T, C]. */
export function stackBranches(g: Graph, ys: string[]): string {
  return g.one('Concat', ys.map((y) => g.one('Unsqueeze', [y, g.ints('axes', [2])])), { axis: 2 });
}

/** Σᵢ wᵢ·yᵢ with weights w [B, T, n] (or a broadcastable constant) over stacked [B, T, n, C]. */
export function mixBranches(g: Graph, w: string, stacked: string): string {
  return g.one('Squeeze', [g.one('MatMul', [g.one('Unsqueeze', [w, g.ints('axes', [-2])]), stacked]), g.ints('axes', [-2])]);
}
