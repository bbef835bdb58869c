/**
 * Attention in time linear in the sequence length: kernelised linear attention (Katharopoulos
 * et al. 2020), Performer's FAVOR+ random features (Choromanski et al. 2021) and Linformer's
 * sequence projection (Wang et al. 2020).
 */
import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { Generator } from '../../tensor/random.js';
import { add, div, elu, eq, exp, mul, sub, toDtype, tril, where } from '../../ops/elementwise.js';
import { matmul } from '../../ops/linalg.js';
import { amax, cumsum, sum } from '../../ops/reduce.js';
import { narrow, reshape, transpose, unsqueeze } from '../../ops/shape.js';
import { scaledDotProductAttention } from '../../ops/attention.js';
import { Buffer, Module, Parameter } from '../module.js';
import { Linear } from '../linear.js';
import { checkPositiveInt, checkRng, checkSequence, uniformInit } from '../init.js';
import { keyMask4d } from './masks.js';
import { checkHeads, mergeHeads, projectHeads, splitHeads } from './heads.js';
import { checkOptions, type OptionKeys, checkRequiredOptions } from '../../config.js';
import { SELF_ATTENTION_KEYS, attentionOutput, type AttentionOutput, type SelfAttentionForwardOptions } from './contract.js';

export interface LinearAttentionOptions {
  /** Prefix-sum form: query i reads keys j ≤ i (T = S). */
  causal?: boolean;
  /** [B, S] bool, true = real token; padded keys contribute nothing. */
  keyMask?: Tensor | null;
  /** Added to the normaliser (default 1e-6). */
  eps?: number;
}
const LINEAR_KEYS: OptionKeys<LinearAttentionOptions> = { causal: true, keyMask: true, eps: true };

function checkQkv(fn: string, q: Tensor, k: Tensor, v: Tensor): [number, number, number, number, number] {
  const ok = [q, k, v].every((t) => t instanceof Tensor && t.ndim === 4);
  if (!ok || k.shape[0] !== q.shape[0] || v.shape[0] !== q.shape[0] || k.shape[1] !== q.shape[1] || v.shape[1] !== q.shape[1]
    || k.shape[3] !== q.shape[3] || v.shape[2] !== k.shape[2]) {
    throw new ShapeError(`${fn}: expected q [B, H, T, D], k [B, H, S, D], v [B, H, S, Dv], got ${[q, k, v].map((t) => (t instanceof Tensor ? fmtShape(t.shape) : typeof t)).join(', ')}`);
  }
  return [q.shape[0]!, q.shape[1]!, q.shape[2]!, k.shape[2]!, q.shape[3]!];
}

/**
 * The shared core: out_i = φq_iᵀ(Σ_j φk_j v_jᵀ) / (φq_iᵀ Σ_j φk_j + eps), over all j or (causal)
 * j ≤ i. φq [B, H, T, M], φk [B, H, S, M], v [B, H, S, Dv] → [B, H, T, Dv]. The causal form keeps
 * the running sums S_i = S_{i−1} + φk_i v_iᵀ for every position: O(T·M·Dv) memory, no T×S matrix.
 */
function kernelAttention(fn: string, fq: Tensor, fk: Tensor, v: Tensor, causal: boolean, eps: number): Tensor {
  if (!causal) {
    const kv = matmul(transpose(fk, -2, -1), v);                            // [B, H, M, Dv]
    const z = unsqueeze(sum(fk, 2), -1);                                    // [B, H, M, 1]
    return div(matmul(fq, kv), add(matmul(fq, z), eps));                   // [B, H, T, Dv]
  }
  if (fq.shape[2] !== fk.shape[2]) throw new ShapeError(`${fn}: causal needs T = S, got T ${fq.shape[2]} and S ${fk.shape[2]}`);
  const s = cumsum(mul(unsqueeze(fk, -1), unsqueeze(v, -2)), 2);          // [B, H, T, M, Dv]
  const z = cumsum(fk, 2);                                                  // [B, H, T, M]
  const num = reshape(matmul(unsqueeze(fq, -2), s), [...v.shape.slice(0, 2), fq.shape[2]!, v.shape[3]!]); // [B, H, T, Dv]
  const den = unsqueeze(sum(mul(fq, z), -1), -1);                          // [B, H, T, 1]
  return div(num, add(den, eps));
}

