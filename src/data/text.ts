/**
 * Text and key–value encoders: a word or character tokenizer with a fitted vocabulary, and
 * key–value records (e-mail headers, JSON objects) as key ids plus value tokens.
 * Token ids: 0 = padding, 1 = unknown; key–value values also use 2 = the pair's key marker.
 */
import { DataError } from '../errors.js';
import type { TextSpec } from './fields/text.js';
import type { KeyValueSpec } from './fields/keyValue.js';
import { missingTest } from './missing.js';
import { checkOptions } from '../config.js';

export const PAD_ID = 0;
export const UNK_ID = 1;
export const KEY_MARKER_ID = 2;

/** Splits text into word tokens (letters, digits, apostrophes; punctuation marks kept as tokens) or characters. */
export function tokenize(text: string, mode: 'word' | 'char' = 'word', lowercase = true): string[] {
  const t = lowercase ? text.toLowerCase() : text;
  if (mode === 'char') return Array.from(t);
  return t.match(/[\p{L}\p{N}']+|[!?$%€£@#]/gu) ?? [];
}

/** A frequency-ordered vocabulary: tokens seen ≥ minCount times, the maxVocab most frequent. */
export class Vocabulary {
  private readonly index: Map<string, number>;
  constructor(readonly tokens: string[], readonly offset: number) {
    this.index = new Map(tokens.map((t, i) => [t, i + offset]));
  }
  static fit(streams: Iterable<string[]>, options: { minCount?: number; maxVocab?: number; offset: number }): Vocabulary {
    checkOptions('Vocabulary.fit', options, { minCount: true, maxVocab: true, offset: true });
    const counts = new Map<string, number>();
    for (const toks of streams) for (const t of toks) counts.set(t, (counts.get(t) ?? 0) + 1);
    const min = options.minCount ?? 1;
    const sorted = [...counts].filter(([, c]) => c >= min).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([t]) => t);
    return new Vocabulary(sorted.slice(0, options.maxVocab ?? sorted.length), options.offset);
  }
  /** Number of ids, reserved ones included. */
  get size(): number { return this.tokens.length + this.offset; }
  id(token: string): number { return this.index.get(token) ?? UNK_ID; }
}

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

/** One encoded key–value record: value-token ids and, per token, the id of the key it belongs to. */
export interface KeyValueCell { ids: Int32Array; keys: Int32Array }
export interface KeyValueState { keys: string[]; vocabulary: string[] }

/**
 * Parses a key–value value: an object ({ key: value }), an array of [key, value] pairs, or a
 * header block ("Key: value" lines; indented lines continue the previous value, as RFC 5322).
 */
export function parsePairs(value: unknown, where: string): [string, string][] {
  if (typeof value === 'string') {
    const out: [string, string][] = [];
    for (const line of value.split(/\r?\n/)) {
      if (/^[ \t]/.test(line) && out.length) { out[out.length - 1][1] += ` ${line.trim()}`; continue; }
      const c = line.indexOf(':');
      if (c > 0) out.push([line.slice(0, c).trim(), line.slice(c + 1).trim()]);
    }
    return out;
  }
  if (Array.isArray(value)) {
    return value.map((p, i) => {
      if (!Array.isArray(p) || p.length !== 2) throw new DataError(`${where}: pair ${i} must be [key, value]`);
      return [String(p[0]), p[1] === null || p[1] === undefined ? '' : String(p[1])];
    });
  }
  if (value !== null && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)]);
  }
  throw new DataError(`${where}: expected key–value pairs (object, [key, value] array or "Key: value" lines), got ${typeof value}`);
}

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
