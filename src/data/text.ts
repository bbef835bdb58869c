/**
 * Tokens for the text and key–value kinds (src/data/fields/text.ts, keyValue.ts): a word or
 * character tokenizer, a fitted frequency-ordered vocabulary, and key–value parsing.
 * Token ids: 0 = padding, 1 = unknown; key–value values also use 2 = the pair's key marker.
 */
import { DataError, ValueError, kindOf } from '../errors.js';
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
    if (!Array.isArray(tokens)) throw new ValueError(`Vocabulary: tokens must be a list of strings, got ${kindOf(tokens)}`);
    if (!Number.isInteger(offset) || offset < 0) throw new ValueError(`Vocabulary: offset must be a non-negative integer (the ids reserved before the tokens), got ${String(offset)}`);
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

/** One line of `key=value` pairs joined by ';' (keys hold no ':', so a "Key: a=b" header line is not one). */
export const KV_CELL = /^\s*[^=;:\n]+=[^;\n]*(;\s*[^=;:\n]+=[^;\n]*)*;?\s*$/;

/**
 * Parses a key–value value: an object ({ key: value }), an array of [key, value] pairs, a
 * `k=v;k=v` cell, or a header block ("Key: value" lines; indented lines continue the previous
 * value, as RFC 5322).
 */
export function parsePairs(value: unknown, where: string): [string, string][] {
  if (typeof value === 'string' && KV_CELL.test(value)) {
    return value.split(';').filter((p) => p.trim()).map((p) => { const e = p.indexOf('='); return [p.slice(0, e).trim(), p.slice(e + 1).trim()]; });
  }
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

