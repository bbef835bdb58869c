/**
 * A training run described by one config object (the file `attnkit train` reads): where the
 * data is, its schema, the split, the model and the optimisation. `trainOnRecords` runs it on
 * records already in memory (browser-safe); the Node runner reads the files first.
 */
import { Generator } from '../tensor/random.js';
import { ConfigError, DataError } from '../errors.js';
import { checkOptions, validateConfig, v } from '../config.js';
import { parseSchema, type Schema } from '../data/schema.js';
import { Preprocessor, type DataRecord, type PreprocessorState, type RowOrigin, type SkippedRow } from '../data/preprocessor.js';
import { classKey, SPLIT_DEFAULTS, splitIndices, type EncodedDataset } from '../data/dataset.js';
import { buildModel, modelConfigSchema } from '../models/build.js';
import type { TaskModel } from '../models/heads.js';
import { evaluate, type TargetMetrics } from './evaluate.js';
import { Trainer, type EpochRecord, type FitResult, type TrainerCallbacks } from './trainer.js';
import { trainOptionsSchema } from './trainOptions.js';

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
    /**
     * How `limit` takes a built-in dataset's rows (the adapters list them class by class): 'stratified'
     * (the default) keeps each class's share of the rows, in the adapter's order within a class; 'first'
     * the first n (how runs saved before 0.2.0 took them). A file's limit is always its first n rows.
     */
    limitBy: v.optional(v.picklist(['first', 'stratified'])),
    /** The file's text encoding: 'utf-8' (default; bytes that are not UTF-8 are an error) or 'latin1'. */
    encoding: v.optional(v.picklist(['utf-8', 'latin1'])),
  }),
  /** Required with data.path; with data.dataset the adapter's schema is the default. */
  schema: v.optional(v.unknown()),
  /** Fractions of the rows held out (defaults 0.1 and 0.2); valid + test must leave rows to train on. */
  split: v.optional(v.pipe(
    v.strictObject({ valid: v.optional(frac), test: v.optional(frac), stratify: v.optional(v.boolean()) }),
    v.check((s) => (s.valid ?? SPLIT_DEFAULTS.valid) + (s.test ?? SPLIT_DEFAULTS.test) < 1,
      (i) => { const s = i.input as { valid?: number; test?: number }; return `valid + test (${s.valid ?? SPLIT_DEFAULTS.valid} + ${s.test ?? SPLIT_DEFAULTS.test}) must be below 1, leaving rows to train on`; }),
  )),
  model: modelConfigSchema,
  train: v.optional(trainOptionsSchema),
});
export type RunConfig = v.InferOutput<typeof runConfigSchema>;

/** Validates a run config; throws ConfigError with the path of every problem. */
export function parseRunConfig(input: unknown): RunConfig {
  const c = validateConfig(runConfigSchema, input, 'run config');
  if (!c.data.path === !c.data.dataset) throw new ConfigError('run config: data needs exactly one of path (a file) or dataset (a built-in adapter)');
  if (c.data.path && c.schema === undefined) throw new ConfigError('run config: schema is required when data.path names a file');
  if (c.data.path && c.data.limitBy === 'stratified') throw new ConfigError("run config: data.limitBy 'stratified' is for a built-in dataset; a file's limit takes its first rows");
  return c;
}

/** A run ready to train: data encoded, model built, trainer configured (attach callbacks, resume, then `trainer.run()`). */
export interface PreparedRun {
  config: RunConfig;
  model: TaskModel;
  preprocessor: Preprocessor;
  dataset: EncodedDataset;
  split: { train: number[]; valid: number[]; test: number[] };
  trainer: Trainer;
  skipped: SkippedRow[];
  /** The records kept (bad rows dropped), in dataset row order. */
  records: DataRecord[];
}

export interface RunResult extends PreparedRun {
  history: EpochRecord[];
  fit: FitResult;
  /** Test metrics per target; null when the split has no test rows (`split.test: 0`, or too few rows for one). */
  metrics: Record<string, TargetMetrics> | null;
}

/**
 * Encodes the data and builds model and trainer for a validated config: bad rows dropped
 * (or a DataError), a seeded split (stratified by the first target when it is a class),
 * preprocessing fitted on the training rows. A resumed run passes the saved preprocessor
 * state and split so nothing is refitted.
 */
export function prepareRun(config: RunConfig, records: DataRecord[], options: {
  schema?: Schema; origins?: RowOrigin[]; preprocessor?: PreprocessorState; split?: PreparedRun['split'];
} = {}): PreparedRun {
  checkOptions('prepareRun', options, { schema: true, origins: true, preprocessor: true, split: true });
  const schema = parseSchema(config.schema ?? options.schema);
  const seed = config.seed ?? 0;
  let skipped: SkippedRow[] = [];
  let kept = records, origins = options.origins;
  if (config.data.onError === 'skip') {
    // find bad rows with a preprocessor fitted on everything; the model's own sees training rows only
    skipped = Preprocessor.fit(schema, records, { origins, onError: 'skip' }).encode(records, { origins, onError: 'skip' }).skipped;
    const bad = new Set(skipped.map((s) => s.index));
    kept = records.filter((_, i) => !bad.has(i));
    origins = origins?.filter((_, i) => !bad.has(i));
  }
  const first = schema.targets[0];
  const classes = (): number[] => {
    const vals = kept.map((r) => classKey(r[first.name]));
    const names = [...new Set(vals)].sort();
    return vals.map((x) => names.indexOf(x));
  };
  const stratify = (config.split?.stratify ?? true) && first && first.task !== 'regression' ? classes() : undefined;
  const split = options.split ?? splitIndices(kept.length, { seed, valid: config.split?.valid ?? 0.1, test: config.split?.test ?? 0.2, stratify });
  if (split.train.length === 0) {
    throw new DataError(`prepareRun: the split leaves no training rows (${kept.length} row${kept.length === 1 ? '' : 's'}: ${split.valid.length} valid, ${split.test.length} test); give more rows or lower split.valid / split.test`);
  }
  const preprocessor = options.preprocessor ? Preprocessor.fromState(options.preprocessor)
    : Preprocessor.fit(schema, split.train.map((i) => kept[i]), { origins: origins && split.train.map((i) => origins![i]) });
  const { dataset } = preprocessor.encode(kept, { origins });
  const model = buildModel(config.model, preprocessor.fieldInfo(), preprocessor.targetInfo(), new Generator(seed));
  const trainer = new Trainer(model, dataset, split, config.train ?? {}, { seed });
  return { config, model, preprocessor, dataset, split, trainer, skipped, records: kept };
}

/** prepareRun, train, and test metrics. */
export function trainOnRecords(config: RunConfig, records: DataRecord[], options: { schema?: Schema; origins?: RowOrigin[]; callbacks?: TrainerCallbacks } = {}): RunResult {
  checkOptions('trainOnRecords', options, { schema: true, origins: true, callbacks: true });
  const run = prepareRun(config, records, { schema: options.schema, origins: options.origins });
  if (options.callbacks) run.trainer.callbacks.push(options.callbacks);
  const result = run.trainer.run();
  return { ...run, history: result.history, fit: result, metrics: testMetrics(run) };
}

/** Test metrics of a prepared (trained) run, or null when its split has no test rows. */
export function testMetrics(run: Pick<PreparedRun, 'model' | 'dataset' | 'split'>): Record<string, TargetMetrics> | null {
  return run.split.test.length ? evaluate(run.model, run.dataset, run.split.test) : null;
}
