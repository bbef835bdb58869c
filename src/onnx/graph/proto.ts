/**
 * A small protobuf wire-format writer and the ONNX messages built on it (onnx.proto, IR 8).
 * Enough to write inference graphs that ONNX Runtime loads: models, graphs, nodes with
 * attributes, typed inputs/outputs with fixed or named (dynamic) dimensions, and float /
 * int64 initializers. No reader: what we write is checked by running it in onnxruntime-node.
 */
import { VERSION } from '../../version.js';
import { ValueError } from '../../errors.js';

/** ONNX TensorProto.DataType values this writer supports. */
export const OnnxDType = { float: 1, uint8: 2, int32: 6, int64: 7, bool: 9 } as const;
export type OnnxDTypeName = keyof typeof OnnxDType;

/** Appends protobuf fields to a growing byte buffer. */
class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Unsigned varint; `bigint` for int64 values past 2^53, negatives as two's complement. */
  varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    this.reserve(10);
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      this.buf[this.len++] = byte;
    } while (v !== 0n);
  }

  private key(field: number, wire: 0 | 1 | 2 | 5): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): void {
    this.key(field, 0);
    this.varint(value);
  }

  float(field: number, value: number): void {
    this.key(field, 5);
    this.reserve(4);
    new DataView(this.buf.buffer).setFloat32(this.len, value, true);
    this.len += 4;
  }

  bytes(field: number, data: Uint8Array): void {
    this.key(field, 2);
    this.varint(data.length);
    this.reserve(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, write: (w: Writer) => void): void {
    const inner = new Writer();
    write(inner);
    this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** An attribute value: numbers are INT unless wrapped with {@link onnxFloat}; arrays of numbers are INTS. */
export type OnnxAttr = number | bigint | string | { float: number } | { floats: number[] } | number[] | OnnxTensor;

/** Marks a number attribute as FLOAT (plain numbers are written as INT). */
export const onnxFloat = (value: number): { float: number } => ({ float: value });

/** A graph node: `op` from `domain` ('' = the default ONNX domain). */
export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attrs?: Record<string, OnnxAttr>;
}

/** A constant tensor: an initializer or a TENSOR attribute. */
export interface OnnxTensor {
  name: string;
  dtype: OnnxDTypeName;
  dims: readonly number[];
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
}

/** A graph input or output; string dims are dynamic (ONNX `dim_param`). */
export interface OnnxValue {
  name: string;
  dtype: OnnxDTypeName;
  dims: readonly (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  initializers?: OnnxTensor[];
}

export interface OnnxModelOptions {
  /** Default-domain opset; 17 unless given. */
  opset?: number;
  /** Extra opsets, e.g. `{ 'com.microsoft': 1 }` for ONNX Runtime's contrib ops. */
  extraOpsets?: Record<string, number>;
  producerVersion?: string;
}

function writeTensor(w: Writer, t: OnnxTensor): void {
  const expected = t.dims.reduce((a, b) => a * b, 1);
  const count = t.data.length;
  if (count !== expected) {
    throw new ValueError(`onnx tensor '${t.name}': dims [${t.dims.join(', ')}] hold ${expected} values but data has ${count}`);
  }
  for (const d of t.dims) w.int(1, d);
  w.int(2, OnnxDType[t.dtype]);
  w.string(8, t.name);
  // raw_data is little-endian, which typed arrays on every supported platform are
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function writeAttr(w: Writer, name: string, value: OnnxAttr): void {
  w.string(1, name);
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isInteger(value)) {
      throw new ValueError(`onnx attribute '${name}': ${value} is not an integer; wrap floats with onnxFloat()`);
    }
    w.int(3, value);
    w.int(20, 2);
  } else if (typeof value === 'string') {
    w.string(4, value);
    w.int(20, 3);
  } else if (Array.isArray(value)) {
    for (const v of value) w.int(8, v);
    w.int(20, 7);
  } else if ('float' in value) {
    w.float(2, value.float);
    w.int(20, 1);
  } else if ('floats' in value) {
    for (const v of value.floats) w.float(7, v);
    w.int(20, 6);
  } else {
    w.message(5, (m) => writeTensor(m, value));
    w.int(20, 4);
  }
}

function writeValue(w: Writer, v: OnnxValue): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, OnnxDType[v.dtype]);
      tt.message(2, (shape) => {
        for (const d of v.dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Serialises an ONNX ModelProto (IR version 8) holding `graph`. */
export function encodeOnnxModel(graph: OnnxGraph, options: OnnxModelOptions = {}): Uint8Array {
  const w = new Writer();
  w.int(1, 8); // ir_version
  w.string(2, 'attnkit');
  w.string(3, options.producerVersion ?? VERSION);
  const opsets: [string, number][] = [['', options.opset ?? 17], ...Object.entries(options.extraOpsets ?? {})];
  for (const [domain, version] of opsets) {
    w.message(8, (o) => {
      o.string(1, domain);
      o.int(2, version);
    });
  }
  w.message(7, (g) => {
    graph.nodes.forEach((n, i) => {
      g.message(1, (nw) => {
        for (const x of n.inputs) nw.string(1, x);
        for (const y of n.outputs) nw.string(2, y);
        nw.string(3, n.name ?? `${n.op}_${i}`);
        nw.string(4, n.op);
        for (const [k, v] of Object.entries(n.attrs ?? {})) nw.message(5, (a) => writeAttr(a, k, v));
        if (n.domain) nw.string(7, n.domain);
      });
    });
    g.string(2, graph.name);
    for (const t of graph.initializers ?? []) g.message(5, (tw) => writeTensor(tw, t));
    for (const v of graph.inputs) g.message(11, (vw) => writeValue(vw, v));
    for (const v of graph.outputs) g.message(12, (vw) => writeValue(vw, v));
  });
  return w.finish();
}
