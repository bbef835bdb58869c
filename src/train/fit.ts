/**
 * `fit`: the Trainer in one call, for code that needs no checkpoints.
 */
import type { EncodedDataset } from '../data/dataset.js';
import type { TaskModel } from '../models/heads.js';
import { Trainer, type EpochRecord, type FitResult } from './trainer.js';
import type { TrainOptions } from './trainOptions.js';
import { ValueError } from '../errors.js';

export interface FitOptions extends TrainOptions {
  epochs: number;
  /** Seeds the batch order (dropout draws from the model's own generators). */
  seed: number;
  onEpoch?: (record: EpochRecord) => void;
}

/**
 * @example
 * const { train, valid, test } = data.splitIndices(ds.size, { seed: 0 });
 * const result = fit(model, ds, { train, valid }, { epochs: 10, seed: 0 });
 * const metrics = evaluate(model, ds, test);   // { label: { accuracy, f1, auc, … } }
 */
export function fit(model: TaskModel, ds: EncodedDataset, split: { train: number[]; valid?: number[] }, options: FitOptions): FitResult {
  const { seed, onEpoch, ...rest } = options;
  if (!Number.isInteger(seed)) throw new ValueError(`fit: options.seed must be an integer (it seeds the batch order), got ${String(seed)}`);
  const trainer = new Trainer(model, ds, split, rest, { seed });
  if (onEpoch) trainer.callbacks.push({ onEpochEnd: onEpoch });
  return trainer.run();
}
