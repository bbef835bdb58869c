/**
 * Fits any TaskModel (fusion model or baseline) on an EncodedDataset: shuffled mini-batches,
 * AdamW with linear warm-up and cosine decay, gradient clipping, early stopping on the
 * validation loss with the best weights restored; `evaluate` reports per-target metrics.
 * The full Trainer (checkpoints, resumable runs, logs, callbacks) builds on this loop.
 */
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { ValueError } from '../errors.js';
import { backward, noGrad } from '../autograd/tape.js';
import type { EncodedDataset } from '../data/dataset.js';
import type { TargetInfo } from '../data/preprocessor.js';
import { taskLoss, type TaskModel } from '../models/heads.js';
import { AdamW, clipGradNorm } from './optim.js';
import { accuracy, macroF1, mae, r2, rmse, rocAuc } from './metrics.js';

export interface FitOptions {
  epochs: number;
  /** Seeds batch order (dropout masks come from the model's own generator). */
  seed: number;
  batchSize?: number;
  /** Peak learning rate (default 1e-3), reached after `warmup` of the steps (default 0.05), cosine-decayed to 0. */
  lr?: number;
  warmup?: number;
  weightDecay?: number;
  /** Gradient clipping by global norm (default 1; 0 = off). */
  clipNorm?: number;
  labelSmoothing?: number;
  /** Stop after this many epochs without a better validation loss (default: never). */
  patience?: number;
  /** Called after every epoch. */
  onEpoch?: (record: EpochRecord) => void;
}

export interface EpochRecord { epoch: number; trainLoss: number; validLoss: number | null; lr: number; seconds: number }

export interface FitResult { history: EpochRecord[]; bestEpoch: number; bestValidLoss: number | null }

function checkRows(fn: string, rows: readonly number[], n: number): void {
  if (!Array.isArray(rows) || rows.length === 0) throw new ValueError(`${fn}: rows must be a non-empty array of row indices`);
  for (const r of rows) if (!Number.isInteger(r) || r < 0 || r >= n) throw new ValueError(`${fn}: row ${r} is outside the dataset [0, ${n})`);
}

/** Mean loss over rows without gradients (eval mode). */
export function meanLoss(model: TaskModel, ds: EncodedDataset, rows: readonly number[], batchSize = 256): number {
  return noGrad(() => {
    const was = model.training;
    model.eval();
    let sum = 0;
    for (const idx of ds.batches(batchSize, undefined, rows)) {
      const b = ds.batch(idx);
      sum += taskLoss(model.targets, model.forward(b).outputs, b).item() * b.size;
    }
    model.train(was);
    return sum / rows.length;
  });
}

/**
 * @example
 * const { train, valid, test } = data.splitIndices(ds.size, { seed: 0 });
 * const result = fit(model, ds, { train, valid }, { epochs: 10, seed: 0 });
 * const metrics = evaluate(model, ds, test);   // { label: { accuracy, f1, auc, … } }
 */
export function fit(model: TaskModel, ds: EncodedDataset, split: { train: number[]; valid?: number[] }, options: FitOptions): FitResult {
  checkRows('fit', split.train, ds.size);
  if (split.valid?.length) checkRows('fit', split.valid, ds.size);
  if (!Number.isInteger(options.epochs) || options.epochs < 1) throw new ValueError(`fit: epochs must be a positive integer, got ${options.epochs}`);
  const rng = new Generator(options.seed);
  const batchSize = options.batchSize ?? 32;
  const peak = options.lr ?? 1e-3;
  const opt = new AdamW(model.parameters(), { lr: peak, weightDecay: options.weightDecay ?? 0.01 });
  const stepsPerEpoch = Math.ceil(split.train.length / batchSize);
  const total = stepsPerEpoch * options.epochs;
  const warm = Math.max(1, Math.round((options.warmup ?? 0.05) * total));
  const lrAt = (step: number): number => (step < warm ? peak * (step + 1) / warm : peak * 0.5 * (1 + Math.cos(Math.PI * (step - warm) / Math.max(1, total - warm))));
  const history: EpochRecord[] = [];
  let best = Infinity, bestEpoch = 0, bestState: Float32Array[] | null = null, step = 0;
  const params = model.parameters();
  model.train();
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const t0 = Date.now();
    let lossSum = 0, n = 0;
    for (const idx of ds.batches(batchSize, rng, split.train)) {
      const b = ds.batch(idx);
      opt.options.lr = lrAt(step++);
      const loss = taskLoss(model.targets, model.forward(b).outputs, b, { labelSmoothing: options.labelSmoothing });
      const value = loss.item();
      if (!Number.isFinite(value)) throw new ValueError(`fit: the loss became ${value} at epoch ${epoch}; lower lr (now ${opt.options.lr.toExponential(2)})`);
      opt.zeroGrad();
      backward(loss);
      if ((options.clipNorm ?? 1) > 0) clipGradNorm(params, options.clipNorm ?? 1);
      opt.step();
      lossSum += value * b.size;
      n += b.size;
    }
    const validLoss = split.valid?.length ? meanLoss(model, ds, split.valid) : null;
    const rec: EpochRecord = { epoch, trainLoss: lossSum / n, validLoss, lr: opt.options.lr!, seconds: (Date.now() - t0) / 1000 };
    history.push(rec);
    options.onEpoch?.(rec);
    if (validLoss !== null && validLoss < best) {
      best = validLoss; bestEpoch = epoch;
      bestState = params.map((p) => Float32Array.from(p.data as Float32Array));
    } else if (validLoss !== null && options.patience !== undefined && epoch - bestEpoch >= options.patience) break;
  }
  if (bestState) params.forEach((p, i) => (p.data as Float32Array).set(bestState![i]));
  model.eval();
  return { history, bestEpoch: bestState ? bestEpoch : history.length, bestValidLoss: bestState ? best : null };
}

