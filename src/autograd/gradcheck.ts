import { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import { backward } from './tape.js';
import { ValueError } from '../errors.js';
import { checkOptions } from '../config.js';

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6 in float64, 1e-3 in float32). */
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

export interface GradcheckResult {
  ok: boolean;
  /** Worst |analytic − numeric| − tol·… over all checked elements, with where it is. */
  worst: { input: number; index: number; analytic: number; numeric: number; excess: number } | null;
  checked: number;
}

/**
 * Compares the gradients autograd computes for `fn` with central finite differences
 * of L = Σ fn(inputs) ⊙ u for a random cotangent u. Inputs with `requiresGrad`
 * are checked; use float64 inputs for tight tolerances.
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): GradcheckResult {
  checkOptions('gradcheck', options, { eps: true, atol: true, rtol: true, seed: true });
  const f64 = inputs.every((t) => t.dtype !== 'float32');
  const eps = options.eps ?? (f64 ? 1e-6 : 1e-3);
  const atol = options.atol ?? (f64 ? 1e-7 : 1e-2);
  const rtol = options.rtol ?? (f64 ? 1e-5 : 1e-2);
  const rng = new Generator(options.seed ?? 0);
  const out0 = fn(...inputs);
  if (!out0.requiresGrad) throw new ValueError('gradcheck: output does not require grad; mark at least one input with requireGrad()');
  const u = new Float64Array(out0.size);
  for (let i = 0; i < u.length; i++) u[i] = rng.normal();
  const loss = (): number => {
    const y = fn(...inputs);
    let s = 0;
    for (let i = 0; i < y.size; i++) s += y.data[i] * u[i];
    return s;
  };
  for (const t of inputs) t.grad = null;
  const uT = new Tensor(out0.dtype === 'float64' ? Float64Array.from(u) : Float32Array.from(u), out0.shape);
  backward(out0, uT);
  let worst: GradcheckResult['worst'] = null;
  let checked = 0;
  inputs.forEach((t, k) => {
    if (!t.requiresGrad) return;
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      const orig = d[i];
      d[i] = orig + eps;
      const lp = loss();
      d[i] = orig - eps;
      const lm = loss();
      d[i] = orig;
      const numeric = (lp - lm) / (2 * eps);
      const analytic = t.grad ? t.grad.data[i] : 0;
      const excess = Math.abs(analytic - numeric) - (atol + rtol * Math.abs(numeric));
      checked++;
      if (worst === null || excess > worst.excess || Number.isNaN(excess)) {
        worst = { input: k, index: i, analytic, numeric, excess: Number.isNaN(excess) ? Infinity : excess };
      }
    }
  });
  const w = worst as GradcheckResult['worst'];
  return { ok: w === null || w.excess <= 0, worst: w, checked };
}
