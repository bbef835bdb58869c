/** A text field: word or character tokens with a fitted vocabulary (0 pad, 1 unknown); one token per word. */
import type { Tensor } from '../../tensor/tensor.js';
import { v } from '../../config.js';
import { encoderCodec, padRows, specParts, vocabWord, type FieldKindDef, checkFieldSpec } from './fieldKindDef.js';
import { DataError } from '../../errors.js';
import { missingTest } from '../missing.js';
import { Vocabulary, tokenize } from '../text.js';

const schema = v.strictObject({
  ...specParts.common, kind: v.literal('text'),
  tokenizer: v.optional(v.picklist(['word', 'char'])), maxLength: v.optional(specParts.int),
  maxVocab: v.optional(specParts.int), minCount: v.optional(specParts.int), lowercase: v.optional(v.boolean()),
});
export type TextSpec = v.InferOutput<typeof schema>;

function asText(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new DataError(`${where}: expected text, got ${Array.isArray(value) ? 'an array' : typeof value}`);
}

export interface TextState { vocabulary: string[] }

/** A text field → token ids (at most `maxLength`, default 128; none when missing). */
export class TextFieldEncoder {
  private readonly isMissing: (v: unknown) => boolean;
  vocab: Vocabulary | null = null;
  constructor(readonly spec: TextSpec, state: TextState | null = null) {
    checkFieldSpec('TextFieldEncoder', spec);
    this.isMissing = missingTest(spec.missing);
    if (state) this.vocab = new Vocabulary(state.vocabulary, 2);
  }
  private tokens(value: unknown, where: string): string[] {
    if (this.isMissing(value)) return [];
    return tokenize(asText(value, where), this.spec.tokenizer ?? 'word', this.spec.lowercase ?? true);
  }
  get maxLength(): number { return this.spec.maxLength ?? 128; }
  fit(values: unknown[], where: (i: number) => string): void {
    this.vocab = Vocabulary.fit(values.map((v, i) => this.tokens(v, where(i)).slice(0, this.maxLength)),
      { minCount: this.spec.minCount ?? 2, maxVocab: this.spec.maxVocab ?? 20000, offset: 2 });
  }
  encode(value: unknown, where: string): Int32Array {
    if (!this.vocab) throw new DataError(`TextFieldEncoder(${this.spec.name}).encode: fit first`);
    return Int32Array.from(this.tokens(value, where).slice(0, this.maxLength), (t) => this.vocab!.id(t));
  }
  state(): TextState { return { vocabulary: this.vocab!.tokens }; }
}

export interface TextColumn { kind: 'text'; rows: Int32Array[] }
/** ids [B, L] int32, mask [B, L] bool */
export interface TextBatch { kind: 'text'; ids: Tensor; mask: Tensor }

export const textField: FieldKindDef<TextSpec, TextState, Int32Array, TextColumn, TextBatch> = {
  schema,
  codec(spec, state) {
    const e = new TextFieldEncoder(spec, state);
    return encoderCodec(e, {
      sizes: () => ({ vocabSize: e.vocab!.size, maxLength: e.maxLength }),
      column: (cells) => ({ kind: 'text', rows: cells }),
    });
  },
  batch: (c, rows) => ({ kind: 'text', ...padRows(c.rows, rows) }),
  value: v.nullable(v.string()),
  labels: (fb, b, _field, state) => {
    const L = fb.ids.shape[1]!;
    return Array.from({ length: L }, (_, t) => ({ label: vocabWord(state?.vocabulary, fb.ids.data[b * L + t], 2), real: Boolean(fb.mask.data[b * L + t]) }));
  },
  onnx: [
    { key: 'ids', suffix: '', dtype: 'int64', dims: (f) => ['batch', `${f}.length`] },
    { key: 'mask', suffix: '.mask', dtype: 'bool', dims: (f) => ['batch', `${f}.length`] },
  ],
  tokens: {
    params: (s, need) => [{ slot: 'embedding', rows: need(s.vocabSize, 'vocabSize'), paddingIdx: 0 }, { slot: 'position', rows: need(s.maxLength, 'maxLength') }],
    forward: (x) => ({ tokens: x.add(x.embed('embedding', x.input('ids')), x.positions(x.input('ids'))), mask: x.input('mask') }),   // [B, L, C]
  },
  // a learned bag of words
  vector: {
    params: (s, need) => [{ slot: 'embedding', rows: need(s.vocabSize, 'vocabSize'), paddingIdx: 0 }],
    forward: (x) => x.maskedMean(x.embed('embedding', x.input('ids')), x.input('mask')),
  },
  sequence: {
    params: (s, need) => [{ slot: 'embedding', rows: need(s.vocabSize, 'vocabSize'), paddingIdx: 0 }],
    forward: (x) => ({ x: x.embed('embedding', x.input('ids')), mask: x.input('mask') }),
  },
};
