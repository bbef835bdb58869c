/**
 * Encoded data in columns, and the batches models consume: padded tensors with masks
 * (true = real token / present value). `splitIndices` makes seeded (optionally stratified)
 * train / validation / test splits.
 */
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import { IndexError, ValueError } from '../errors.js';
import type { TaskKind } from './schema.js';
import { fieldKindOf, type Column, type FieldBatch, type FieldKind } from './fields/index.js';
import { checkOptions } from '../config.js';

export type { Column, FieldBatch } from './fields/index.js';

/** Encoded targets: binary 0/1 float32, multiclass int32 class index, regression standardised float32. */
export interface TargetColumn { task: TaskKind; values: Float32Array | Int32Array }

/** A batch: B rows' fields and targets ([B] each), and which dataset rows they are. */
export interface Batch {
  size: number;
  rows: number[];
  fields: Record<string, FieldBatch>;
  targets: Record<string, Tensor>;
}

/** Columns by field name plus targets; `batch(rows)` builds padded tensors for any subset. */
export class EncodedDataset {
  constructor(readonly size: number, readonly columns: Record<string, Column>, readonly targets: Record<string, TargetColumn>) {}

  /** Field names and kinds, in schema order. */
  get fieldKinds(): [string, FieldKind][] {
    return Object.entries(this.columns).map(([n, c]) => [n, c.kind]);
  }

  /** The rows `idx` as a padded batch. */
  batch(idx: readonly number[]): Batch {
    const rows = [...idx];
    for (const r of rows) if (!Number.isInteger(r) || r < 0 || r >= this.size) throw new IndexError(`EncodedDataset.batch: row ${r} outside [0, ${this.size})`);
    const B = rows.length;
    const fields: Record<string, FieldBatch> = {};
    for (const [name, c] of Object.entries(this.columns)) fields[name] = fieldKindOf(c.kind).batch(c, rows);
    const targets: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(this.targets)) {
      targets[name] = t.values instanceof Int32Array
        ? tensor(Int32Array.from(rows, (r) => t.values[r]), { shape: [B] })
        : tensor(Float32Array.from(rows, (r) => t.values[r]), { shape: [B] });
    }
    return { size: B, rows, fields, targets };
  }

  /** Row indices in shuffled batches of `batchSize` (in order without a generator). */
  *batches(batchSize: number, rng?: Generator, rowsIn?: readonly number[]): Generator_<number[]> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ValueError(`EncodedDataset.batches: batchSize must be a positive integer, got ${batchSize}`);
    const all = rowsIn ? [...rowsIn] : Array.from({ length: this.size }, (_, i) => i);
    const order = rng ? rng.shuffle(all) : all;
    for (let i = 0; i < order.length; i += batchSize) yield order.slice(i, i + batchSize);
  }
}

type Generator_<T> = globalThis.Generator<T, void, unknown>;

export interface SplitOptions {
  /** Fraction held out for validation (default 0.1) and test (default 0.2). */
  valid?: number;
  test?: number;
  seed: number;
  /** Class labels to stratify by (each class split in the same proportions). */
  stratify?: ArrayLike<number>;
}

/** splitIndices' fractions when the options give none: validation 0.1, test 0.2. */
export const SPLIT_DEFAULTS = { valid: 0.1, test: 0.2 } as const;

/** The class a target value names, as stratification and `data.limit` group rows by (its text, trimmed). */
export const classKey = (value: unknown): string => String(value).trim();

/** Seeded train / validation / test row indices (each sorted). */
export function splitIndices(n: number, options: SplitOptions): { train: number[]; valid: number[]; test: number[] } {
  checkOptions('splitIndices', options, { valid: true, test: true, seed: true, stratify: true });
  const fv = options.valid ?? SPLIT_DEFAULTS.valid, ft = options.test ?? SPLIT_DEFAULTS.test;
  if (!(fv >= 0 && ft >= 0 && fv + ft < 1)) throw new ValueError(`splitIndices: valid (${fv}) and test (${ft}) must be ≥ 0 and sum below 1`);
  if (options.stratify && options.stratify.length !== n) throw new ValueError(`splitIndices: stratify has ${options.stratify.length} labels for ${n} rows`);
  const rng = new Generator(options.seed);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const k = options.stratify ? options.stratify[i] : 0;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(i);
  }
  const out = { train: [] as number[], valid: [] as number[], test: [] as number[] };
  for (const k of [...groups.keys()].sort((a, b) => a - b)) {
    const g = rng.shuffle(groups.get(k)!);
    const nt = Math.round(g.length * ft), nv = Math.round(g.length * fv);
    out.test.push(...g.slice(0, nt));
    out.valid.push(...g.slice(nt, nt + nv));
    out.train.push(...g.slice(nt + nv));
  }
  const byNum = (a: number, b: number): number => a - b;
  return { train: out.train.sort(byNum), valid: out.valid.sort(byNum), test: out.test.sort(byNum) };
}