/** Zeroes the feature rows of padded keys: [B, H, S, M] with keyMask [B, S]. */
function maskFeatures(fn: string, fk: Tensor, keyMask: Tensor | null | undefined): Tensor {
  if (keyMask == null) return fk;
  const m = keyMask4d(fn, 'keyMask', keyMask, fk.shape[0]!, fk.shape[2]!);  // [B, 1, 1, S]
  return where(transpose(m, -2, -1), fk, 0);                                // [B, 1, S, 1] broadcast
}

/**
 * The weights kernel attention implies: W_ij = φq_i·φk_j / (Σ_j' φq_i·φk_j' + eps) over all j or
 * (causal) j ≤ i, so that W v is kernelAttention's output. φq [B, H, T, M], φk [B, H, S, M] →
 * [B, H, T, S]; O(T·S) memory, for inspection only.
 */
function kernelWeights(fq: Tensor, fk: Tensor, causal: boolean, eps: number): Tensor {
  let a = matmul(fq, transpose(fk, -2, -1));                               // [B, H, T, S]
  if (causal) a = tril(a);
  return div(a, add(unsqueeze(sum(a, -1), -1), eps));                      // [B, H, T, S]
}

/**
 * Linear attention with the elu(x) + 1 feature map (Katharopoulos et al. 2020) on q [B, H, T, D],
 * k [B, H, S, D], v [B, H, S, Dv] → [B, H, T, Dv], in O(T·D·Dv) instead of O(T·S·D).
 * Equals the "attention" whose weights are (φ(q_i)·φ(k_j)) / Σ_j (φ(q_i)·φ(k_j)).
 * @example const out = linearAttention(q, k, v, { causal: true });
 */
export function linearAttention(q: Tensor, k: Tensor, v: Tensor, options: LinearAttentionOptions = {}): Tensor {
  checkOptions('linearAttention', options, LINEAR_KEYS);
  const fn = 'linearAttention';
  checkQkv(fn, q, k, v);
  const phi = (x: Tensor): Tensor => add(elu(x), 1);
  return kernelAttention(fn, phi(q), maskFeatures(fn, phi(k), options.keyMask), v, options.causal ?? false, options.eps ?? 1e-6);
}

/** The implied normalised weights φ(q)·φ(k)/Σ [B, H, T, S] of `linearAttention` (elu + 1 features) with the same options. */
export function linearAttentionWeights(q: Tensor, k: Tensor, options: LinearAttentionOptions = {}): Tensor {
  checkOptions('linearAttentionWeights', options, LINEAR_KEYS);
  const fn = 'linearAttentionWeights';
  checkQkv(fn, q, k, k);
  const phi = (x: Tensor): Tensor => add(elu(x), 1);
  return kernelWeights(phi(q), maskFeatures(fn, phi(k), options.keyMask), options.causal ?? false, options.eps ?? 1e-6);
}

/**
 * A Gaussian orthogonal random matrix [m, d] (Performer): rows come in blocks of d mutually
 * orthogonal directions (Gram–Schmidt of Gaussian blocks), each row rescaled to the length of
 * an independent Gaussian vector, so rows stay marginally N(0, I_d).
 */
export function gaussianOrthogonalFeatures(m: number, d: number, rng: Generator): Tensor {
  checkPositiveInt(m, 'gaussianOrthogonalFeatures', 'm');
  checkPositiveInt(d, 'gaussianOrthogonalFeatures', 'd');
  const out = new Float32Array(m * d);
  for (let r0 = 0; r0 < m; r0 += d) {
    const rows: Float64Array[] = [];
    for (let r = r0; r < Math.min(m, r0 + d); r++) {
      let w = Float64Array.from({ length: d }, () => rng.normal());
      for (let attempt = 0; ; attempt++) {
        for (const u of rows) {
          let dot = 0;
          for (let i = 0; i < d; i++) dot += w[i]! * u[i]!;
          for (let i = 0; i < d; i++) w[i]! -= dot * u[i]!;
        }
        const n = Math.hypot(...w);
        if (n > 1e-8 || attempt > 8) { for (let i = 0; i < d; i++) w[i]! /= n; break; }
        w = Float64Array.from({ length: d }, () => rng.normal());
      }
      rows.push(w);
      let len = 0;
      for (let i = 0; i < d; i++) { const g = rng.normal(); len += g * g; }
      len = Math.sqrt(len);
      for (let i = 0; i < d; i++) out[r * d + i] = w[i]! * len;
    }
  }
  return new Tensor(out, [m, d]);
}

