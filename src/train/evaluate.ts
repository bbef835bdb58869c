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
import { accuracy, classScores, macroF1, mae, r2, rmse, rocAuc } from './metrics.js';
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
  return scorePass(model, ds, rows, options.batchSize ?? 256, false, options.denormalize).scores;
}

/**
 * One pass without gradients over `rows`: the scores `predict` gives and, with `withLoss`, the
 * mean task loss (the trainer's validation pass: loss and metrics from the same forward).
 */
function scorePass(model: TaskModel, ds: EncodedDataset, rows: readonly number[], batchSize: number, withLoss: boolean, denormalize?: (target: string, v: number) => number): { scores: Record<string, Float32Array>; loss: number } {
  return noGrad(() => {
    const was = model.training;
    model.eval();
    const out: Record<string, number[]> = Object.fromEntries(model.targets.map((t) => [t.name, []]));
    let sum = 0;
    for (const idx of ds.batches(batchSize, undefined, rows)) {
      const b = ds.batch(idx);
      const y = model.forward(b).outputs;
      if (withLoss) sum += taskLoss(model.targets, y, b).item() * b.size;
      for (const t of model.targets) for (const z of toScores(t, y[t.name])) out[t.name].push(z);
    }
    model.train(was);
    const scores: Record<string, Float32Array> = {};
    for (const t of model.targets) {
      const vals = out[t.name];
      scores[t.name] = Float32Array.from(t.task === 'regression' ? vals.map((v) => denorm(t, v, denormalize)) : vals);
    }
    return { scores, loss: sum / rows.length };
  });
}

/**
 * The validation pass of an epoch: mean loss and `evaluate`'s metrics from one forward over
 * `rows` (no second pass for the metrics).
 */
export function validationPass(model: TaskModel, ds: EncodedDataset, rows: readonly number[], batchSize = 256): { loss: number; metrics: Record<string, TargetMetrics> } {
  checkRows('validationPass', rows, ds.size);
  const { scores, loss } = scorePass(model, ds, rows, batchSize, true);
  return { loss, metrics: metricsOf(model.targets, ds, rows, scores) };
}

/** The positive class's name of a binary target (the second of its classes; '1' for runs saved before binary targets kept names). */
export function positiveClass(t: TargetInfo): string {
  return t.classes?.[1] ?? '1';
}

/**
 * Row i of `predict`-style scores as JSON: binary { label: the predicted class's name,
 * probability: of the positive class, positive: its name }, multi-class { label, probabilities
 * by class }, regression the value (7 significant digits).
 */
export function predictionRecord(targets: readonly TargetInfo[], scores: Record<string, ArrayLike<number>>, i: number): Record<string, unknown> {
  const rec: Record<string, unknown> = {};
  for (const t of targets) {
    const p = scores[t.name];
    if (t.task === 'multiclass') {
      const probs = Array.from({ length: t.outputs }, (_, j) => p[i * t.outputs + j]);
      rec[t.name] = { label: t.classes![probs.indexOf(Math.max(...probs))], probabilities: Object.fromEntries(t.classes!.map((c, j) => [c, Number(probs[j].toFixed(6))])) };
    } else if (t.task === 'binary') {
      const names = t.classes ?? ['0', '1'];
      rec[t.name] = { label: names[p[i] >= 0.5 ? 1 : 0], probability: Number(p[i].toFixed(6)), positive: names[1] };
    } else rec[t.name] = Number(p[i].toPrecision(7));
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

/**
 * Metrics per target, by name:
 * - binary: `accuracy`; `precision`, `recall`, `f1` of the positive class (class 1, the
 *   target's `positive`); `macroF1` (the mean of both classes' F1); `auc` (ROC);
 * - multi-class: `accuracy`, `macroPrecision`, `macroRecall`, `macroF1` (unweighted means over
 *   the classes present or predicted);
 * - regression: `mae`, `rmse`, `r2` (target units).
 */
export type TargetMetrics = Record<string, number>;

function metricsOf(targets: readonly TargetInfo[], ds: EncodedDataset, rows: readonly number[], preds: Record<string, Float32Array>): Record<string, TargetMetrics> {
  const out: Record<string, TargetMetrics> = {};
  for (const t of targets) {
    const col = ds.targets[t.name];
    if (!col) throw new ValueError(`evaluate: the dataset has no target '${t.name}' (encode with targets)`);
    const truth = rows.map((r) => col.values[r]);
    const p = preds[t.name];
    if (t.task === 'binary') {
      const labels = Array.from(p, (s) => (s >= 0.5 ? 1 : 0));
      const pos = classScores(labels, truth, 2)[1];
      out[t.name] = { accuracy: accuracy(labels, truth), precision: pos.precision, recall: pos.recall, f1: pos.f1, macroF1: macroF1(labels, truth, 2).f1, auc: rocAuc(p, truth) };
    } else if (t.task === 'multiclass') {
      const K = t.outputs;
      const labels = rows.map((_, i) => { let best = 0; for (let k = 1; k < K; k++) if (p[i * K + k] > p[i * K + best]) best = k; return best; });
      const f = macroF1(labels, truth, K);
      out[t.name] = { accuracy: accuracy(labels, truth), macroPrecision: f.precision, macroRecall: f.recall, macroF1: f.f1 };
    } else {
      const y = truth.map((v) => denorm(t, v));
      out[t.name] = { mae: mae(p, y), rmse: rmse(p, y), r2: r2(p, y) };
    }
  }
  return out;
}

/** Test metrics per target (see TargetMetrics for what each one is). */
export function evaluate(model: TaskModel, ds: EncodedDataset, rows: readonly number[]): Record<string, TargetMetrics> {
  return metricsOf(model.targets, ds, rows, predict(model, ds, rows));
}

/**
 * Metrics as text, one line per target, naming what they are of: the positive class of a binary
 * target, the classes of a multi-class one.
 *
 * @example
 * formatMetrics({ y: { accuracy: 0.9, f1: 0.8 } }, pre.targetInfo());   // "y (positive class 'M'): accuracy 0.9000, f1 0.8000"
 */
export function formatMetrics(metrics: Record<string, TargetMetrics>, targets: readonly TargetInfo[]): string {
  return Object.entries(metrics).map(([name, ms]) => {
    const t = targets.find((x) => x.name === name);
    const what = t?.task === 'binary' ? ` (positive class '${positiveClass(t)}')` : t?.task === 'multiclass' ? ` (classes ${t.classes!.map((c) => `'${c}'`).join(', ')})` : '';
    return `${name}${what}: ${Object.entries(ms).map(([k, v]) => `${k} ${Number.isFinite(v) ? v.toFixed(4) : String(v)}`).join(', ')}`;
  }).join('\n');
}
