/**
 * Encoded data in columns, and the batches models consume: padded tensors with masks
 * (true = real token / present value). `splitIndices` makes seeded (optionally stratified)
 * train / validation / test splits.
 */
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import { IndexError, ValueError } from '../errors.js';
import type { FieldKind, TaskKind } from './schema.js';
import type { KeyValueCell } from './text.js';
import type { SeriesCell } from './patches.js';
import { checkOptions } from '../config.js';

/** One encoded column of the whole dataset. */
export type Column =
  | { kind: 'numeric'; values: Float32Array; present: Uint8Array }
  | { kind: 'categorical'; ids: Int32Array }
  | { kind: 'text'; rows: Int32Array[] }
  | { kind: 'keyValue'; rows: KeyValueCell[] }
  | { kind: 'timeSeries'; rows: SeriesCell[]; patchSize: number }
  | { kind: 'image'; rows: (Float32Array | null)[]; numPatches: number; patchDim: number };

/** One field of a batch, as tensors. */
export type FieldBatch =
  /** values [B] float32 (0 where missing), present [B] bool */
  | { kind: 'numeric'; values: Tensor; present: Tensor }
  /** ids [B] int32: 0 missing, 1 unknown */
  | { kind: 'categorical'; ids: Tensor }
  /** ids [B, L] int32, mask [B, L] bool */
  | { kind: 'text'; ids: Tensor; mask: Tensor }
  /** ids [B, L] value-token ids, keys [B, L] key ids, mask [B, L] */
  | { kind: 'keyValue'; ids: Tensor; keys: Tensor; mask: Tensor }
  /** patches [B, P, patchSize], mask [B, P] */
  | { kind: 'timeSeries'; patches: Tensor; mask: Tensor }
  /** patches [B, P, patchDim], present [B] */
  | { kind: 'image'; patches: Tensor; present: Tensor };

/** Encoded targets: binary 0/1 float32, multiclass int32 class index, regression standardised float32. */
export interface TargetColumn { task: TaskKind; values: Float32Array | Int32Array }

/** A batch: B rows' fields and targets ([B] each), and which dataset rows they are. */
export interface Batch {
  size: number;
  rows: number[];
  fields: Record<string, FieldBatch>;
  targets: Record<string, Tensor>;
}

function padRows(rows: Int32Array[], idx: number[]): { ids: Tensor; mask: Tensor; L: number } {
  const B = idx.length;
  const L = Math.max(1, ...idx.map((r) => rows[r].length));
  const ids = new Int32Array(B * L), mask = new Uint8Array(B * L);
  idx.forEach((r, b) => { ids.set(rows[r], b * L); mask.fill(1, b * L, b * L + rows[r].length); });
  return { ids: tensor(ids, { shape: [B, L] }), mask: tensor(mask, { shape: [B, L] }), L };
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
    for (const [name, c] of Object.entries(this.columns)) {
      switch (c.kind) {
        case 'numeric':
          fields[name] = {
            kind: 'numeric',
            values: tensor(Float32Array.from(rows, (r) => c.values[r]), { shape: [B] }),
            present: tensor(Uint8Array.from(rows, (r) => c.present[r]), { shape: [B] }),
          };
          break;
        case 'categorical':
          fields[name] = { kind: 'categorical', ids: tensor(Int32Array.from(rows, (r) => c.ids[r]), { shape: [B] }) };
          break;
        case 'text': {
          const { ids, mask } = padRows(c.rows, rows);
          fields[name] = { kind: 'text', ids, mask };
          break;
        }
        case 'keyValue': {
          const { ids, mask } = padRows(c.rows.map((x) => x.ids), rows);
          const { ids: keys } = padRows(c.rows.map((x) => x.keys), rows);
          fields[name] = { kind: 'keyValue', ids, keys, mask };
          break;
        }
        case 'timeSeries': {
          const p = c.patchSize;
          const P = Math.max(1, ...rows.map((r) => c.rows[r].count));
          const data = new Float32Array(B * P * p), mask = new Uint8Array(B * P);
          rows.forEach((r, b) => { data.set(c.rows[r].patches, b * P * p); mask.fill(1, b * P, b * P + c.rows[r].count); });
          fields[name] = { kind: 'timeSeries', patches: tensor(data, { shape: [B, P, p] }), mask: tensor(mask, { shape: [B, P] }) };
          break;
        }
        case 'image': {
          const n = c.numPatches * c.patchDim;
          const data = new Float32Array(B * n), present = new Uint8Array(B);
          rows.forEach((r, b) => { const x = c.rows[r]; if (x) { data.set(x, b * n); present[b] = 1; } });
          fields[name] = { kind: 'image', patches: tensor(data, { shape: [B, c.numPatches, c.patchDim] }), present: tensor(present, { shape: [B] }) };
          break;
        }
      }
    }
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
