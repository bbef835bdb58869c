/**
 * What every model in models/ shares: task heads (binary, multi-class, regression, several at
 * once) and the loss that matches them, so one trainer fits fusion models and baselines alike.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import { ShapeError, ValueError, kindOf } from '../errors.js';
import { add, binaryCrossEntropyWithLogits, crossEntropy, huberLoss, l1Loss, mseLoss, mul, squeeze } from '../ops/index.js';
import { tensor } from '../tensor/creation.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import type { Batch } from '../data/dataset.js';
import type { TargetInfo } from '../data/preprocessor.js';
import { checkOptions } from '../config.js';

/** Per target: binary and regression [B] (logit / standardised value), multi-class [B, K] logits. */
export type TaskOutputs = Record<string, Tensor>;

/**
 * The contract of every model the trainer fits. An ensemble also returns its members' outputs
 * (`members`), which the training loss uses (`modelLoss`); `outputs` is always the prediction.
 */
export interface TaskModel extends Module {
  readonly targets: TargetInfo[];
  forward(batch: Batch): { outputs: TaskOutputs; members?: TaskOutputs[] };
}

/**
 * A model constructor's first two arguments, checked before use: the preprocessor's fieldInfo() and
 * targetInfo() lists (anything else would fail on its first read with a TypeError).
 */
export function checkModelArgs(where: string, fields: unknown, targets: unknown): void {
  if (!Array.isArray(fields)) throw new ValueError(`${where}: fields must be the preprocessor's fieldInfo() list, got ${kindOf(fields)}`);
  if (!Array.isArray(targets)) throw new ValueError(`${where}: targets must be the preprocessor's targetInfo() list, got ${kindOf(targets)}`);
}

/** One linear head per target on a representation [B, D]. Parameters: heads.N (weight, bias). */
export class TaskHeads extends Module {
  heads: Linear[];
  constructor(readonly targets: TargetInfo[], inDim: number, rng: Generator) {
    super();
    if (!Array.isArray(targets)) throw new ValueError(`TaskHeads: targets must be the preprocessor's targetInfo() list, got ${kindOf(targets)}`);
    if (targets.length === 0) throw new ValueError('TaskHeads: a model needs at least one target (schema.targets)');
    this.heads = targets.map((t) => new Linear(inDim, t.outputs, { rng }));
  }
  forward(rep: Tensor): TaskOutputs {
    const out: TaskOutputs = {};
    this.targets.forEach((t, i) => {
      const y = this.heads[i].forward(rep);                                                 // [B, outputs]
      out[t.name] = t.task === 'multiclass' ? y : squeeze(y, -1);
    });
    return out;
  }
}

/**
 * Σₜ weightₜ · lossₜ: binary cross-entropy with logits, cross-entropy (label smoothing,
 * class weights), or MSE / MAE / Huber on the standardised regression target.
 */
export function taskLoss(targets: readonly TargetInfo[], outputs: TaskOutputs, batch: Batch, options: { labelSmoothing?: number } = {}): Tensor {
  checkOptions('taskLoss', options, { labelSmoothing: true });
  let total: Tensor | null = null;
  for (const t of targets) {
    const y = outputs[t.name], target = batch.targets[t.name];
    if (!y || !target) throw new ShapeError(`taskLoss: target '${t.name}' is missing from the ${y ? 'batch (encode with targets)' : 'model outputs'}`);
    const l = t.task === 'binary' ? binaryCrossEntropyWithLogits(y, target, t.classWeights ? { weight: add(mul(target, t.classWeights[1] - t.classWeights[0]), t.classWeights[0]) } : {})
      : t.task === 'multiclass' ? crossEntropy(y, target, { labelSmoothing: options.labelSmoothing, weight: t.classWeights ? tensor(Float32Array.from(t.classWeights), { shape: [t.classWeights.length] }) : undefined })
        : t.loss === 'mae' ? l1Loss(y, target) : t.loss === 'huber' ? huberLoss(y, target) : mseLoss(y, target);
    const w = t.weight === 1 ? l : mul(l, t.weight);
    total = total ? add(total, w) : w;
  }
  return total!;
}

/**
 * The training loss of one forward's result: `taskLoss` of its outputs, or for an ensemble the
 * mean of its members' task losses (each member learns as a model of its own, as in TabM; the
 * averaged prediction is what evaluation and early stopping score).
 */
export function modelLoss(targets: readonly TargetInfo[], result: { outputs: TaskOutputs; members?: TaskOutputs[] }, batch: Batch, options: { labelSmoothing?: number } = {}): Tensor {
  if (!result.members) return taskLoss(targets, result.outputs, batch, options);
  const losses = result.members.map((o) => taskLoss(targets, o, batch, options));
  return mul(losses.reduce((a, b) => add(a, b)), 1 / losses.length);
}
