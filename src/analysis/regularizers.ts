/**
 * Differentiable remedies for over-concentrated or redundant attention, added to the task
 * loss by the trainer (REFERENCES.md §7):
 * - the entropy regulariser: −λ·mean Ent(A) (spread attention, as EAR), or with a floor
 *   λ·mean relu(floor − Ent(A)) (only rows below the floor are pushed up);
 * - the head-diversity penalty: λ·mean over head pairs of cos(Aₕ, Aₕ′) on each sample's maps
 *   (disagreement regularisation on attention positions, Li et al. 2018).
 * Padded query rows are left out; padded keys carry zero weight already.
 */
import { Tensor } from '../tensor/tensor.js';
import { add, div, log, matmul, maximum, mul, relu, reshape, sqrt, sub, sum, toDtype, transpose, unsqueeze } from '../ops/index.js';
import { ValueError } from '../errors.js';
import { checkOptions } from '../config.js';

/** Per-row entropy in nats: weights [B, H, T, S] → [B, H, T]. */
export function rowEntropy(w: Tensor): Tensor {
  return mul(sum(mul(w, log(add(w, 1e-9))), -1), -1);
}

/** The entropy regulariser over layers' weights [B, H, N, N] with the query mask [B, N] (true = real token). */
export function entropyLoss(weights: Tensor[], queryMask: Tensor, options: { floor?: number } = {}): Tensor {
  checkOptions('entropyLoss', options, { floor: true });
  if (weights.length === 0) throw new ValueError('entropyLoss: needs attention weights of at least one layer');
  const m = unsqueeze(toDtype(queryMask, weights[0].dtype === 'float64' ? 'float64' : 'float32'), 1);  // [B, 1, N]
  const terms = weights.map((w) => {
    const H = w.shape[1]!;
    const e = rowEntropy(w);                                                              // [B, H, N]
    const per = options.floor === undefined ? mul(e, -1) : relu(sub(options.floor, e));
    return div(sum(mul(per, m)), mul(sum(m), H));
  });
  return div(terms.reduce((a, b) => add(a, b)), weights.length);
}

/** Mean pairwise cosine similarity of the heads' maps per sample (0 = heads attend to disjoint positions). */
export function headDiversityLoss(weights: Tensor[]): Tensor {
  if (weights.length === 0) throw new ValueError('headDiversityLoss: needs attention weights of at least one layer');
  const terms = weights.map((w) => {
    const [B, H, N, S] = w.shape as [number, number, number, number];
    if (H < 2) throw new ValueError(`headDiversityLoss: needs at least two heads, got ${H}`);
    const flat = reshape(w, [B, H, N * S]);                                               // [B, H, N·S]
    const norm = sqrt(maximum(sum(mul(flat, flat), -1, { keepDim: true }), 1e-12));        // [B, H, 1]
    const unit = div(flat, norm);
    const gram = matmul(unit, transpose(unit, 1, 2));                                     // [B, H, H]
    return div(sub(sum(gram), B * H), B * H * (H - 1));                                  // off-diagonal mean
  });
  return div(terms.reduce((a, b) => add(a, b)), weights.length);
}