/**
 * Performer's positive random features for the softmax kernel (FAVOR+):
 * φ(x) = (exp(ωᵀx̂ − ‖x̂‖²/2 − c) + ε)/√m with x̂ = x/d^¼ (ε = 1e-4 keeps φ positive). The stabiliser
 * c scales every feature of a query row, or of one (sample, head)'s keys, by one factor e^{−c} that
 * cancels between the numerator and the denominator (up to ε), so the estimator is FAVOR+'s:
 * - 'row' (queries): the max over the row's features, as the reference implementation;
 * - 'keys' (keys, non-causal): the max over one (sample, head)'s real keys and features — never
 *   over the batch or padded keys, so a sample's output depends on nothing but its own real keys;
 * - 'none' (keys, causal): a max over all keys would let later keys shift earlier outputs
 *   (ωᵀx̂ − ‖x̂‖²/2 ≤ ‖ω‖²/2 bounds the exponent anyway).
 * `keep` [B, 1, S, 1] (true = real key) gives padded keys exp(−∞) = 0 before the floor, so their
 * values reach neither c nor, through an overflowing exp, any gradient; maskFeatures zeroes them.
 */
function favorFeatures(x: Tensor, omega: Tensor, stabiliser: 'row' | 'keys' | 'none', keep: Tensor | null = null): Tensor {
  const d = x.shape[x.ndim - 1]!, m = omega.shape[0]!;
  const xs = mul(x, Math.pow(d, -0.25));
  const proj = matmul(xs, transpose(toDtype(omega, x.dtype), 0, 1));      // [..., L, m]
  const half = div(sum(mul(xs, xs), -1, { keepDim: true }), 2);            // [..., L, 1]
  let logits = sub(proj, half);
  if (keep) logits = where(keep, logits, -Infinity);                       // [B, H, S, m]
  if (stabiliser === 'row') logits = sub(logits, amax(logits, -1, { keepDim: true }));
  if (stabiliser === 'keys') {
    const c = amax(logits, [-2, -1], { keepDim: true });                   // [B, H, 1, 1]
    logits = sub(logits, where(eq(c, -Infinity), 0, c));                   // a sample with no real key: no shift
  }
  return mul(add(exp(logits), 1e-4), 1 / Math.sqrt(m));
}

/** PerformerAttention's options: the shared keyMask, causal and needWeights, plus the normaliser's eps. */
export interface PerformerForwardOptions extends SelfAttentionForwardOptions {
  /** Added to the normaliser (default 1e-6). */
  eps?: number;
}

/**
 * Softmax attention approximated with m orthogonal random features (Performer, FAVOR+), in
 * O(L·m·D): out = D⁻¹ φ(Q)(φ(K)ᵀV). The features `omega` [m, D] are drawn from a seeded generator
 * and are a Buffer: module state that a checkpoint carries (same features after a round trip),
 * never trained; `redraw()` draws new ones. The estimate sharpens as m grows.
 *
 * @example
 * const favor = new PerformerAttention({ headDim: 64, numFeatures: 256, rng });
 * const { output } = favor.forward(q, k, v, { causal: true });   // [B, H, T, Dv]
 */
export class PerformerAttention extends Module {
  omega: Buffer;
  private readonly rng: Generator;

  constructor(readonly options: { headDim: number; numFeatures?: number; rng?: Generator }) {
    super();
    checkRequiredOptions('PerformerAttention', options, { headDim: true, numFeatures: true, rng: true });
    this.rng = new Generator(checkRng(options, 'PerformerAttention').nextUint32());
    checkPositiveInt(options.headDim, 'PerformerAttention', 'headDim');
    checkPositiveInt(options.numFeatures ?? options.headDim * 4, 'PerformerAttention', 'numFeatures');
    this.omega = new Buffer(this.draw());
  }

  private draw(): Tensor {
    return gaussianOrthogonalFeatures(this.options.numFeatures ?? this.options.headDim * 4, this.options.headDim, this.rng);
  }