/** Per target: binary probabilities of 1, multi-class class probabilities [n·K], regression values in target units. */
export function predict(model: TaskModel, ds: EncodedDataset, rows: readonly number[], options: { batchSize?: number; denormalize?: (target: string, v: number) => number } = {}): Record<string, Float32Array> {
  checkRows('predict', rows, ds.size);
  return noGrad(() => {
    const was = model.training;
    model.eval();
    const out: Record<string, number[]> = Object.fromEntries(model.targets.map((t) => [t.name, []]));
    for (const idx of ds.batches(options.batchSize ?? 256, undefined, rows)) {
      const y = model.forward(ds.batch(idx)).outputs;
      for (const t of model.targets) out[t.name].push(...toScores(t, y[t.name]));
    }
    model.train(was);
    const res: Record<string, Float32Array> = {};
    for (const t of model.targets) {
      const vals = out[t.name];
      res[t.name] = Float32Array.from(t.task === 'regression' ? vals.map((v) => denorm(t, v, options.denormalize)) : vals);
    }
    return res;
  });
}

function denorm(t: TargetInfo, v: number, f?: (target: string, v: number) => number): number {
  if (f) return f(t.name, v);
  return t.mean !== undefined ? v * t.std! + t.mean : v;
}

function toScores(t: TargetInfo, y: Tensor): number[] {
  const d = Array.from(y.data as Float32Array);
  if (t.task === 'binary') return d.map((z) => 1 / (1 + Math.exp(-z)));
  if (t.task === 'regression') return d;
  const K = t.outputs, out: number[] = [];
  for (let i = 0; i < d.length; i += K) {
    const row = d.slice(i, i + K), m = Math.max(...row);
    const e = row.map((z) => Math.exp(z - m)), s = e.reduce((a, b) => a + b, 0);
    out.push(...e.map((z) => z / s));
  }
  return out;
}

/** Metrics per target: binary accuracy / F1 / AUC; multi-class accuracy / macro F1; regression MAE / RMSE / R² (target units). */
export type TargetMetrics = Record<string, number>;

export function evaluate(model: TaskModel, ds: EncodedDataset, rows: readonly number[]): Record<string, TargetMetrics> {
  const preds = predict(model, ds, rows);
  const out: Record<string, TargetMetrics> = {};
  for (const t of model.targets) {
    const col = ds.targets[t.name];
    if (!col) throw new ValueError(`evaluate: the dataset has no target '${t.name}' (encode with targets)`);
    const truth = rows.map((r) => col.values[r]);
    const p = preds[t.name];
    if (t.task === 'binary') {
      const labels = Array.from(p, (s) => (s >= 0.5 ? 1 : 0));
      out[t.name] = { accuracy: accuracy(labels, truth), f1: macroF1(labels, truth, 2).f1, auc: rocAuc(p, truth) };
    } else if (t.task === 'multiclass') {
      const K = t.outputs;
      const labels = rows.map((_, i) => { let best = 0; for (let k = 1; k < K; k++) if (p[i * K + k] > p[i * K + best]) best = k; return best; });
      out[t.name] = { accuracy: accuracy(labels, truth), f1: macroF1(labels, truth, K).f1 };
    } else {
      const y = truth.map((v) => denorm(t, v));
      out[t.name] = { mae: mae(p, y), rmse: rmse(p, y), r2: r2(p, y) };
    }
  }
  return out;
}
