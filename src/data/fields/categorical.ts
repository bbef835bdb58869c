/** A categorical field: a fitted vocabulary of categories (0 missing, 1 unknown); one embedded token. */
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { v } from '../../config.js';
import { encoderCodec, specParts, valueParts, vocabWord, type FieldKindDef, checkFieldSpec } from './fieldKindDef.js';
import { missingTest } from '../missing.js';

const schema = v.strictObject({
  ...specParts.common, kind: v.literal('categorical'),
  maxCategories: v.optional(specParts.int), minCount: v.optional(specParts.int),
});
export type CategoricalSpec = v.InferOutput<typeof schema>;

/** Categorical ids: 0 = missing, 1 = unknown (unseen or rare), 2… = fitted categories. */
export const MISSING_ID = 0;
export const UNKNOWN_ID = 1;

export interface CategoricalState { categories: string[] }

/**
 * A categorical column: categories seen at least `minCount` times (default 1), the
 * `maxCategories` most frequent (default unlimited), in frequency order (ties by name).
 */
export class CategoricalEncoder {
  private readonly isMissing: (v: unknown) => boolean;
  private index = new Map<string, number>();
  constructor(readonly spec: CategoricalSpec, state: CategoricalState | null = null) {
    checkFieldSpec('CategoricalEncoder', spec);
    this.isMissing = missingTest(spec.missing);
    if (state) this.setCategories(state.categories);
  }

  private setCategories(cats: string[]): void {
    this.index = new Map(cats.map((c, i) => [c, i + 2]));
  }

  fit(values: unknown[]): void {
    const counts = new Map<string, number>();
    for (const v of values) if (!this.isMissing(v)) { const k = String(v).trim(); counts.set(k, (counts.get(k) ?? 0) + 1); }
    const min = this.spec.minCount ?? 1;
    const cats = [...counts].filter(([, c]) => c >= min).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
    this.setCategories(cats.slice(0, this.spec.maxCategories ?? cats.length));
  }

  /** Number of ids (categories + missing + unknown). */
  get size(): number { return this.index.size + 2; }

  encode(value: unknown): number {
    if (this.isMissing(value)) return MISSING_ID;
    return this.index.get(String(value).trim()) ?? UNKNOWN_ID;
  }

  state(): CategoricalState { return { categories: [...this.index.keys()] }; }
}

export interface CategoricalColumn { kind: 'categorical'; ids: Int32Array }
/** ids [B] int32: 0 missing, 1 unknown */
export interface CategoricalBatch { kind: 'categorical'; ids: Tensor }

export const categoricalField: FieldKindDef<CategoricalSpec, CategoricalState, number, CategoricalColumn, CategoricalBatch> = {
  schema,
  codec(spec, state) {
    const e = new CategoricalEncoder(spec, state);
    return encoderCodec(e, {
      sizes: () => ({ vocabSize: e.size }),
      column: (cells) => ({ kind: 'categorical', ids: Int32Array.from(cells) }),
    });
  },
  batch: (c, rows) => ({ kind: 'categorical', ids: tensor(Int32Array.from(rows, (r) => c.ids[r]), { shape: [rows.length] }) }),
  value: valueParts.scalar,
  labels: (fb, b, field, state) => {
    const id = fb.ids.data[b];
    return [{ label: `${field} = ${id === 0 ? 'missing' : vocabWord(state?.categories, id, 2)}`, real: id !== 0 }];
  },
  onnx: [{ key: 'ids', suffix: '', dtype: 'int64', dims: () => ['batch'] }],
  tokens: {
    params: (s, need) => [{ slot: 'embedding', rows: need(s.vocabSize, 'vocabSize') }],
    forward: (x) => ({ tokens: x.token(x.embed('embedding', x.input('ids'))), mask: x.token(x.nonzero(x.input('ids'))) }),   // [B, 1, C], [B, 1]
  },
  // id 0 (missing) embeds to zeros
  vector: { params: (s, need) => [{ slot: 'embedding', rows: need(s.vocabSize, 'vocabSize'), paddingIdx: 0 }], forward: (x) => x.embed('embedding', x.input('ids')) },
};
