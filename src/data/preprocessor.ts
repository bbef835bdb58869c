/**
 * The fitted preprocessing of a schema: one encoder per field and the target encodings.
 * `Preprocessor.fit(schema, records)` learns statistics and vocabularies from training rows;
 * `encode(records)` turns any rows into an EncodedDataset; `state()` is plain JSON saved with
 * the model and `Preprocessor.fromState` restores it exactly.
 */
import { DataError, clipText, preview, previewList } from '../errors.js';
import { parseSchema, type Schema, type TargetSpec, type TaskKind } from './schema.js';
import { missingTest } from './missing.js';
import { recordColumns } from './validate.js';
import { cellNumber, checkFloat32, finiteCell, fitsFloat32 } from './float32.js';
import { fieldKindOf, type Column, type FieldKind, type FieldState } from './fields/index.js';
import type { FieldCodec, FieldSizes } from './fields/fieldKindDef.js';
import { EncodedDataset, type TargetColumn } from './dataset.js';
import { checkOptions } from '../config.js';

/** A record: field name → value, as read from CSV (strings), JSON (any JSON value) or code. */
export type DataRecord = Record<string, unknown>;

/** Where a record came from, for error messages (`file:line`). */
export interface RowOrigin { file?: string; line?: number }

export interface EncodeOptions {
  /** One origin per record (readers provide them). */
  origins?: readonly RowOrigin[];
  /** 'throw' (default): the first bad row is a DataError; 'skip': bad rows are left out and reported. */
  onError?: 'throw' | 'skip';
  /** Encode targets (default: when the schema has them). Prediction inputs pass false. */
  targets?: boolean;
}

/** A row `encode` left out, with the reason. */
export interface SkippedRow { index: number; origin: string; reason: string }

type AnyCodec = FieldCodec<FieldState, unknown, Column>;

/** What a model needs to know about a fitted field to build its encoder module: its name, kind, source and sizes. */
export interface FieldInfo extends FieldSizes {
  name: string;
  kind: FieldKind;
  /** The source it belongs to (defaults to the field's own name). */
  source: string;
}

/** What a model needs to know about a target to build its head. */
export interface TargetInfo {
  name: string;
  task: TaskKind;
  /** Outputs of the head: 1 (binary, regression) or the number of classes. */
  outputs: number;
  /** Class names in id order: multi-class, and binary [negative, positive] (the positive is class 1). */
  classes?: string[];
  weight: number;
  /** Regression: the fitted mean and std (targets are standardised; predictions are mapped back). */
  mean?: number;
  std?: number;
  /** Regression only: its loss ('mse' unless the schema says otherwise). */
  loss?: 'mse' | 'mae' | 'huber';
  /** Classification: per-class loss weights in class order (binary: [negative, positive]). */
  classWeights?: number[];
}

interface TargetState { classes?: string[]; mean?: number; std?: number; classWeights?: number[] }

/** The JSON state of a fitted preprocessor. */
export interface PreprocessorState {
  schema: Schema;
  fields: Record<string, FieldState>;
  targets: Record<string, TargetState>;
}

// positive / negative as well: a run trained while the `sentiment` dataset said 1 / 0 reads its words now
const TRUE = new Set(['1', 'true', 'yes', 'y', 't', 'positive', 'pos']);
const FALSE = new Set(['0', 'false', 'no', 'n', 'f', 'negative', 'neg']);

/** ' in <file>' of the first row's origin, or nothing. */
function fromWhere(origins?: readonly RowOrigin[]): string {
  const o = origins?.[0] ? originOf(0, origins).split(':')[0] : '';
  return o ? ` in ${o}` : '';
}

/** The columns the records have, and the one a misspelt name probably meant (same letters, other case or spacing). */
function columnHint(name: string, columns: ReadonlySet<string>): string {
  const norm = (x: string): string => x.toLowerCase().replace(/[\s_-]+/g, '');
  const near = [...columns].find((c) => norm(c) === norm(name));
  return `${near !== undefined ? `did you mean '${clipText(near)}'? ` : ''}the records' columns: ${previewList([...columns].map((c) => `'${clipText(c, 40)}'`), 8, 160)}`;
}

