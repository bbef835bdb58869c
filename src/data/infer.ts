/**
 * A starter schema from records (what `attnkit init` writes): each column typed from its
 * contents, with the counts that led to the choice, so a user edits a schema instead of typing
 * one. Browser-safe: it sees records, not files.
 *
 * - numeric: every present cell a decimal number (integers with at most `intCategories`
 *   distinct values are categorical codes instead);
 * - categorical: strings with few distinct values, or short strings with many (then the
 *   `maxCategories` most frequent are kept and the rest share the unknown id);
 * - text: strings of several words with a growing vocabulary;
 * - keyValue: objects, or `k=v;k=v` cells;
 * - timeSeries: arrays of numbers, or cells of three or more numbers;
 * - excluded: row IDs (every value distinct; not calendar years 1800–2100 nor a column named like
 *   a quantity of time, such as `year` or `age`, unless its name says ID), near-unique short strings (names), dates (no
 *   date kind), and columns with no present value.
 * Missing markers (empty, NA, N/A, ?, null, -…) are counted per column.
 */
import { ConfigError, DataError, clipText, previewList } from '../errors.js';
import { checkOptions } from '../config.js';
import { cellNumber, decimalNumber } from './float32.js';
import { KV_CELL, tokenize } from './text.js';
import type { FieldSpec, TargetSpec, TaskKind } from './schema.js';
import type { DataRecord } from './preprocessor.js';
import { DEFAULT_MISSING } from './missing.js';

/**
 * Strings `inferSchema` reads as missing markers when a field's column holds them (written into
 * the field's `missing` list): the readers' DEFAULT_MISSING and more. A target takes only
 * DEFAULT_MISSING (a target spec has no `missing` list: training skips only those rows).
 */
export const MISSING_MARKERS = [...DEFAULT_MISSING, 'n/a', 'na', 'Null', 'none', '-', '--', '.', '#N/A', 'missing'];

/** The thresholds `inferSchema` types columns by (each one is named in the comment of the fields it decides). */
export const INFER_DEFAULTS = {
  /** Integer columns with at most this many distinct values are categorical codes. */
  intCategories: 10,
  /** String columns with at most this many distinct values are categorical. */
  categories: 50,
  /** Short-string columns with more distinct values keep this many categories (the rest share 'unknown'). */
  maxCategories: 50,
  /** Strings averaging at least this many words (with more distinct values than `categories`) are text. */
  textWords: 3,
  /** A target with at most this many distinct integer values is a class target, not a regression. */
  classLimit: 20,
} as const;

/** One column's inferred field (or why it was left out), and the comment explaining it. */
export interface InferredField {
  name: string;
  /** The field to write, or null when the column is excluded. */
  spec: FieldSpec | null;
  /** One line saying why: the counts that led to the kind. */
  reason: string;
}

export interface InferredTarget { spec: TargetSpec; reason: string; missing: number }

export interface InferredSchema {
  fields: InferredField[];
  target: InferredTarget;
  /** Records looked at. */
  rows: number;
  columns: string[];
}

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(3));
const pct = (a: number, b: number): string => `${Math.round((100 * a) / b)}%`;
const q = (s: string): string => `'${clipText(s.replace(/[\r\n\t]+/g, ' '), 24)}'`;


interface ColumnStats {
  n: number;
  present: unknown[];
  markers: Map<string, number>;
  /** Marker strings other than DEFAULT_MISSING were kept as values (a binary target's). */
  markersAsValues?: boolean;
}

