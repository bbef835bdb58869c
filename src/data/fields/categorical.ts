/** A categorical field: a fitted vocabulary of categories (0 missing, 1 unknown); one embedded token. */
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { v } from '../../config.js';
import { CategoricalEncoder, type CategoricalState } from '../tabular.js';
import { encoderCodec, specParts, valueParts, vocabWord, type FieldKindDef } from './fieldKindDef.js';

const schema = v.strictObject({
  ...specParts.common, kind: v.literal('categorical'),
  maxCategories: v.optional(specParts.int), minCount: v.optional(specParts.int),
});
export type CategoricalSpec = v.InferOutput<typeof schema>;
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
