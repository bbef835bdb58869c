/**
 * A numeric field: one value per record, normalised ('standard', 'quantile' or 'none', after an
 * optional log1p), with a present flag. One token x·w + b (FT-Transformer's feature tokenizer).
 */
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { v } from '../../config.js';
import { NumericEncoder, type NumericCell, type NumericState } from '../tabular.js';
import { encoderCodec, specParts, valueParts, type FieldKindDef } from './fieldKindDef.js';

const schema = v.strictObject({
  ...specParts.common, kind: v.literal('numeric'),
  /** 'standard' (z-score, default), 'quantile' (rank → standard normal, robust to outliers), 'none'. */
  normalize: v.optional(v.picklist(['standard', 'quantile', 'none'])),
  /** log1p before normalising (for counts and skewed amounts; values must be > −1). */
  log: v.optional(v.boolean()),
});
export type NumericSpec = v.InferOutput<typeof schema>;
export interface NumericColumn { kind: 'numeric'; values: Float32Array; present: Uint8Array }
/** values [B] float32 (0 where missing), present [B] bool */
export interface NumericBatch { kind: 'numeric'; values: Tensor; present: Tensor }

export const numericField: FieldKindDef<NumericSpec, NumericState, NumericCell, NumericColumn, NumericBatch> = {
  schema,
  codec(spec, state) {
    const e = new NumericEncoder(spec, state);
    return encoderCodec(e, {
      sizes: () => ({}),
      column: (c) => ({ kind: 'numeric', values: Float32Array.from(c, (x) => x.value), present: Uint8Array.from(c, (x) => (x.present ? 1 : 0)) }),
    });
  },
  batch: (c, rows) => ({
    kind: 'numeric',
    values: tensor(Float32Array.from(rows, (r) => c.values[r]), { shape: [rows.length] }),
    present: tensor(Uint8Array.from(rows, (r) => c.present[r]), { shape: [rows.length] }),
  }),
  value: v.nullable(v.union([valueParts.float32, v.string()])),
  labels: (fb, b, field, _state, raw) => [{
    label: `${field} = ${fb.present.data[b] ? String(raw ?? fb.values.data[b].toFixed(3)) : 'missing'}`, real: Boolean(fb.present.data[b]),
  }],
  onnx: [
    { key: 'values', suffix: '', dtype: 'float', dims: () => ['batch'] },
    { key: 'present', suffix: '.present', dtype: 'bool', dims: () => ['batch'] },
  ],
  tokens: {
    params: () => [{ slot: 'weight' }, { slot: 'bias' }],
    forward: (x) => ({ tokens: x.affine(x.input('values')), mask: x.token(x.input('present')) }),     // [B, 1, C], [B, 1]
  },
  vector: { params: () => [], width: 2, forward: (x) => x.withFlag(x.input('values'), x.input('present')) },   // [B, 2]
};