/** A date or date-time cell: 2021-03-04, 04/03/2021, 12-Jun-98, 2021-03-04T10:00Z, Jun 12, 1998. */
const DATE = /^(\d{4}-\d{1,2}-\d{1,2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{1,2}-[A-Za-z]{3}-\d{2,4}|[A-Za-z]{3,9} \d{1,2},? \d{4})$/;

function columnStats(records: readonly DataRecord[], name: string, marker: ReadonlySet<string> = new Set(MISSING_MARKERS)): ColumnStats {
  const present: unknown[] = [], markers = new Map<string, number>();
  for (const r of records) {
    const x = r[name];
    if (x === null || x === undefined || (typeof x === 'number' && Number.isNaN(x))) { markers.set('null', (markers.get('null') ?? 0) + 1); continue; }
    if (typeof x === 'string' && marker.has(x.trim())) { const k = x.trim(); markers.set(k, (markers.get(k) ?? 0) + 1); continue; }
    present.push(x);
  }
  return { n: records.length, present, markers };
}

function counts(values: readonly string[]): [string, number][] {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

function markerNote(s: ColumnStats): string {
  if (s.markers.size === 0) return '';
  const parts = [...s.markers].sort((a, b) => b[1] - a[1]).map(([k, c]) => `${c} ${k === '' ? 'empty' : k === 'null' ? 'null' : q(k)}`);
  return `; missing: ${parts.join(', ')}`;
}

/**
 * The `missing` list a field needs: none while every marker seen is a default one (null needs
 * none); else DEFAULT_MISSING and the others seen — a field's list replaces the defaults, so a
 * list of only the markers seen would turn an 'NA' after the sample into a bad cell.
 */
function missingList(s: ColumnStats): string[] | undefined {
  const extra = [...s.markers.keys()].filter((k) => k !== 'null' && !DEFAULT_MISSING.includes(k));
  return extra.length ? [...DEFAULT_MISSING, ...extra] : undefined;
}

// a quantity of time (a year, a month, an age…): distinct integers in such a column are data, not row IDs
const isTimeName = (name: string): boolean => /(^|[_\s.-])(year|yr|month|day|week|hour|age|period|season|date|time)s?([_\s.-]|$)/i.test(name)
  || /^(year|yr|month|day|week|hour|age|period|season|date|time)s?$/i.test(name) || /[a-z](Year|Month|Day|Age)$/.test(name);
// distinct integers that all look like calendar years (1800–2100)
const looksLikeYears = (lo: number, hi: number): boolean => lo >= 1800 && hi <= 2100;
const isIdName = (name: string): boolean => /(^|[_\s.-])id$|^id([_\s.-]|$)|[a-z]Id$|^ID/.test(name) || /^(id|uuid|guid|key|index|row)$/i.test(name);

function isSeries(x: unknown): number[] | null {
  if (Array.isArray(x)) return x.every((e) => typeof e === 'number' && Number.isFinite(e)) && x.length > 0 ? x as number[] : null;
  if (typeof x !== 'string') return null;
  const parts = x.split(/[\s,;]+/).filter((p) => p !== '');
  if (parts.length < 3) return null;
  const ns = parts.map(decimalNumber);
  return ns.every(Number.isFinite) ? ns : null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
}

/** Types one column. */
function inferField(name: string, s: ColumnStats, o: typeof INFER_DEFAULTS): InferredField {
  const { present, n } = s;
  const m = markerNote(s);
  const missing = missingList(s);
  const withMissing = <T extends object>(spec: T): T => (missing ? { ...spec, missing } : spec);
  if (present.length === 0) return { name, spec: null, reason: `excluded: no present value in ${n} rows${m}` };
  // objects and k=v cells → key–value
  if (present.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x))) {
    const keys = new Set(present.flatMap((x) => Object.keys(x as object)));
    return { name, spec: withMissing({ name, kind: 'keyValue', minCount: 1 }) as FieldSpec, reason: `keyValue: ${present.length} objects with ${keys.size} distinct keys${m}` };
  }
  if (present.every((x) => typeof x === 'string' && KV_CELL.test(x))) {
    const keys = new Set(present.flatMap((x) => (x as string).split(';').map((p) => p.split('=')[0].trim()).filter((k) => k)));
    return { name, spec: withMissing({ name, kind: 'keyValue', minCount: 1 }) as FieldSpec, reason: `keyValue: ${present.length} 'k=v;k=v' cells with ${keys.size} distinct keys${m}` };
  }
  // sequences of numbers → time series
  const series = present.map(isSeries);
  if (series.every((x) => x !== null)) {
    const lens = series.map((x) => x!.length), med = median(lens);
    if (med >= 3) {
      const patchSize = Math.max(1, Math.ceil(med / 16));
      return {
        name, spec: withMissing({ name, kind: 'timeSeries', patchSize }) as FieldSpec,
        reason: `timeSeries: ${present.length} sequences of numbers, ${Math.min(...lens)}–${Math.max(...lens)} long (median ${med}); patchSize ${patchSize} makes about ${Math.ceil(med / patchSize)} patches${m}`,
      };
    }
  }
  const nums = present.map((x) => (typeof x === 'boolean' ? NaN : cellNumber(x)));
  if (nums.every(Number.isFinite)) {
    const distinct = new Set(nums).size;
    const ints = nums.every(Number.isInteger);
    const lo = Math.min(...nums), hi = Math.max(...nums);
    if (ints && present.length >= 10 && distinct === present.length && (isIdName(name) || (hi - lo + 1 <= 2 * present.length && !isTimeName(name) && !looksLikeYears(lo, hi)))) {
      return { name, spec: null, reason: `excluded: looks like a row ID (${distinct} distinct integers in ${present.length} rows, ${fmt(lo)}–${fmt(hi)})${m}` };
    }
    if (ints && distinct <= o.intCategories) {
      const top = counts(nums.map(String)).slice(0, 5).map(([k, c]) => `${k}: ${c}`).join(', ');
      return {
        name, spec: withMissing({ name, kind: 'categorical' }) as FieldSpec,
        reason: `categorical: integer codes with ${distinct} distinct values (≤ ${o.intCategories}; ${top}); make it numeric if the order matters${m}`,
      };
    }
    return { name, spec: withMissing({ name, kind: 'numeric' }) as FieldSpec, reason: `numeric: ${present.length} ${ints ? 'integers' : 'decimal numbers'}, ${distinct} distinct, ${fmt(lo)} to ${fmt(hi)}${m}` };
  }
  // strings (and booleans, mixed cells): categorical, text or an ID
  const strs = present.map((x) => (typeof x === 'string' ? x.trim() : typeof x === 'object' ? JSON.stringify(x) : String(x)));
  const freq = counts(strs), distinct = freq.length;
  const words = strs.map((x) => tokenize(x).length);
  const avgWords = words.reduce((a, b) => a + b, 0) / strs.length;
  const vocab = new Set(strs.flatMap((x) => tokenize(x))).size;
  const dates = strs.filter((x) => DATE.test(x)).length;
  if (dates === strs.length && distinct > o.categories) {
    return { name, spec: null, reason: `excluded: dates (${dates} cells like ${q(strs[0])}); there is no date kind: derive a number (year, day of the week) or make it categorical${m}` };
  }
  if (distinct > o.categories && avgWords >= o.textWords) {
    const p95 = [...words].sort((a, b) => a - b)[Math.floor(0.95 * (words.length - 1))];
    const maxLength = Math.min(256, Math.max(8, p95));
    return {
      name, spec: withMissing({ name, kind: 'text', maxLength }) as FieldSpec,
      reason: `text: ${distinct} distinct strings of ${avgWords.toFixed(1)} words on average (≥ ${o.textWords}), ${vocab} distinct words; maxLength ${maxLength} keeps 95% whole${m}`,
    };
  }
  if (present.length >= 10 && distinct === present.length) {
    return { name, spec: null, reason: `excluded: looks like a row ID (${distinct} distinct values in ${present.length} rows, ${avgWords.toFixed(1)} words each)${m}` };
  }
  if (present.length >= 10 && distinct >= 0.95 * present.length) {
    return { name, spec: null, reason: `excluded: nearly every value distinct (${distinct} of ${present.length}, ${avgWords.toFixed(1)} words each): an ID or a name; make it text if its words matter${m}` };
  }
  const top = freq.slice(0, 4).map(([k, c]) => `${q(k)} ${c}`).join(', ');
  if (distinct <= o.categories) {
    return { name, spec: withMissing({ name, kind: 'categorical' }) as FieldSpec, reason: `categorical: ${distinct} distinct values (≤ ${o.categories}): ${top}${distinct > 4 ? ', …' : ''}${m}` };
  }
  const covered = freq.slice(0, o.maxCategories).reduce((a, [, c]) => a + c, 0);
  return {
    name, spec: withMissing({ name, kind: 'categorical', maxCategories: o.maxCategories }) as FieldSpec,
    reason: `categorical: ${distinct} distinct short values (${avgWords.toFixed(1)} words); the ${o.maxCategories} most frequent cover ${pct(covered, present.length)} of rows, the others share the 'unknown' id (other)${m}`,
  };
}