function originOf(i: number, origins?: readonly RowOrigin[]): string {
  const o = origins?.[i];
  return `${o?.file ?? 'records'}:${o?.line ?? `row ${i + 1}`}`;
}

/**
 * @example
 * const pre = data.Preprocessor.fit(schema, trainRecords);
 * const { dataset } = pre.encode(records);       // EncodedDataset
 * const batch = dataset.batch([0, 1, 2]);        // tensors with masks
 * const again = data.Preprocessor.fromState(JSON.parse(JSON.stringify(pre.state())));
 */
export class Preprocessor {
  private readonly codecs: AnyCodec[];
  private constructor(readonly schema: Schema, private readonly targetStates: Record<string, TargetState>, states: Record<string, FieldState>) {
    this.codecs = schema.fields.map((f) => fieldKindOf(f.kind).codec(f, states[f.name] ?? null));
  }

  /**
   * Fits every field's encoder and the targets on `records` (the training rows). A class target's
   * values must read as its classes and hold two classes or more (else a DataError naming the row or
   * the class); with `onError: 'skip'` a value that does not read is left out of the fit, as
   * `encode(…, { onError: 'skip' })` then drops its row.
   */
  static fit(schemaInput: Schema | unknown, records: readonly DataRecord[], options: { origins?: readonly RowOrigin[]; onError?: 'throw' | 'skip' } = {}): Preprocessor {
    checkOptions('Preprocessor.fit', options, { origins: true, onError: true });
    const schema = parseSchema(schemaInput);
    if (records.length === 0) throw new DataError('Preprocessor.fit: no records to fit on');
    const pre = new Preprocessor(schema, {}, {});
    // a misspelt field would fit as missing in every row, and train so without a word
    const columns = recordColumns(records);
    for (const f of schema.fields) if (!columns.has(f.name)) throw new DataError(`Preprocessor.fit: field '${clipText(f.name)}' is a column of no record${fromWhere(options.origins)}; ${columnHint(f.name, columns)}`);
    schema.fields.forEach((f, k) => {
      pre.codecs[k].fit(records.map((r) => r[f.name]), (i) => `${originOf(i, options.origins)}: field '${f.name}'`);
    });
    for (const t of schema.targets) pre.targetStates[t.name] = fitTarget(t, records, columns, options.origins, options.onError === 'skip');
    return pre;
  }

  /** Restores a preprocessor from `state()` (e.g. read back from a run directory). */
  static fromState(state: PreprocessorState): Preprocessor {
    if (!state || typeof state !== 'object' || !state.schema || !state.fields) throw new DataError('Preprocessor.fromState: expected { schema, fields, targets }');
    return new Preprocessor(parseSchema(state.schema), { ...(state.targets ?? {}) }, state.fields);
  }

  state(): PreprocessorState {
    const fields: Record<string, FieldState> = {};
    this.schema.fields.forEach((f, k) => { fields[f.name] = this.codecs[k].state(); });
    return { schema: this.schema, fields, targets: this.targetStates };
  }

  fieldInfo(): FieldInfo[] {
    return this.schema.fields.map((f, k) => ({ name: f.name, kind: f.kind, source: f.source ?? f.name, ...this.codecs[k].sizes() }));
  }

  targetInfo(): TargetInfo[] {
    return this.schema.targets.map((t) => {
      const s = this.targetStates[t.name] ?? {};
      return {
        name: t.name, task: t.task, weight: t.weight ?? 1,
        outputs: t.task === 'multiclass' ? s.classes!.length : 1,
        // binary: runs saved before binary targets kept their names have none
        classes: t.task === 'multiclass' ? s.classes : t.task === 'binary' ? s.classes ?? ['0', '1'] : undefined,
        mean: s.mean, std: s.std, ...(t.task === 'regression' ? { loss: t.loss ?? 'mse' } : {}), classWeights: s.classWeights,
      };
    });
  }

