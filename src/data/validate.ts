/**
 * Strict checks of raw records against the fields a model was fitted on, for inputs that come
 * from outside (an HTTP request, a queue): every key must be a known field (or a target, which
 * is ignored), and every value must have a type its field kind can encode; numbers must fit
 * float32. What passes is then encoded by the `Preprocessor`, which checks the values
 * themselves (numeric strings, values after normalising, patch counts).
 */
import { DataError } from '../errors.js';
import { checkOptions, validateConfig, v } from '../config.js';
import type { DataRecord, FieldInfo, TargetInfo } from './preprocessor.js';
import { fieldKindOf } from './fields/index.js';

/** The valibot schema of one record: known fields optional (absent = missing), targets allowed, nothing else. */
export function recordSchema(fields: readonly FieldInfo[], targets: readonly Pick<TargetInfo, 'name'>[] = []): v.GenericSchema<unknown, DataRecord> {
  const entries: Record<string, v.GenericSchema> = {};
  for (const t of targets) entries[t.name] = v.optional(v.unknown());
  for (const f of fields) entries[f.name] = v.optional(fieldKindOf(f.kind).value);
  return v.strictObject(entries) as unknown as v.GenericSchema<unknown, DataRecord>;
}

/**
 * Checks `input` (one record object, or `{ records: [...] }`) and returns the records; throws
 * DataError naming the path, e.g. `predict: invalid request — records[1].bill: Invalid type …`.
 * At most `maxRecords` (default 1000) records.
 *
 * @example
 * const records = data.validateRecords(pre.fieldInfo(), body, { where: 'POST /predict', targets: pre.targetInfo() });
 */
export function validateRecords(
  fields: readonly FieldInfo[], input: unknown, options: { where?: string; targets?: readonly Pick<TargetInfo, 'name'>[]; maxRecords?: number } = {},
): DataRecord[] {
  checkOptions('validateRecords', options, { where: true, targets: true, maxRecords: true });
  const where = options.where ?? 'validateRecords';
  const max = options.maxRecords ?? 1000;
  const record = recordSchema(fields, options.targets);
  const isBatch = typeof input === 'object' && input !== null && !Array.isArray(input) && 'records' in input;
  const schema = isBatch
    ? v.strictObject({ records: v.pipe(v.array(record), v.minLength(1, 'expected at least one record'), v.maxLength(max, `at most ${max} records per request`)) })
    : record;
  const fieldList = fields.map((f) => f.name).join(', ');
  const out = validateConfig(schema, input, where, { noun: 'request', error: DataError, unknownKey: `unknown field (the model's fields: ${fieldList})` });
  return isBatch ? (out as { records: DataRecord[] }).records : [out as DataRecord];
}

/**
 * The columns of a whole input against the model's fields: `absent` — fields no record has at
 * all (a renamed column reads as missing in every row, and the model predicts from nothing);
 * `unknown` — named keys that are neither fields nor targets (ignored when encoding). Both in
 * order of appearance. Prediction commands warn about both, or refuse them when asked to be
 * strict.
 *
 * @example
 * const { absent, unknown } = data.fieldCoverage(pre.fieldInfo(), records, pre.targetInfo());
 */
export function fieldCoverage(
  fields: readonly Pick<FieldInfo, 'name'>[], records: readonly DataRecord[], targets: readonly Pick<TargetInfo, 'name'>[] = [],
): { absent: string[]; unknown: string[] } {
  const seen = recordColumns(records);
  const known = new Set([...fields.map((f) => f.name), ...targets.map((t) => t.name)]);
  return { absent: fields.map((f) => f.name).filter((n) => !seen.has(n)), unknown: [...seen].filter((k) => k !== '' && !known.has(k)) };
}

/** Every key that some record has (its own, not inherited): the columns of a file's rows. */
export function recordColumns(records: readonly DataRecord[]): Set<string> {
  const seen = new Set<string>();
  for (const r of records) for (const k in r) if (Object.prototype.hasOwnProperty.call(r, k)) seen.add(k);
  return seen;
}