/** Types the target: the task (forced by `task`, else from the values) with its classes or positive class. */
function inferTarget(name: string, s: ColumnStats, task: TaskKind | undefined, o: typeof INFER_DEFAULTS): InferredTarget {
  const { present } = s;
  const missing = s.n - present.length;
  if (present.length === 0) throw new DataError(`inferSchema: target '${clipText(name)}' has no value in ${s.n} rows`);
  const strs = present.map((x) => (typeof x === 'string' ? x.trim() : String(x)));
  const freq = counts(strs);
  const nums = present.map((x) => (typeof x === 'boolean' ? NaN : cellNumber(x)));
  const numeric = nums.every(Number.isFinite);
  const ints = numeric && nums.every(Number.isInteger);
  const asClass = s.markersAsValues ? freq.filter(([k]) => MISSING_MARKERS.includes(k)) : [];
  const miss = (missing ? `; ${missing} rows without a target are skipped (data.onError: skip)` : '')
    + (asClass.length ? `; ${asClass.map(([k, c]) => `${q(k)} ${c}`).join(', ')} ${asClass.length > 1 ? 'are classes' : 'is a class'} here: a binary target's rows are skipped only when it is ${DEFAULT_MISSING.map((m) => (m === '' ? 'empty' : m)).join(', ')} (the others would be negatives), so replace ${asClass.length > 1 ? 'them' : 'it'} in the file to skip those rows` : '');
  const list = freq.slice(0, 6).map(([k, c]) => `${q(k)} ${c}`).join(', ') + (freq.length > 6 ? ', …' : '');
  const guess: TaskKind = freq.length === 2 ? 'binary' : numeric && !(ints && freq.length <= o.classLimit) ? 'regression'
    : freq.length <= Math.max(o.classLimit, o.categories) ? 'multiclass' : 'regression';
  const t = task ?? guess;
  const forced = task && task !== guess ? ` (--task ${task}; the values suggest ${guess})` : '';
  if (t === 'regression') {
    if (!numeric) {
      const bad = strs.find((x, i) => !Number.isFinite(nums[i]));
      throw new ConfigError(`init: target '${clipText(name)}' is not numeric (e.g. ${q(bad ?? '')}; ${freq.length} distinct values), so it cannot be a regression target; pass --task binary or --task multiclass`);
    }
    return { spec: { name, task: 'regression' }, missing, reason: `regression: ${freq.length} distinct numbers, ${fmt(Math.min(...nums))} to ${fmt(Math.max(...nums))}${forced}${miss}` };
  }
  if (t === 'binary') {
    if (freq.length !== 2) throw new ConfigError(`init: --task binary needs a target with 2 distinct values; '${clipText(name)}' has ${freq.length} (${list})${miss}`);
    const TRUE = /^(1|true|yes|y|t|positive|pos)$/i;
    const named = freq.find(([k]) => TRUE.test(k));
    const positive = named ? named[0] : freq[1][0];   // the rarer class (counts sorted, most frequent first)
    const why = named ? `'${positive}' reads as the positive class` : `the rarer class is positive`;
    return {
      spec: { name, task: 'binary', positive }, missing,
      reason: `binary: 2 classes, ${list}; positive ${q(positive)} (${why}; change 'positive' if you care about the other)${forced}${miss}`,
    };
  }
  if (freq.length > 1000) throw new ConfigError(`init: --task multiclass with ${freq.length} distinct values in target '${clipText(name)}'; is it a regression target?`);
  const classes = freq.map(([k]) => k).sort(numeric ? (a, b) => Number(a) - Number(b) : undefined);   // 1, 2, 10 as numbers
  return { spec: { name, task: 'multiclass', classes }, missing, reason: `multiclass: ${freq.length} classes, ${list}${forced}${miss}` };
}

