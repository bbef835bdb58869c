/**
 * σReparam (Zhai et al. 2023, "Stabilizing Transformer training by preventing attention
 * entropy collapse"): a weight is used as Ŵ = (γ / σ(W))·W, σ(W) its spectral norm from one
 * power-iteration step per training forward (u ← Wv/‖Wv‖, v ← Wᵀu/‖Wᵀu‖, σ = uᵀWv with
 * gradients through W), γ learned and initialised to 1 (REFERENCES.md). u and v are stored as
 * non-trainable parameters so checkpoints carry them and a resumed run continues exactly.
 */
import { Tensor } from '../tensor/tensor.js';
import { randn } from '../tensor/creation.js';
import type { Generator } from '../tensor/random.js';
import { div, matmul, mul, reshape, sum } from '../ops/index.js';
import { noGrad } from '../autograd/tape.js';
import { checkPositiveInt } from './init.js';
import { Module, Parameter } from './module.js';

/** A non-trainable state vector: in the state dict, never given a gradient. */
function stateVector(n: number, rng: Generator): Parameter {
  const p = new Parameter(randn([n], { rng }));
  p.requireGrad(false);
  const s = Math.hypot(...p.data);
  for (let i = 0; i < n; i++) p.data[i] /= s;
  return p;
}

/**
 * @example
 * const r = new SpectralReparam(64, 32, rng);
 * const w = r.apply(linear.weight, true);   // (γ/σ)·W, σ ≈ the largest singular value
 */
export class SpectralReparam extends Module {
  gamma: Parameter;
  u: Parameter;
  v: Parameter;
  constructor(rows: number, cols: number, rng: Generator) {
    super();
    checkPositiveInt(rows, 'SpectralReparam', 'rows');
    checkPositiveInt(cols, 'SpectralReparam', 'cols');
    this.gamma = new Parameter(new Tensor(Float32Array.from([1]), []));
    this.u = stateVector(rows, rng);
    this.v = stateVector(cols, rng);
  }

  /** One power-iteration step (training only) on W [rows, cols], then (γ/σ)·W. */
  apply(W: Tensor, training: boolean): Tensor {
    const [R, Cc] = W.shape as [number, number];
    if (training) {
      noGrad(() => {
        const w = W.data, u = this.u.data, v = this.v.data;
        const nv = new Float64Array(Cc);                       // v ← Wᵀu / ‖Wᵀu‖
        for (let i = 0; i < R; i++) for (let j = 0; j < Cc; j++) nv[j] += w[i * Cc + j] * u[i];
        const sv = Math.hypot(...nv) || 1;
        for (let j = 0; j < Cc; j++) v[j] = nv[j] / sv;
        const nu = new Float64Array(R);                        // u ← Wv / ‖Wv‖
        for (let i = 0; i < R; i++) { let s = 0; for (let j = 0; j < Cc; j++) s += w[i * Cc + j] * v[j]; nu[i] = s; }
        const su = Math.hypot(...nu) || 1;
        for (let i = 0; i < R; i++) u[i] = nu[i] / su;
      });
    }
    const u = new Tensor(Float32Array.from(this.u.data), [1, R]), v = new Tensor(Float32Array.from(this.v.data), [Cc, 1]);
    const sigma = sum(matmul(matmul(u, W), v));                // uᵀ W v, differentiable in W
    return mul(div(W, sigma), reshape(this.gamma, [1, 1]));
  }

  /** The current σ estimate uᵀWv (no gradient). */
  sigma(W: Tensor): number {
    return noGrad(() => sum(matmul(matmul(new Tensor(Float32Array.from(this.u.data), [1, W.shape[0]!]), W), new Tensor(Float32Array.from(this.v.data), [W.shape[1]!, 1]))).item());
  }
}