  /** Encodes records into columns; bad rows throw (default) or are skipped and listed. */
  encode(records: readonly DataRecord[], options: EncodeOptions = {}): { dataset: EncodedDataset; skipped: SkippedRow[] } {
    checkOptions('Preprocessor.encode', options, { origins: true, onError: true, targets: true });
    const withTargets = options.targets ?? this.schema.targets.length > 0;
    const skipped: SkippedRow[] = [];
    const fieldRows: unknown[][] = this.schema.fields.map(() => []);
    const targetRows: number[][] = this.schema.targets.map(() => []);
    records.forEach((rec, i) => {
      const origin = originOf(i, options.origins);
      try {
        if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) throw new DataError(`${origin}: a record must be an object of fields, got ${Array.isArray(rec) ? 'an array' : typeof rec}`);
        const cells = this.schema.fields.map((f, k) => this.codecs[k].encode(rec[f.name], `${origin}: field '${f.name}'`));
        const ts = withTargets ? this.schema.targets.map((t) => encodeTarget(t, this.targetStates[t.name] ?? {}, rec[t.name], `${origin}: target '${t.name}'`)) : [];
        cells.forEach((c, k) => fieldRows[k].push(c));
        ts.forEach((v, k) => targetRows[k].push(v));
      } catch (e) {
        if (options.onError !== 'skip' || !(e instanceof DataError)) throw e;
        skipped.push({ index: i, origin, reason: e.message });
      }
    });
    const n = records.length - skipped.length;
    const columns: Record<string, Column> = {};
    this.schema.fields.forEach((f, k) => { columns[f.name] = this.codecs[k].column(fieldRows[k]); });
    const targets: Record<string, TargetColumn> = {};
    if (withTargets) this.schema.targets.forEach((t, k) => {
      targets[t.name] = { task: t.task, values: t.task === 'multiclass' ? Int32Array.from(targetRows[k]) : Float32Array.from(targetRows[k]) };
    });
    return { dataset: new EncodedDataset(n, columns, targets), skipped };
  }

  /** Maps a regression head's standardised output back to the target's units. */
  denormalize(target: string, value: number): number {
    const s = this.targetStates[target];
    return s?.mean !== undefined ? value * s.std! + s.mean : value;
  }
}

/** A target's fitted state; with `skip`, a class value that does not encode is left out (encode with onError 'skip' drops its row) instead of a DataError. */
function fitTarget(t: TargetSpec, records: readonly DataRecord[], columns: ReadonlySet<string>, origins: readonly RowOrigin[] | undefined, skip: boolean): TargetState {
  const isMissing = missingTest(undefined);
  const at = records.map((_, i) => i).filter((i) => !isMissing(records[i][t.name]));
  const present = at.map((i) => records[i][t.name]);
  if (present.length === 0) {
    if (!columns.has(t.name)) throw new DataError(`Preprocessor.fit: target '${clipText(t.name)}' is a column of no record${fromWhere(origins)}; ${columnHint(t.name, columns)}`);
    throw new DataError(`Preprocessor.fit: target '${t.name}' has no value in ${originOf(0, origins).split(':')[0]}`);
  }
  if (t.task === 'regression') {
    // a value that is no number, or beyond float32, is left out of the statistics; encode names its row (or skips it)
    const xs = present.map(cellNumber).filter(fitsFloat32);
    if (xs.length === 0) throw new DataError(`Preprocessor.fit: target '${t.name}' has no decimal number within float32 to fit its mean and std (first value: ${preview(present[0])})`);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    return { mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) || 1 };
  }
  if (t.task === 'binary' && t.positive !== undefined) {
    // 'YES' beside positive 'yes' would be read as a negative: almost surely a typo, not a class
    const pos = String(t.positive);
    const twin = present.map((v) => String(v).trim()).find((v) => v !== pos && v.toLowerCase() === pos.toLowerCase());
    if (twin !== undefined) throw new DataError(`Preprocessor.fit: binary target '${t.name}': '${clipText(twin)}' differs from the positive class '${clipText(pos)}' only in case, so it would be read as a negative; fix the data or the positive`);
  }
  const state: TargetState = t.task === 'multiclass' ? { classes: t.classes ?? [...new Set(present.map((v) => String(v).trim()))].sort() }
    : t.task === 'binary' ? { classes: binaryNames(t, present) } : {};
  const K = t.task === 'multiclass' ? state.classes!.length : 2;
  // every training value must encode (a binary 'M' / 'B' without `positive` fails here, not at encode), and a
  // classifier needs two classes among them: one class would train a constant, without a word
  const counts = new Array<number>(K).fill(0);
  present.forEach((v, j) => {
    try {
      counts[encodeTarget(t, state, v, `Preprocessor.fit: ${originOf(at[j], origins)}: target '${t.name}'`)]++;
    } catch (e) {
      if (!skip || !(e instanceof DataError)) throw e;
    }
  });
  const total = counts.reduce((a, b) => a + b, 0);
  if (counts.filter((c) => c > 0).length < 2) {
    const only = counts.findIndex((c) => c > 0);
    const named = only < 0 ? 'none that reads as a class' : `only '${clipText(state.classes![only])}', ${total} row${total === 1 ? '' : 's'}`;
    throw new DataError(`Preprocessor.fit: ${t.task} target '${t.name}' has one class in the training rows (${named}); a classifier needs two or more (more rows, another split, or a regression target)`);
  }
  if (Array.isArray(t.classWeights)) {
    if (t.classWeights.length !== K) throw new DataError(`Preprocessor.fit: target '${t.name}' has ${K} classes but classWeights lists ${t.classWeights.length}`);
    state.classWeights = t.classWeights;
  } else if (t.classWeights === 'balanced') {
    state.classWeights = counts.map((c) => (c ? total / (K * c) : 0));
  }
  return state;
}