/**
 * Types every column of `records` and the target (see the module comment for the rules).
 * Throws ConfigError when `target` is not a column (listing the columns), DataError when there
 * are no records or the target has no value.
 *
 * @example
 * const s = data.inferSchema(records, 'species');
 * s.fields.map((f) => f.spec?.kind ?? 'excluded');   // ['categorical', 'numeric', …]
 * s.target.spec;                                       // { name: 'species', task: 'multiclass', classes: [...] }
 */
export function inferSchema(records: readonly DataRecord[], target: string, options: { task?: TaskKind } & Partial<typeof INFER_DEFAULTS> = {}): InferredSchema {
  checkOptions('inferSchema', options, { task: true, intCategories: true, categories: true, maxCategories: true, textWords: true, classLimit: true });
  const { task, ...rest } = options;
  const o = { ...INFER_DEFAULTS, ...rest };
  if (records.length === 0) throw new DataError('inferSchema: no records (the file is empty or has only a header)');
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const r of records) for (const k of Object.keys(r)) if (!seen.has(k) && k !== '') { seen.add(k); columns.push(k); }
  if (!seen.has(target)) throw new ConfigError(`init: no column '${clipText(target)}' to predict; the columns are [${previewList(columns.map((c) => `'${clipText(c)}'`), 12, 300)}]`);
  const fields = columns.filter((c) => c !== target).map((c) => inferField(c, columnStats(records, c), o));
  if (!fields.some((f) => f.spec)) throw new ConfigError(`init: no column besides the target '${clipText(target)}' can be a field (${fields.map((f) => `${f.name}: ${f.reason}`).join('; ') || 'there is no other column'})`);
  const ts = columnStats(records, target);
  let inferred = inferTarget(target, ts, task, o);
  // A binary target's spec names its positive and every other value is a negative: only
  // DEFAULT_MISSING rows are skipped. Other markers seen are then values, said so, not "skipped".
  if (inferred.spec.task === 'binary' && [...ts.markers.keys()].some((k) => k !== 'null' && !DEFAULT_MISSING.includes(k))) {
    inferred = inferTarget(target, { ...columnStats(records, target, new Set(DEFAULT_MISSING)), markersAsValues: true }, task, o);
  }
  return { fields, target: inferred, rows: records.length, columns };
}
