/**
 * A key–value field (e-mail headers, JSON objects): per pair a key-marker token and value tokens,
 * each tagged with its key id; a token is its value embedding plus its key embedding.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { v } from '../../config.js';
import { KeyValueEncoder, type KeyValueCell, type KeyValueState } from '../text.js';
import { encoderCodec, padRows, specParts, valueParts, vocabWord, type FieldKindDef } from './fieldKindDef.js';

const schema = v.strictObject({
  ...specParts.common, kind: v.literal('keyValue'),
  /** Keep at most this many pairs per record (default 32), and value tokens per pair (default 8). */
  maxPairs: v.optional(specParts.int), maxValueTokens: v.optional(specParts.int),
  maxKeys: v.optional(specParts.int), maxVocab: v.optional(specParts.int), minCount: v.optional(specParts.int),
});
export type KeyValueSpec = v.InferOutput<typeof schema>;
export interface KeyValueColumn { kind: 'keyValue'; rows: KeyValueCell[] }
/** ids [B, L] value-token ids, keys [B, L] key ids, mask [B, L] */
export interface KeyValueBatch { kind: 'keyValue'; ids: Tensor; keys: Tensor; mask: Tensor }

export const keyValueField: FieldKindDef<KeyValueSpec, KeyValueState, KeyValueCell, KeyValueColumn, KeyValueBatch> = {
  schema,
  codec(spec, state) {
    const e = new KeyValueEncoder(spec, state);
    return encoderCodec(e, {
      sizes: () => ({ vocabSize: e.vocab!.size, numKeys: e.keyVocab!.size, maxLength: e.maxLength }),
      column: (cells) => ({ kind: 'keyValue', rows: cells }),
    });
  },
  batch: (c, rows) => {
    const { ids, mask } = padRows(c.rows.map((x) => x.ids), rows);
    const { ids: keys } = padRows(c.rows.map((x) => x.keys), rows);
    return { kind: 'keyValue', ids, keys, mask };
  },
  value: v.nullable(v.union([v.string(), v.record(v.string(), valueParts.scalar), v.array(v.tuple([v.string(), valueParts.scalar]))])),
  labels: (fb, b, _field, state) => {
    const L = fb.ids.shape[1]!;
    return Array.from({ length: L }, (_, t) => {
      const id = fb.ids.data[b * L + t];
      const key = vocabWord(state?.keys, fb.keys.data[b * L + t], 2);
      return { label: id === 2 ? `${key}:` : vocabWord(state?.vocabulary, id, 3), real: Boolean(fb.mask.data[b * L + t]) };
    });
  },
  onnx: [
    { key: 'ids', suffix: '', dtype: 'int64', dims: (f) => ['batch', `${f}.length`] },
    { key: 'keys', suffix: '.keys', dtype: 'int64', dims: (f) => ['batch', `${f}.length`] },
    { key: 'mask', suffix: '.mask', dtype: 'bool', dims: (f) => ['batch', `${f}.length`] },
  ],
  tokens: {
    params: (s, need) => [
      { slot: 'embedding', rows: need(s.vocabSize, 'vocabSize'), paddingIdx: 0 }, { slot: 'keyEmbedding', rows: need(s.numKeys, 'numKeys'), paddingIdx: 0 },
    ],
    forward: (x) => ({ tokens: x.add(x.embed('embedding', x.input('ids')), x.embed('keyEmbedding', x.input('keys'))), mask: x.input('mask') }),   // [B, L, C]
  },
  vector: {
    params: (s, need) => [
      { slot: 'embedding', rows: need(s.vocabSize, 'vocabSize'), paddingIdx: 0 }, { slot: 'keyEmbedding', rows: need(s.numKeys, 'numKeys'), paddingIdx: 0 },
    ],
    forward: (x) => x.maskedMean(x.add(x.embed('embedding', x.input('ids')), x.embed('keyEmbedding', x.input('keys'))), x.input('mask')),
  },
  sequence: {
    params: (s, need) => [{ slot: 'embedding', rows: need(s.vocabSize, 'vocabSize'), paddingIdx: 0 }],
    forward: (x) => ({ x: x.embed('embedding', x.input('ids')), mask: x.input('mask') }),
  },
};
