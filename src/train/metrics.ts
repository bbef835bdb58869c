/**
 * Evaluation metrics on plain arrays: accuracy, per-class and macro precision / recall / F1,
 * ROC-AUC (ties counted half, as scikit-learn), MAE, RMSE and R².
 */
import { ValueError } from '../errors.js';

function sameLength(fn: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new ValueError(`${fn}: ${a.length} predictions for ${b.length} targets`);
  if (a.length === 0) throw new ValueError(`${fn}: no values`);
}

/** Fraction of equal labels. */
export function accuracy(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  sameLength('accuracy', pred, truth);
  let hit = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === truth[i]) hit++;
  return hit / pred.length;
}

/** One class's scores: precision tp/(tp+fp), recall tp/(tp+fn), F1 their harmonic mean (0 where undefined, as scikit-learn's zero_division=0), and its support (rows of that class). */
export interface ClassScores { precision: number; recall: number; f1: number; support: number }

/**
 * Precision, recall, F1 and support of every class 0…numClasses−1, one-vs-rest.
 *
 * @example
 * classScores([1, 1, 0, 0], [1, 0, 0, 1], 2)[1];   // { precision: 0.5, recall: 0.5, f1: 0.5, support: 2 }
 */
export function classScores(pred: ArrayLike<number>, truth: ArrayLike<number>, numClasses: number): ClassScores[] {
  sameLength('classScores', pred, truth);
  return Array.from({ length: numClasses }, (_, c) => {
    let tp = 0, fp = 0, fn = 0;
    for (let i = 0; i < pred.length; i++) {
      if (pred[i] === c && truth[i] === c) tp++;
      else if (pred[i] === c) fp++;
      else if (truth[i] === c) fn++;
    }
    const p = tp + fp ? tp / (tp + fp) : 0, r = tp + fn ? tp / (tp + fn) : 0;
    return { precision: p, recall: r, f1: p + r ? (2 * p * r) / (p + r) : 0, support: tp + fn };
  });
}

/** Macro-averaged precision, recall and F1 over `numClasses` classes (a class never predicted nor present counts 0 and is skipped). */
export function macroF1(pred: ArrayLike<number>, truth: ArrayLike<number>, numClasses: number): { precision: number; recall: number; f1: number } {
  sameLength('macroF1', pred, truth);
  const predicted = new Set(Array.from(pred));
  const used = classScores(pred, truth, numClasses).filter((s, c) => s.support > 0 || predicted.has(c));
  const mean = (f: (s: ClassScores) => number): number => used.reduce((a, s) => a + f(s), 0) / used.length;
  return { precision: mean((s) => s.precision), recall: mean((s) => s.recall), f1: mean((s) => s.f1) };
}

/** Area under the ROC curve of scores for binary labels (0/1), by the rank-sum formula. NaN if one class is absent. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  sameLength('rocAuc', scores, labels);
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSum = 0, pos = 0;
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const rank = (i + j) / 2 + 1;                                   // ties share their mean rank
    for (let t = i; t <= j; t++) if (labels[idx[t]] === 1) { rankSum += rank; pos++; }
    i = j + 1;
  }
  const neg = idx.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function mae(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  sameLength('mae', pred, truth);
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += Math.abs(pred[i] - truth[i]);
  return s / pred.length;
}

export function rmse(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  sameLength('rmse', pred, truth);
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += (pred[i] - truth[i]) ** 2;
  return Math.sqrt(s / pred.length);
}

/** Coefficient of determination 1 − SS_res / SS_tot. */
export function r2(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  sameLength('r2', pred, truth);
  let m = 0;
  for (let i = 0; i < truth.length; i++) m += truth[i];
  m /= truth.length;
  let res = 0, tot = 0;
  for (let i = 0; i < pred.length; i++) { res += (pred[i] - truth[i]) ** 2; tot += (truth[i] - m) ** 2; }
  return tot === 0 ? NaN : 1 - res / tot;
}
