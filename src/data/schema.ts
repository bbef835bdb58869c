/**
 * The data schema: what each field of a record is and how it is encoded. Written in code or
 * in a config file (JSON/YAML); `parseSchema` validates it (unknown keys are errors).
 *
 * @example
 * const schema = data.parseSchema({
 *   fields: [
 *     { name: 'age', kind: 'numeric', normalize: 'standard' },
 *     { name: 'sector', kind: 'categorical' },
 *     { name: 'body', kind: 'text', maxLength: 128, source: 'email' } ],
 *   targets: [{ name: 'label', task: 'binary', positive: 'spam' }] });
 */
import { validateConfig, v } from '../config.js';
import { ConfigError } from '../errors.js';
import { fieldKinds, type FieldSpec } from './fields/index.js';

export { DEFAULT_MISSING } from './missing.js';

/** One entry per field kind, from the kinds' table (src/data/fields). */
const fieldSchema = v.variant('kind', Object.values(fieldKinds).map((d) => d.schema) as unknown as v.VariantOptions<'kind'>) as unknown as v.GenericSchema<unknown, FieldSpec>;

const targetSchema = v.strictObject({
  name: v.pipe(v.string(), v.minLength(1)),
  task: v.picklist(['binary', 'multiclass', 'regression']),
  /** Binary: the value that means 1 (default: 1, true, '1', 'true', 'yes'). */
  positive: v.optional(v.union([v.string(), v.number(), v.boolean()])),
  /** Multiclass: the class order (default: sorted values seen when fitting). */
  classes: v.optional(v.array(v.string())),
  /** Loss weight in multi-task training (default 1). */
  weight: v.optional(v.pipe(v.number(), v.minValue(0))),
  /** Regression loss: 'mse' (default), 'mae' (L1) or 'huber' (δ = 1 on the standardised target). */
  loss: v.optional(v.picklist(['mse', 'mae', 'huber'])),
  /**
   * Classification: 'balanced' weighs classes by n / (K·countₖ) from the training rows
   * (binary: positives by negatives / positives), or explicit weights in class order.
   */
  classWeights: v.optional(v.union([v.literal('balanced'), v.array(v.pipe(v.number(), v.minValue(0)))])),
});

const schemaSchema = v.strictObject({
  fields: v.pipe(v.array(fieldSchema), v.minLength(1)),
  targets: v.optional(v.array(targetSchema)),
});

export type { FieldSpec, FieldKind } from './fields/index.js';
export type TargetSpec = v.InferOutput<typeof targetSchema>;
export type TaskKind = TargetSpec['task'];

/** A validated schema: fields in order and the targets (possibly none, for prediction). */
export interface Schema {
  fields: FieldSpec[];
  targets: TargetSpec[];
}

/** Validates a schema object; throws ConfigError naming the path of every problem. */
export function parseSchema(input: unknown): Schema {
  const s = validateConfig(schemaSchema, input, 'parseSchema');
  const names = new Set<string>();
  for (const f of [...s.fields, ...(s.targets ?? [])]) {
    if (names.has(f.name)) throw new ConfigError(`parseSchema: '${f.name}' is declared twice (fields and targets need distinct names)`);
    names.add(f.name);
  }
  return { fields: s.fields, targets: s.targets ?? [] };
}
