/**
 * A training run described by one config object (the file `attnkit train` reads): where the
 * data is, its schema, the split, the model and the optimisation. `trainOnRecords` runs it on
 * records already in memory (browser-safe); the Node runner reads the files first.
 */
import { Generator } from '../tensor/random.js';
import { ConfigError } from '../errors.js';
import { validateConfig, v } from '../config.js';
import { parseSchema, type Schema } from '../data/schema.js';
import { Preprocessor, type DataRecord, type RowOrigin, type SkippedRow } from '../data/preprocessor.js';
import { splitIndices } from '../data/dataset.js';
import { buildModel, modelConfigSchema } from '../models/build.js';
import type { TaskModel } from '../models/heads.js';
import { evaluate, fit, type FitResult, type EpochRecord, type TargetMetrics } from './fit.js';

const int = v.pipe(v.number(), v.integer(), v.minValue(1));
const frac = v.pipe(v.number(), v.minValue(0), v.maxValue(0.9));

/** The run config's schema (unknown keys are errors at every level). */
export const runConfigSchema = v.strictObject({
  name: v.optional(v.pipe(v.string(), v.minLength(1))),
  seed: v.optional(v.pipe(v.number(), v.integer())),
  data: v.strictObject({
    /** A CSV / TSV / JSONL / JSON file (relative paths resolve against the config file's folder)… */
    path: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** …or a built-in dataset adapter (`attnkit datasets`). */
    dataset: v.optional(v.pipe(v.string(), v.minLength(1))),
    format: v.optional(v.picklist(['csv', 'tsv', 'jsonl', 'json'])),
    onError: v.optional(v.picklist(['throw', 'skip'])),
    limit: v.optional(int),
  }),
  /** Required with data.path; with data.dataset the adapter's schema is the default. */
  schema: v.optional(v.unknown()),
  split: v.optional(v.strictObject({ valid: v.optional(frac), test: v.optional(frac), stratify: v.optional(v.boolean()) })),
  model: modelConfigSchema,
  train: v.optional(v.strictObject({
    epochs: v.optional(int), batchSize: v.optional(int), lr: v.optional(v.pipe(v.number(), v.minValue(Number.MIN_VALUE))),
    warmup: v.optional(frac), weightDecay: v.optional(v.pipe(v.number(), v.minValue(0))), clipNorm: v.optional(v.pipe(v.number(), v.minValue(0))),
    labelSmoothing: v.optional(frac), patience: v.optional(int),
  })),
});
export type RunConfig = v.InferOutput<typeof runConfigSchema>;

/** Validates a run config; throws ConfigError with the path of every problem. */
export function parseRunConfig(input: unknown): RunConfig {
  const c = validateConfig(runConfigSchema, input, 'run config');
  if (!c.data.path === !c.data.dataset) throw new ConfigError('run config: data needs exactly one of path (a file) or dataset (a built-in adapter)');
  if (c.data.path && c.schema === undefined) throw new ConfigError('run config: schema is required when data.path names a file');
  return c;
}

export interface RunResult {
  model: TaskModel;
  preprocessor: Preprocessor;
  split: { train: number[]; valid: number[]; test: number[] };
  history: EpochRecord[];
  fit: FitResult;
  /** Test metrics per target. */
  metrics: Record<string, TargetMetrics>;
  skipped: SkippedRow[];
}

/**
 * Runs a validated config on records: seeded split (stratified by the first target when it is
 * a class), preprocessing fitted on the training rows, model built and fitted, test metrics.
 */
export function trainOnRecords(config: RunConfig, records: DataRecord[], options: { schema?: Schema; origins?: RowOrigin[]; onEpoch?: (r: EpochRecord) => void } = {}): RunResult {
  const schema = parseSchema(config.schema ?? options.schema);
  const seed = config.seed ?? 0;
  const pre0 = Preprocessor.fit(schema, records, { origins: options.origins });
  // encode once with the fitted-on-everything preprocessor only to find bad rows; the model's own preprocessor sees train rows only
  const { skipped } = pre0.encode(records, { origins: options.origins, onError: config.data.onError ?? 'throw' });
  const bad = new Set(skipped.map((s) => s.index));
  const kept = records.filter((_, i) => !bad.has(i));
  const origins = options.origins?.filter((_, i) => !bad.has(i));
  const first = schema.targets[0];
  const stratify = (config.split?.stratify ?? true) && first && first.task !== 'regression'
    ? (() => { const vals = kept.map((r) => String(r[first.name]).trim()); const classes = [...new Set(vals)].sort(); return vals.map((x) => classes.indexOf(x)); })()
    : undefined;
  const split = splitIndices(kept.length, { seed, valid: config.split?.valid ?? 0.1, test: config.split?.test ?? 0.2, stratify });
  const preprocessor = Preprocessor.fit(schema, split.train.map((i) => kept[i]), { origins: origins && split.train.map((i) => origins[i]) });
  const { dataset } = preprocessor.encode(kept, { origins });
  const model = buildModel(config.model, preprocessor.fieldInfo(), preprocessor.targetInfo(), new Generator(seed));
  const t = config.train ?? {};
  const result = fit(model, dataset, split, { ...t, epochs: t.epochs ?? 10, seed, onEpoch: options.onEpoch });
  return { model, preprocessor, split, history: result.history, fit: result, metrics: evaluate(model, dataset, split.test), skipped };
}
