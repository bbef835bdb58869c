/**
 * Evaluation without gradients: mean loss, predictions (probabilities, class probabilities,
 * values in target units) and per-target metrics.
 */
import type { Tensor } from '../tensor/tensor.js';
import { ValueError } from '../errors.js';
import { noGrad } from '../autograd/tape.js';
import type { EncodedDataset } from '../data/dataset.js';
import type { TargetInfo } from '../data/preprocessor.js';
import { taskLoss, type TaskModel } from '../models/heads.js';
import { accuracy, macroF1, mae, r2, rmse, rocAuc } from './metrics.js';
import { checkOptions } from '../config.js';

/** Throws unless rows is a non-empty list of valid row indices. */
export function checkRows(fn: string, rows: readonly number[], n: number): void {
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

/** Per target: binary probabilities of 1, multi-class class probabilities [n·K], regression values in target units. */
export function predict(model: TaskModel, ds: EncodedDataset, rows: readonly number[], options: { batchSize?: number; denormalize?: (target: string, v: number) => number } = {}): Record<string, Float32Array> {
  checkOptions('predict', options, { batchSize: true, denormalize: true });
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

/**
 * Row i of `predict`-style scores as JSON: binary { probability, label }, multi-class
 * { label, probabilities by class }, regression the value (7 significant digits).
 */
export function predictionRecord(targets: readonly TargetInfo[], scores: Record<string, ArrayLike<number>>, i: number): Record<string, unknown> {
  const rec: Record<string, unknown> = {};
  for (const t of targets) {
    const p = scores[t.name];
    if (t.task === 'multiclass') {
      const probs = Array.from({ length: t.outputs }, (_, j) => p[i * t.outputs + j]);
      rec[t.name] = { label: t.classes![probs.indexOf(Math.max(...probs))], probabilities: Object.fromEntries(t.classes!.map((c, j) => [c, Number(probs[j].toFixed(6))])) };
    } else if (t.task === 'binary') rec[t.name] = { probability: Number(p[i].toFixed(6)), label: p[i] >= 0.5 ? 1 : 0 };
    else rec[t.name] = Number(p[i].toPrecision(7));
  }
  return rec;
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

/** Metrics per target: binary accuracy / macro precision, recall, F1 / ROC-AUC; multi-class accuracy / macro precision, recall, F1; regression MAE / RMSE / R² (target units). */
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
      const f = macroF1(labels, truth, 2);
      out[t.name] = { accuracy: accuracy(labels, truth), precision: f.precision, recall: f.recall, f1: f.f1, auc: rocAuc(p, truth) };
    } else if (t.task === 'multiclass') {
      const K = t.outputs;
      const labels = rows.map((_, i) => { let best = 0; for (let k = 1; k < K; k++) if (p[i * K + k] > p[i * K + best]) best = k; return best; });
      const f = macroF1(labels, truth, K);
      out[t.name] = { accuracy: accuracy(labels, truth), precision: f.precision, recall: f.recall, f1: f.f1 };
    } else {
      const y = truth.map((v) => denorm(t, v));
      out[t.name] = { mae: mae(p, y), rmse: rmse(p, y), r2: r2(p, y) };
    }
  }
  return out;
}