  /** Draws new random features (e.g. every few training steps, as the paper suggests), in place. */
  redraw(): void {
    this.omega.data.set(this.draw().data);
  }

  /**
   * q [B, H, T, D], k [B, H, S, D], v [B, H, S, Dv] → { output [B, H, T, Dv], weights? }: with
   * `needWeights`, the implied normalised weights φ(q)·φ(k)/Σ [B, H, T, S] (O(T·S), for inspection).
   */
  forward(q: Tensor, k: Tensor, v: Tensor, options: PerformerForwardOptions = {}): AttentionOutput {
    checkOptions('PerformerAttention.forward', options, { ...SELF_ATTENTION_KEYS, eps: true });
    const fn = 'PerformerAttention.forward';
    const [fq, fk] = this.features(fn, q, k, v, options);
    const causal = options.causal ?? false, eps = options.eps ?? 1e-6;
    return attentionOutput(kernelAttention(fn, fq, fk, v, causal, eps), options.needWeights, () => kernelWeights(fq, fk, causal, eps));
  }

  /** φ(q) [B, H, T, M] and the masked φ(k) [B, H, S, M]. */
  private features(fn: string, q: Tensor, k: Tensor, v: Tensor, options: PerformerForwardOptions): [Tensor, Tensor] {
    const [, , , , D] = checkQkv(fn, q, k, v);
    if (D !== this.options.headDim) throw new ShapeError(`${fn}: head dim ${D} differs from headDim ${this.options.headDim}`);
    const causal = options.causal ?? false;
    const keep = options.keyMask == null ? null : transpose(keyMask4d(fn, 'keyMask', options.keyMask, k.shape[0]!, k.shape[2]!), -2, -1); // [B, 1, S, 1]
    const fk = maskFeatures(fn, favorFeatures(k, this.omega, causal ? 'none' : 'keys', keep), options.keyMask);
    return [favorFeatures(q, this.omega, 'row'), fk];
  }
}

/**
 * Linformer self-attention (Wang et al. 2020): keys and values are projected along the
 * sequence to k rows (E, F ∈ ℝ^{k×n}, shared across heads), so attention costs O(n·k).
 * x [B, T, C] with T ≤ maxLen → [B, T, C]. Padded positions (keyMask false) are zeroed before
 * the projection. Parameters: qProj, kProj, vProj, outProj, projE, projF (= projE when `shareKV`).
 */
export class LinformerSelfAttention extends Module {
  qProj: Linear;
  kProj: Linear;
  vProj: Linear;
  outProj: Linear;
  projE: Parameter;
  projF: Parameter | null;

  constructor(readonly options: { embedDim: number; numHeads: number; maxLen: number; projectedLen: number; shareKV?: boolean; rng?: Generator }) {
    super();
    checkRequiredOptions('LinformerSelfAttention', options, { embedDim: true, numHeads: true, maxLen: true, projectedLen: true, shareKV: true, rng: true });
    const name = 'LinformerSelfAttention';
    const rng = checkRng(options, name);
    const C = checkHeads(name, options.embedDim, options.numHeads);
    const n = checkPositiveInt(options.maxLen, name, 'maxLen');
    const kLen = checkPositiveInt(options.projectedLen, name, 'projectedLen');
    this.qProj = new Linear(C, C, { rng });
    this.kProj = new Linear(C, C, { rng });
    this.vProj = new Linear(C, C, { rng });
    this.outProj = new Linear(C, C, { rng });
    this.projE = new Parameter(uniformInit([kLen, n], 1 / Math.sqrt(kLen), rng));
    this.projF = options.shareKV ? null : new Parameter(uniformInit([kLen, n], 1 / Math.sqrt(kLen), rng));
  }

