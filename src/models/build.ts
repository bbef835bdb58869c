/**
 * Models from a config (JSON/YAML): `{ type: 'fusion' | 'mlp' | 'linear' | 'textCnn' | 'tcn' |
 * 'cnn2d', …options }` validated (unknown keys are errors) and built for a fitted schema.
 */
import type { Generator } from '../tensor/random.js';
import { validateConfig, v } from '../config.js';
import type { FieldInfo, TargetInfo } from '../data/preprocessor.js';
import { FusionModel, fusionConfigSchema } from './fusion.js';
import { LinearModel, MLPModel, SmallCNN2d, TCN, TextCNN } from './baselines.js';
import type { TaskModel } from './heads.js';

const int = v.pipe(v.number(), v.integer(), v.minValue(1));
const prob = v.pipe(v.number(), v.minValue(0), v.maxValue(0.9));
const fieldName = v.pipe(v.string(), v.minLength(1));

/** The schema of a model config. */
export const modelConfigSchema = v.variant('type', [
  v.strictObject({ type: v.literal('fusion'), ...fusionConfigSchema.entries }),
  v.strictObject({ type: v.literal('mlp'), fields: v.optional(v.array(fieldName)), width: v.optional(int), hidden: v.optional(v.array(int)), dropout: v.optional(prob) }),
  v.strictObject({ type: v.literal('linear'), fields: v.optional(v.array(fieldName)) }),
  v.strictObject({ type: v.literal('textCnn'), field: fieldName, dim: v.optional(int), channels: v.optional(int), kernelSizes: v.optional(v.array(int)), dropout: v.optional(prob) }),
  v.strictObject({ type: v.literal('tcn'), field: fieldName, dim: v.optional(int), levels: v.optional(int), kernelSize: v.optional(int) }),
  v.strictObject({
    type: v.literal('cnn2d'), field: fieldName, height: int, width: int, channels: v.optional(int), patchSize: int, filters: v.optional(v.array(int)),
  }),
]);
export type ModelConfig = v.InferOutput<typeof modelConfigSchema>;

/** A model config's options without its `type` (the constructors refuse keys they do not define). */
function withoutType<T extends { type: string }>(c: T): Omit<T, 'type'> {
  const { type: _t, ...rest } = c;
  return rest;
}

/**
 * @example
 * const model = models.buildModel({ type: 'fusion', strategy: 'early', dim: 32 }, pre.fieldInfo(), pre.targetInfo(), rng);
 */
export function buildModel(config: unknown, fields: FieldInfo[], targets: TargetInfo[], rng: Generator): TaskModel {
  const c = validateConfig(modelConfigSchema, config, 'buildModel');
  switch (c.type) {
    case 'fusion': { const { type: _t, ...rest } = c; return new FusionModel(fields, targets, rest, rng); }
    case 'mlp': return new MLPModel(fields, targets, { ...withoutType(c), rng });
    case 'linear': return new LinearModel(fields, targets, { ...withoutType(c), rng });
    case 'textCnn': return new TextCNN(fields, targets, { ...withoutType(c), rng });
    case 'tcn': return new TCN(fields, targets, { ...withoutType(c), rng });
    case 'cnn2d': return new SmallCNN2d(fields, targets, { ...withoutType(c), rng });
  }
}
