/**
 * A key–value field (e-mail headers, JSON objects): per pair a key-marker token and value tokens,
 * each tagged with its key id; a token is its value embedding plus its key embedding.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { v } from '../../config.js';
import { encoderCodec, padRows, specParts, valueParts, vocabWord, type FieldKindDef, checkFieldSpec } from './fieldKindDef.js';
import { DataError } from '../../errors.js';
import { missingTest } from '../missing.js';
import { KEY_MARKER_ID, Vocabulary, parsePairs, tokenize } from '../text.js';

const schema = v.strictObject({
  ...specParts.common, kind: v.literal('keyValue'),
  /** Keep at most this many pairs per record (default 32), and value tokens per pair (default 8). */
  maxPairs: v.optional(specParts.int), maxValueTokens: v.optional(specParts.int),
  maxKeys: v.optional(specParts.int), maxVocab: v.optional(specParts.int), minCount: v.optional(specParts.int),
});
export type KeyValueSpec = v.InferOutput<typeof schema>;

/** One encoded key–value record: value-token ids and, per token, the id of the key it belongs to. */
export interface KeyValueCell { ids: Int32Array; keys: Int32Array }
export interface KeyValueState { keys: string[]; vocabulary: string[] }

/**
 * A key–value field → per pair a key-marker token then up to `maxValueTokens` (default 8)
 * value tokens, each tagged with its key id (0 pad, 1 unknown key, 2… fitted keys, case-folded).
 * At most `maxPairs` pairs (default 32) in record order.
 */
export class KeyValueEncoder {
  private readonly isMissing: (v: unknown) => boolean;
  keyVocab: Vocabulary | null = null;
  vocab: Vocabulary | null = null;
  constructor(readonly spec: KeyValueSpec, state: KeyValueState | null = null) {
    checkFieldSpec('KeyValueEncoder', spec);
    this.isMissing = missingTest(spec.missing);
    if (state) { this.keyVocab = new Vocabulary(state.keys, 2); this.vocab = new Vocabulary(state.vocabulary, 3); }
  }
  private pairs(value: unknown, where: string): [string, string[]][] {
    if (this.isMissing(value)) return [];
    const n = this.spec.maxValueTokens ?? 8;
    return parsePairs(value, where).slice(0, this.spec.maxPairs ?? 32).map(([k, v]) => [k.toLowerCase(), tokenize(v).slice(0, n)]);
  }
  fit(values: unknown[], where: (i: number) => string): void {
    const all = values.map((v, i) => this.pairs(v, where(i)));
    this.keyVocab = Vocabulary.fit(all.map((ps) => ps.map(([k]) => k)), { minCount: this.spec.minCount ?? 2, maxVocab: this.spec.maxKeys ?? 256, offset: 2 });
    this.vocab = Vocabulary.fit(all.flatMap((ps) => ps.map(([, t]) => t)), { minCount: this.spec.minCount ?? 2, maxVocab: this.spec.maxVocab ?? 20000, offset: 3 });
  }
  /** Longest token sequence one record can produce. */
  get maxLength(): number { return (this.spec.maxPairs ?? 32) * (1 + (this.spec.maxValueTokens ?? 8)); }
  encode(value: unknown, where: string): KeyValueCell {
    if (!this.vocab || !this.keyVocab) throw new DataError(`KeyValueEncoder(${this.spec.name}).encode: fit first`);
    const ids: number[] = [], keys: number[] = [];
    for (const [k, toks] of this.pairs(value, where)) {
      const kid = this.keyVocab.id(k);
      ids.push(KEY_MARKER_ID); keys.push(kid);
      for (const t of toks) { ids.push(this.vocab.id(t)); keys.push(kid); }
    }
    return { ids: Int32Array.from(ids), keys: Int32Array.from(keys) };
  }
  state(): KeyValueState { return { keys: this.keyVocab!.tokens, vocabulary: this.vocab!.tokens }; }
}

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