  /**
   * x [B, T, C] → { output [B, T, C], weights? }: with `needWeights`, the weights [B, H, T,
   * projectedLen] — over the projected keys, not the T keys. `causal` is refused: the sequence
   * projection mixes every position into every projected key.
   */
  forward(x: Tensor, options: Omit<SelfAttentionForwardOptions, 'causal'> = {}): AttentionOutput {
    checkOptions('LinformerSelfAttention.forward', options, { keyMask: true, needWeights: true });
    const fn = 'LinformerSelfAttention.forward';
    const { embedDim: C, numHeads: H, maxLen } = this.options;
    checkSequence(fn, 'x', x, C, 'B, T');
    const [B, T] = x.shape as [number, number, number];
    if (T > maxLen) throw new ValueError(`${fn}: sequence length ${T} exceeds maxLen ${maxLen}`);
    let k = this.kProj.forward(x), v = this.vProj.forward(x);
    if (options.keyMask != null) {
      const m = unsqueeze(reshape(keyMask4d(fn, 'keyMask', options.keyMask, B, T), [B, T]), -1); // [B, T, 1]
      k = where(m, k, 0);
      v = where(m, v, 0);
    }
    const E = narrow(this.projE, 1, 0, T), F = narrow(this.projF ?? this.projE, 1, 0, T); // [k, T]: shorter inputs use the first T columns
    const kp = splitHeads(matmul(E, k), H);                                  // [B, H, k, D]
    const vp = splitHeads(matmul(F, v), H);
    const q = splitHeads(this.qProj.forward(x), H);                          // [B, H, T, D]
    if (!options.needWeights) return { output: mergeHeads(scaledDotProductAttention(q, kp, vp), this.outProj) };
    const { output: out, weights } = scaledDotProductAttention(q, kp, vp, { returnWeights: true }); // [B, H, T, D], [B, H, T, k]
    return { output: mergeHeads(out, this.outProj), weights };
  }
}

/**
 * Self-attention in linear time as a layer: projections as multi-head attention, then either the
 * elu + 1 kernel (`kernel: 'elu'`) or Performer's random features (`kernel: 'performer'`).
 * x [B, T, C] → [B, T, C]. Parameters: inProj (q, k, v packed), outProj; the Performer's
 * features are a buffer, `performer.omega` (checkpointed, not trained; `redraw()` draws new ones).
 * `causal` (the constructor's, or per call in `forward`): query i reads keys j ≤ i.
 */
export class LinearSelfAttention extends Module {
  inProj: Linear;
  outProj: Linear;
  performer: PerformerAttention | null;

  constructor(readonly options: { embedDim: number; numHeads: number; kernel?: 'elu' | 'performer'; numFeatures?: number; causal?: boolean; rng?: Generator }) {
    super();
    checkRequiredOptions('LinearSelfAttention', options, { embedDim: true, numHeads: true, kernel: true, numFeatures: true, causal: true, rng: true });
    const name = 'LinearSelfAttention';
    const rng = checkRng(options, name);
    const C = checkHeads(name, options.embedDim, options.numHeads);
    const kernel = options.kernel ?? 'elu';
    if (kernel !== 'elu' && kernel !== 'performer') throw new ValueError(`${name}: kernel must be 'elu' or 'performer', got '${String(kernel)}'`);
    this.inProj = new Linear(C, 3 * C, { rng });
    this.outProj = new Linear(C, C, { rng });
    this.performer = kernel === 'performer' ? new PerformerAttention({ headDim: C / options.numHeads, numFeatures: options.numFeatures, rng }) : null;
  }

  /** Draws new Performer features (no-op for the elu kernel). */
  redraw(): void {
    this.performer?.redraw();
  }

  /**
   * x [B, T, C] → { output [B, T, C], weights? }: with `needWeights`, the implied normalised kernel
   * weights φ(q)·φ(k)/Σ [B, H, T, T] (O(T²), for inspection). `causal` defaults to the constructor's.
   */
  forward(x: Tensor, options: SelfAttentionForwardOptions = {}): AttentionOutput {
    checkOptions('LinearSelfAttention.forward', options, SELF_ATTENTION_KEYS);
    const [q, k, v] = projectHeads('LinearSelfAttention.forward', this.inProj, x, this.options.numHeads);
    const o = { causal: options.causal ?? this.options.causal, keyMask: options.keyMask };
    if (this.performer) {
      const r = this.performer.forward(q, k, v, { ...o, needWeights: options.needWeights });
      return attentionOutput(mergeHeads(r.output, this.outProj), options.needWeights, () => r.weights!);
    }
    return attentionOutput(mergeHeads(linearAttention(q, k, v, o), this.outProj), options.needWeights, () => linearAttentionWeights(q, k, o));
  }
}
