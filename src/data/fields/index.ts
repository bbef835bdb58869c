/**
 * Every field kind in one table, like the primitive registry (src/ops/registry.ts). Its keys are
 * `FieldKind`; the schema, the encoded column and batch types and every per-kind step of the
 * preprocessor, batches, validation, report, models and ONNX export are derived from it, so a
 * new kind is its file in this folder and its entry here.
 */
import type { v } from '../../config.js';
import type { FieldKindDef } from './fieldKindDef.js';
import { numericField } from './numeric.js';
import { categoricalField } from './categorical.js';
import { textField } from './text.js';
import { keyValueField } from './keyValue.js';
import { timeSeriesField } from './timeSeries.js';
import { imageField } from './image.js';

type KindTable<T> = { [K in keyof T]: { schema: v.GenericSchema<unknown, { kind: K }>; batch(column: never, rows: readonly number[]): { kind: K } } };
/** Checks that each entry's schema, column and batch carry the entry's own kind. */
const table = <T extends KindTable<T>>(t: T): T => t;

export const fieldKinds = table({
  numeric: numericField,
  categorical: categoricalField,
  text: textField,
  keyValue: keyValueField,
  timeSeries: timeSeriesField,
  image: imageField,
});

export type FieldKinds = typeof fieldKinds;
export type FieldKind = keyof FieldKinds;

/* eslint-disable @typescript-eslint/no-explicit-any -- the parts of each kind's definition, recovered by inference */
type Parts<D> = D extends FieldKindDef<infer Spec, infer State, any, infer Col, infer Batch> ? { spec: Spec; state: State; col: Col; batch: Batch } : never;
/** A kind's definition with its parts erased, for code that treats every kind alike. */
export type AnyFieldKindDef = FieldKindDef<any, any, any, any, any>;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** One field of a schema: the union of every kind's schema entry. */
export type FieldSpec = { [K in FieldKind]: Parts<FieldKinds[K]>['spec'] }[FieldKind];
/** The fitted JSON state of one field (null for kinds that fit nothing). */
export type FieldState = { [K in FieldKind]: Parts<FieldKinds[K]>['state'] }[FieldKind] | null;
/** One encoded column of the whole dataset. */
export type Column = { [K in FieldKind]: Parts<FieldKinds[K]>['col'] }[FieldKind];
/** One field of a batch, as tensors. */
export type FieldBatch = { [K in FieldKind]: Parts<FieldKinds[K]>['batch'] }[FieldKind];

/** The definition of `kind` (a key of the table), typed loosely for the generic code that runs every kind. */
export function fieldKindOf(kind: FieldKind): AnyFieldKindDef {
  return fieldKinds[kind] as AnyFieldKindDef;
}

/** The kinds whose definition has `part` (e.g. 'sequence'), in table order. */
export function kindsWith(part: keyof AnyFieldKindDef): FieldKind[] {
  return (Object.keys(fieldKinds) as FieldKind[]).filter((k) => fieldKindOf(k)[part] !== undefined);
}
