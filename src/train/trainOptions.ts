/**
 * The Trainer's options as a config's `train:` section gives them (checked: unknown keys are
 * errors), and the defaults it uses for those a config leaves out.
 */
import { positiveNumber, v } from '../config.js';
import { scheduleSchema } from './schedules.js';

const int = v.pipe(v.number(), v.integer(), v.minValue(1));
const nonNeg = v.pipe(v.number(), v.minValue(0));

/** Training options as in a config's `train:` section (unknown keys are errors). */
export const trainOptionsSchema = v.strictObject({
  epochs: v.optional(int),
  batchSize: v.optional(int),
  /** 'lbfgs': full-batch L-BFGS to the optimum of the mean loss + (weightDecay/2)·‖w‖² (fitLbfgs), for the linear model (its default). */
  optimizer: v.optional(v.picklist(['adamw', 'adam', 'sgd', 'lbfgs'])),
  /** Peak learning rate (default TRAIN_DEFAULTS.lr, 3e-3). */
  lr: v.optional(positiveNumber),
  momentum: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(0.999))),
  nesterov: v.optional(v.boolean()),
  weightDecay: v.optional(nonNeg),
  /** Exempt biases, norms and embeddings from weight decay (default true). */
  decayExempt: v.optional(v.boolean()),
  schedule: v.optional(scheduleSchema),
  /** Shorthand for schedule { type: 'cosine', warmup }. */
  warmup: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  /** Clip the global gradient norm (default 1; 0 = off). */
  clipNorm: v.optional(nonNeg),
  /** Micro-batches per optimiser step (default 1). */
  accumulate: v.optional(int),
  labelSmoothing: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(0.9))),
  /** Stop after this many epochs without a better validation loss. */
  patience: v.optional(int),
  /**
   * Exponential moving average of the weights, decay in [0, 1) (0: off, the default). After each
   * optimiser step the average moves toward the weights by 1 − min(ema, (1 + t)/(10 + t)) at step t;
   * validation, the best epoch's weights and the trained model are the average's. Not with 'lbfgs'.
   */
  ema: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(0.9999))),
  /** Remedies for over-concentrated or redundant attention (early-fusion models expose the maps they need). */
  remedies: v.optional(v.strictObject({
    /** λ·(−mean entropy), or with `floor` λ·mean relu(floor − entropy) (nats). */
    entropy: v.optional(v.strictObject({ weight: nonNeg, floor: v.optional(nonNeg) })),
    /** λ·mean pairwise cosine similarity of the heads' maps. */
    diversity: v.optional(v.strictObject({ weight: nonNeg })),
    /** Drop whole heads with probability p: 'constant', or 'v' (Zhou et al.: p → 0 at mid-training → p). */
    dropHead: v.optional(v.strictObject({ p: v.pipe(v.number(), v.minValue(0), v.maxValue(0.9)), schedule: v.optional(v.picklist(['constant', 'v'])) })),
  })),
});
export type TrainOptions = v.InferOutput<typeof trainOptionsSchema>;

/**
 * What the trainer uses for the options a config leaves out (`attnkit init` writes them out).
 * Chosen by the tabular suite's one-factor sweep (docs/EXPERIMENTS.md, the tabular suite;
 * `scripts/tabular.ts sweep`): 60 epochs with early stopping after 12 without a better
 * validation loss, lr 3e-3 and weight decay 1e-2 had the best mean rank of validation loss over
 * breast cancer, penguins, Seattle weather and CPS wages (was 10 epochs at 1e-3, no early stop).
 */
export const TRAIN_DEFAULTS = { epochs: 60, batchSize: 32, lr: 3e-3, optimizer: 'adamw', weightDecay: 0.01, warmup: 0.05, clipNorm: 1, patience: 12, ema: 0 } as const;
