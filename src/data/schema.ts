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

/** Values read as missing unless a field says otherwise. */
export const DEFAULT_MISSING = ['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', 'None', '?'];

const int = v.pipe(v.number(), v.integer(), v.minValue(1));
const common = {
  name: v.pipe(v.string(), v.minLength(1)),
  /** The source a field comes from (e.g. 'headers', 'body'); fusion strategies group tokens by it. */
  source: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** Strings that mean "missing" (default DEFAULT_MISSING); null, undefined and NaN always do. */
  missing: v.optional(v.array(v.string())),
};

const fieldSchema = v.variant('kind', [
  v.strictObject({
    ...common, kind: v.literal('numeric'),
    /** 'standard' (z-score, default), 'quantile' (rank → standard normal, robust to outliers), 'none'. */
    normalize: v.optional(v.picklist(['standard', 'quantile', 'none'])),
    /** log1p before normalising (for counts and skewed amounts; values must be > −1). */
    log: v.optional(v.boolean()),
  }),
  v.strictObject({
    ...common, kind: v.literal('categorical'),
    maxCategories: v.optional(int), minCount: v.optional(int),
  }),
  v.strictObject({
    ...common, kind: v.literal('text'),
    tokenizer: v.optional(v.picklist(['word', 'char'])), maxLength: v.optional(int),
    maxVocab: v.optional(int), minCount: v.optional(int), lowercase: v.optional(v.boolean()),
  }),
  v.strictObject({
    ...common, kind: v.literal('keyValue'),
    /** Keep at most this many pairs per record (default 32), and value tokens per pair (default 8). */
    maxPairs: v.optional(int), maxValueTokens: v.optional(int),
    maxKeys: v.optional(int), maxVocab: v.optional(int), minCount: v.optional(int),
  }),
  v.strictObject({
    ...common, kind: v.literal('timeSeries'),
    patchSize: int, maxPatches: v.optional(int),
    normalize: v.optional(v.picklist(['standard', 'instance', 'none'])),
  }),
  v.strictObject({
    ...common, kind: v.literal('image'),
    height: int, width: int, channels: v.optional(int), patchSize: int,
    /** Divide pixel values by this (default 1; 255 for 8-bit images). */
    scale: v.optional(v.pipe(v.number(), v.minValue(Number.MIN_VALUE))),
  }),
]);

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

export type FieldSpec = v.InferOutput<typeof fieldSchema>;
export type FieldKind = FieldSpec['kind'];
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