/**
 * A binary target's class names [negative, positive] as the training rows spell them: the most
 * frequent spelling of each side ('no' / 'yes', 'B' / 'M'); `not <positive>` when the negatives
 * have several spellings or none; '0' / '1' when a side never occurs.
 */
function binaryNames(t: TargetSpec, present: readonly unknown[]): [string, string] {
  const spell: [Map<string, number>, Map<string, number>] = [new Map(), new Map()];
  for (const v of present) {
    const str = String(v).trim();
    const y = t.positive !== undefined ? (str === String(t.positive) ? 1 : 0) : TRUE.has(str.toLowerCase()) ? 1 : FALSE.has(str.toLowerCase()) ? 0 : -1;
    if (y === 0 || y === 1) spell[y].set(str, (spell[y].get(str) ?? 0) + 1);
  }
  const top = (m: Map<string, number>): string | undefined => [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
  const pos = t.positive !== undefined ? String(t.positive) : top(spell[1]) ?? '1';
  const neg = t.positive !== undefined ? (spell[0].size === 1 ? top(spell[0])! : `not ${pos}`) : top(spell[0]) ?? '0';
  return [neg, pos];
}

function encodeTarget(t: TargetSpec, s: TargetState, value: unknown, where: string): number {
  if (missingTest(undefined)(value)) throw new DataError(`${where}: missing (training and evaluating need every target in a row; predict takes rows without)`);
  const str = String(value).trim();
  if (t.task === 'binary') {
    if (t.positive !== undefined) {
      const pos = String(t.positive);
      if (str === pos) return 1;
      // fitted on one spelling of the negatives, the target reads that one only ('YES' beside 'yes' / 'no' was
      // never seen); several spellings ('not <positive>') mean one class against the rest: any value is negative
      const neg = s.classes?.[0];
      if (neg !== undefined && neg !== `not ${pos}` && str !== neg) throw new DataError(`${where}: ${JSON.stringify(str)} is neither class the target was fitted with ('${clipText(neg)}', and the positive '${clipText(pos)}')`);
      return 0;
    }
    if (TRUE.has(str.toLowerCase())) return 1;
    if (FALSE.has(str.toLowerCase())) return 0;
    throw new DataError(`${where}: a binary target needs 0/1, true/false, yes/no or positive/negative (or set 'positive'), got ${JSON.stringify(value)}`);
  }
  if (t.task === 'multiclass') {
    const k = s.classes!.indexOf(str);
    if (k < 0) throw new DataError(`${where}: class ${JSON.stringify(str)} is not one of the fitted classes [${s.classes!.join(', ')}]`);
    return k;
  }
  return checkFloat32((regressionValue(value, where) - s.mean!) / s.std!, () => `${where}: ${preview(value)}`, 'standardises');
}

/** A regression target's number: a number or decimal text, finite in float32 (else DataError naming `where`). */
function regressionValue(value: unknown, where: string): number {
  return checkFloat32(finiteCell(value, where), () => `${where}: ${preview(value)}`);
}
