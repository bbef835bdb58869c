/**
 * What a field kind is: one `FieldKindDef` per kind, in `src/data/fields/<kind>.ts`, collected in
 * the `fieldKinds` table (`./index.ts`). The definition holds everything the kind means — its
 * schema entry, fit/encode/state, its encoded column and batch, record validation, report
 * labels, ONNX inputs — and, as a recipe over abstract operations (`FieldOps`), how a model
 * turns its batch into tokens or a vector. data/ knows no model: the recipe names parameter
 * slots and operations; models/ runs it on tensors with real parameters and onnx/ emits it as
 * graph nodes, each with one generic interpreter instead of a switch over kinds.
 */
import { ValueError, kindOf, preview } from '../../errors.js';
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { v } from '../../config.js';
import { fitsFloat32 } from '../float32.js';

const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));

/** Schema helpers for the kinds' schema entries: a positive integer, and the keys every field has. */
export const specParts = {
  int: positiveInt,
  common: {
    name: v.pipe(v.string(), v.minLength(1)),
    /** The source a field comes from (e.g. 'headers', 'body'); fusion strategies group tokens by it. */
    source: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** Strings that mean "missing" (default DEFAULT_MISSING); null, undefined and NaN always do. */
    missing: v.optional(v.array(v.string())),
  },
};

/** Record-validation helpers: a number the model can hold (finite as float32: 1e42 is finite in JavaScript but ∞ once stored), and a scalar cell. */
export const valueParts = {
  float32: v.pipe(v.number(), v.check(fitsFloat32, (issue) => `${preview(issue.input)} is beyond the float32 range (±3.4e38) the model computes in`)),
  scalar: v.union([v.string(), v.number(), v.boolean(), v.null()]),
};

/** The sizes a fitted field gives a model (each kind sets the ones it has). */
export interface FieldSizes {
  /** Embedding table size (categorical, text and key–value value tokens). */
  vocabSize?: number;
  /** Key ids (key–value). */
  numKeys?: number;
  /** Longest token or patch sequence (text, key–value, time series). */
  maxLength?: number;
  /** Floats per patch (time series, image). */
  patchDim?: number;
  /** Patches per image. */
  numPatches?: number;
  /** Numeric 'piecewise' and 'piecewise-linear' embeddings: the fitted bin edges over normalised values (ascending, ≥ 2). */
  binEdges?: number[];
  /** Numeric 'piecewise-linear': the linear token x·w + b is added to the binned one. */
  withLinear?: boolean;
  /** Numeric 'periodic' embedding: the number of trainable frequencies k and their initial σ. */
  frequencies?: number;
  frequencySigma?: number;
}

/** A field's encoder while fitting and encoding: the kind's own encoder behind one interface. */
export interface FieldCodec<State, Cell, Col> {
  /** Learns statistics or vocabularies from the training column; `where(i)` names row i in messages. */
  fit(values: unknown[], where: (i: number) => string): void;
  encode(value: unknown, where: string): Cell;
  /** Plain JSON saved in preprocessor.json (null when the kind fits nothing). */
  state(): State;
  sizes(): FieldSizes;
  /** The encoded cells of every row as one column. */
  column(cells: Cell[]): Col;
}

/** A codec from an encoder class with fit / encode / state, plus the kind's sizes and column. */
export function encoderCodec<State, Cell, Col>(
  e: { fit(values: unknown[], where: (i: number) => string): void; encode(value: unknown, where: string): Cell; state(): State },
  rest: Pick<FieldCodec<State, Cell, Col>, 'sizes' | 'column'>,
): FieldCodec<State, Cell, Col> {
  return { fit: (values, where) => e.fit(values, where), encode: (value, where) => e.encode(value, where), state: () => e.state(), ...rest };
}

/** One token of a report sample: its label, and whether it is a real token (not padding or missing). */
export interface TokenLabel { label: string; real: boolean }

/** One ONNX graph input of a field: named `field + suffix`, fed from the batch tensor `key`. */
export interface FieldOnnxInput<Batch> {
  key: Exclude<keyof Batch, 'kind'> & string;
  suffix: string;
  dtype: 'float' | 'int64' | 'bool';
  dims(field: string, sizes: FieldSizes): (string | number)[];
}

/**
 * A parameter of a field's encoder module, by slot (the module's field, hence its checkpoint
 * name): weight / bias a vector [C] ~ N(0, 1/C); embedding / keyEmbedding / position a table
 * [rows, C] ~ N(0, 1/C); proj a Linear(inputs, C); frequencies a vector [count] ~ N(0, σ²).
 * Created in the order listed.
 */
export type ParamSpec =
  | { slot: 'weight' | 'bias' }
  | { slot: 'embedding' | 'keyEmbedding' | 'position'; rows: number; paddingIdx?: number }
  | { slot: 'proj'; inputs: number }
  | { slot: 'frequencies'; count: number; sigma: number };
export type ParamSlot = ParamSpec['slot'];

/** Returns a fitted size, or throws naming the missing one. */
export type Need = (value: number | undefined, what: keyof FieldSizes) => number;

/**
 * The operations a kind's model recipe is written in. V is a tensor in models/ and a graph value
 * in onnx/. Shapes: B batch, n tokens, C width.
 */
