/**
 * Full-batch L-BFGS with L2 for models whose objective is (near) convex — the linear baseline is
 * the logistic / linear regression reference, and a reference must reach its optimum rather than
 * stop where a mini-batch schedule left it. Objective: the mean task loss over the training rows
 * plus (l2 / 2)·‖w‖² over every parameter but biases (scikit-learn's LogisticRegression with C
 * is l2 = 1 / (C·n)). Two-loop recursion (Nocedal & Wright, Alg. 7.4) with a backtracking Armijo
 * line search; stops when ‖∇‖∞ ≤ gradTol or the loss stops changing.
 */
import type { EncodedDataset } from '../data/dataset.js';
import { modelLoss, type TaskModel } from '../models/heads.js';
import { backward } from '../autograd/tape.js';
import { ValueError } from '../errors.js';
import { checkOptions } from '../config.js';
import { checkRows } from './evaluate.js';

export interface LbfgsOptions {
  /** L2 strength on the weights (not biases) of the mean-loss objective (default 1e-4). */
  l2?: number;
  /** At most this many iterations (default 500). */
  maxIter?: number;
  /** Stop when the largest gradient entry is at most this (default 1e-5). */
  gradTol?: number;
  /** Correction pairs kept (default 10). */
  history?: number;
}

export interface LbfgsResult { iterations: number; loss: number; gradMax: number; converged: boolean; losses: number[] }

/** The defaults `fitLbfgs` uses (what the tabular suite ran with). */
export const LBFGS_DEFAULTS = { l2: 1e-4, maxIter: 500, gradTol: 1e-5, history: 10 } as const;

/**
 * Fits `model` on `rows` of `ds` to the optimum of its L2-regularised mean loss; the model is left
 * in eval mode with the final weights.
 * @example
 * const r = fitLbfgs(new models.LinearModel(fields, targets, { rng }), ds, split.train, { l2: 1 / split.train.length });
 * r.converged;   // true once ‖∇‖∞ ≤ 1e-5
 */
export function fitLbfgs(model: TaskModel, ds: EncodedDataset, rows: readonly number[], options: LbfgsOptions = {}): LbfgsResult {
  checkOptions('fitLbfgs', options, { l2: true, maxIter: true, gradTol: true, history: true });
  const { l2, maxIter, gradTol, history: m } = { ...LBFGS_DEFAULTS, ...options };
  if (!(l2 >= 0) || !(maxIter >= 1) || !(gradTol > 0) || !(m >= 1)) throw new ValueError(`fitLbfgs: need l2 ≥ 0, maxIter ≥ 1, gradTol > 0, history ≥ 1; got ${JSON.stringify(options)}`);
  checkRows('fitLbfgs', rows, ds.size);
  const named = model.namedParameters();
  const params = named.map(([, p]) => p);
  const decay = named.map(([n]) => !/bias$/.test(n));
  const n = params.reduce((k, p) => k + p.data.length, 0);
  const batch = ds.batch([...rows]);
  model.eval();   // no dropout: the objective is deterministic

  const x = new Float64Array(n);
  { let o = 0; for (const p of params) { x.set(p.data as Float32Array, o); o += p.data.length; } }
  /** Loss and gradient at w (written into the parameters first). */
  const evaluateAt = (w: Float64Array, g: Float64Array): number => {
    let o = 0;
    for (const p of params) { (p.data as Float32Array).set(w.subarray(o, o + p.data.length)); p.grad = null; o += p.data.length; }
    const loss = modelLoss(model.targets, model.forward(batch), batch);
    backward(loss);
    let f = loss.item();
    o = 0;
    params.forEach((p, i) => {
      const len = p.data.length;
      for (let j = 0; j < len; j++) {
        const wj = w[o + j];
        g[o + j] = (p.grad ? p.grad.data[j] : 0) + (decay[i] ? l2 * wj : 0);
        if (decay[i]) f += 0.5 * l2 * wj * wj;
      }
      p.grad = null;
      o += len;
    });
    if (!Number.isFinite(f)) throw new ValueError(`fitLbfgs: the objective became ${f}`);
    return f;
  };
  const dot = (a: Float64Array, b: Float64Array): number => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };
  const maxAbs = (a: Float64Array): number => { let s = 0; for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(a[i])); return s; };

  let g = new Float64Array(n);
  let f = evaluateAt(x, g);
  const S: Float64Array[] = [], Y: Float64Array[] = [], rho: number[] = [];
  const losses = [f];
  let it = 0, converged = maxAbs(g) <= gradTol;
  while (!converged && it < maxIter) {
    it++;
    // two-loop recursion: d = −H·g
    const q = Float64Array.from(g);
    const alpha: number[] = [];
    for (let k = S.length - 1; k >= 0; k--) { const a = rho[k] * dot(S[k], q); alpha[k] = a; for (let i = 0; i < n; i++) q[i] -= a * Y[k][i]; }
    const gamma = S.length ? dot(S[S.length - 1], Y[Y.length - 1]) / dot(Y[Y.length - 1], Y[Y.length - 1]) : 1 / Math.max(1, maxAbs(g));
    for (let i = 0; i < n; i++) q[i] *= gamma;
    for (let k = 0; k < S.length; k++) { const b = rho[k] * dot(Y[k], q); for (let i = 0; i < n; i++) q[i] += S[k][i] * (alpha[k] - b); }
    const d = q.map((v) => -v);
    let slope = dot(g, d);
    if (!(slope < 0)) { S.length = Y.length = rho.length = 0; for (let i = 0; i < n; i++) d[i] = -g[i]; slope = -dot(g, g); }
    // backtracking Armijo line search from a unit step
    let t = 1;
    const xNew = new Float64Array(n), gNew = new Float64Array(n);
    let fNew = Infinity;
    for (let ls = 0; ls < 40; ls++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + t * d[i];
      fNew = evaluateAt(xNew, gNew);
      if (fNew <= f + 1e-4 * t * slope) break;
      t *= 0.5;
    }
    if (!(fNew <= f)) { evaluateAt(x, g); break; }   // no descent left at float32 precision
    const s = new Float64Array(n), y = new Float64Array(n);
    for (let i = 0; i < n; i++) { s[i] = xNew[i] - x[i]; y[i] = gNew[i] - g[i]; }
    const sy = dot(s, y);
    if (sy > 1e-12) { S.push(s); Y.push(y); rho.push(1 / sy); if (S.length > m) { S.shift(); Y.shift(); rho.shift(); } }
    const change = f - fNew;
    x.set(xNew); g = Float64Array.from(gNew); f = fNew;
    losses.push(f);
    converged = maxAbs(g) <= gradTol;
    if (!converged && change <= 1e-12 * Math.max(1, Math.abs(f))) break;
  }
  // leave the parameters at x (the last evaluation may have been a rejected trial point)
  let o = 0;
  for (const p of params) { (p.data as Float32Array).set(x.subarray(o, o + p.data.length)); o += p.data.length; }
  model.eval();
  return { iterations: it, loss: f, gradMax: maxAbs(g), converged, losses };
}