export interface FieldOps<V, Batch> {
  /** A tensor of the field's batch. */
  input(key: Exclude<keyof Batch, 'kind'> & string): V;
  /** Rows of an embedding table: ids [B, …] → [B, …, C]. */
  embed(slot: 'embedding' | 'keyEmbedding', ids: V): V;
  /** The position table's rows 0…n−1, n = axis 1 of x: [n, C]. */
  positions(x: V): V;
  /** The linear projection: [B, n, inputs] → [B, n, C]. */
  project(x: V): V;
  /** x [B] → x·weight + bias: [B, 1, C]. */
  affine(x: V): V;
  /**
   * Piecewise-linear encoding: x [B] → [B, 1, K], K = edges.length − 1, bin t's entry
   * clamp((x − edges[t]) / (edges[t+1] − edges[t]), 0, 1).
   */
  piecewise(x: V, edges: readonly number[]): V;
  /** Periodic features: x [B] → [cos(2π·f·x), sin(2π·f·x)] with the `frequencies` slot f [k]: [B, 1, 2k]. */
  periodic(x: V): V;
  relu(x: V): V;
  add(a: V, b: V): V;
  /** x [B, …] → [B, 1, …]: one token per row. */
  token(x: V): V;
  /** x ≠ 0, as bool. */
  nonzero(x: V): V;
  /** present [B] repeated over axis 1 of x: [B, n] bool. */
  perToken(present: V, x: V): V;
}

/** `FieldOps` plus the poolings of the baselines' field vectors. */
export interface VectorOps<V, Batch> extends FieldOps<V, Batch> {
  /** Mean over real tokens: x [B, n, C], mask [B, n] → [B, C]. */
  maskedMean(x: V, mask: V): V;
  /** Mean over axis 1: [B, n, C] → [B, C]. */
  mean(x: V): V;
  /** [value, present] per row: values [B], present [B] → [B, 2]. */
  withFlag(values: V, present: V): V;
  /** x [B, C] times present [B] (0 or 1): [B, C]. */
  timesPresent(x: V, present: V): V;
}

/**
 * The definition of one field kind. `Spec` is its schema entry, `State` its saved JSON, `Cell`
 * one encoded value, `Col` the encoded column, `Batch` its tensors in a batch.
 */
export interface FieldKindDef<Spec extends { kind: string; name: string }, State, Cell, Col extends { kind: Spec['kind'] }, Batch extends { kind: Spec['kind'] }> {
  /** The schema entry: a valibot strict object with a `kind` literal (unknown keys are errors). */
  schema: v.GenericSchema<unknown, Spec>;
  /** The encoder of one field, fresh (state null) or restored from its saved state. */
  codec(spec: Spec, state: State | null): FieldCodec<State, Cell, Col>;
  /** The rows `rows` of a column as tensors (padded, with masks). */
  batch(column: Col, rows: readonly number[]): Batch;
  /** What a raw record may hold for this field (`validateRecords`); the codec checks the value itself. */
  value: v.GenericSchema;
  /** Report labels of batch item b's tokens, in the order the model's tokens come. */
  labels(fb: Batch, b: number, field: string, state: State | null, raw: unknown): TokenLabel[];
  /** The ONNX graph inputs, in order. */
  onnx: readonly FieldOnnxInput<Batch>[];
  /** Checks a batch before a model encodes it (e.g. more patches than fitted positions). */
  check?(fb: Batch, sizes: FieldSizes, where: string): void;
  /** The fusion model's tokens [B, n, C] and mask [B, n] (the field embedding is added after). */
  tokens: { params(sizes: FieldSizes, need: Need): ParamSpec[]; forward<V>(x: FieldOps<V, Batch>, sizes: FieldSizes): { tokens: V; mask: V } };
  /** The baselines' fixed-width vector [B, width] (width C unless the kind fixes it). */
  vector: { params(sizes: FieldSizes, need: Need): ParamSpec[]; width?: number; forward<V>(x: VectorOps<V, Batch>): V };
  /** Sequence models' (TextCNN, TCN) input [B, n, C] and mask [B, n]; absent for kinds that are no sequence. */
  sequence?: { params(sizes: FieldSizes, need: Need): ParamSpec[]; forward<V>(x: FieldOps<V, Batch>): { x: V; mask: V } };
}

/** Rows of int32 sequences → ids [B, L] padded with 0 and mask [B, L] (L ≥ 1). */
export function padRows(rows: Int32Array[], idx: readonly number[]): { ids: Tensor; mask: Tensor } {
  const B = idx.length;
  const L = Math.max(1, ...idx.map((r) => rows[r].length));
  const ids = new Int32Array(B * L), mask = new Uint8Array(B * L);
  idx.forEach((r, b) => { ids.set(rows[r], b * L); mask.fill(1, b * L, b * L + rows[r].length); });
  return { ids: tensor(ids, { shape: [B, L] }), mask: tensor(mask, { shape: [B, L] }) };
}

/** A token id as a report shows it: 0 `<pad>`, 1 `<unk>`, else its entry of `list` (ids start at `offset`). */
export function vocabWord(list: readonly string[] | undefined, id: number, offset: number): string {
  return id === 0 ? '<pad>' : id === 1 ? '<unk>' : list?.[id - offset] ?? `#${id}`;
}

/** An encoder's field spec, checked before use (a schema field such as `{ name: 'age', kind: 'numeric' }`). */
export function checkFieldSpec(where: string, spec: unknown): void {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new ValueError(`${where}: give the field's spec, an object such as a schema field ({ name, kind, … }), got ${kindOf(spec)}`);
  }
}
