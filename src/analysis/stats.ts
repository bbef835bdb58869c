/**
 * Attention diagnostics on weights [B, H, T, S] (rows that sum to 1 over real keys):
 * per head the entropy of each query's distribution (mean, normalised by log of the real
 * keys, histogram), the largest weight (concentration), the effective support exp(entropy),
 * and how far heads look (mean |i − j|, with a distance histogram); across heads, redundancy
 * as pairwise similarity 1 − JSD/ln 2 of their distributions (1 = identical heads).
 * Everything reads raw buffers: diagnostics never touch the autograd tape.
 */
import type { Tensor } from '../tensor/tensor.js';
import { ShapeError, fmtShape } from '../errors.js';

/** One head's numbers, averaged over real queries of the batch. */
export interface HeadStats {
  /** Mean entropy in nats. */
  entropy: number;
  /** Mean entropy / log(real keys): 1 = uniform, 0 = one key. */
  normEntropy: number;
  /** Mean of each query's largest weight. */
  maxWeight: number;
  /** Mean exp(entropy): how many keys a query effectively reads. */
  support: number;
  /** Mean attended distance Σⱼ aᵢⱼ·|i − j| (positions in the token sequence). */
  distance: number;
  /** Histogram of normEntropy over queries, 10 bins on [0, 1]. */
  entropyHist: number[];
  /** Attention mass by distance bucket: 0, 1, 2–3, 4–7, 8–15, 16–31, 32+. */
  distanceProfile: number[];
}

export interface LayerStats { heads: HeadStats[]; redundancy: number[][] }

function check(fn: string, w: Tensor, keyMask?: Tensor | null, queryMask?: Tensor | null): [number, number, number, number] {
  if (w.ndim !== 4) throw new ShapeError(`${fn}: weights must be [B, H, T, S], got ${fmtShape(w.shape)}`);
  const [B, H, T, S] = w.shape as [number, number, number, number];
  if (keyMask && (keyMask.ndim !== 2 || keyMask.shape[0] !== B || keyMask.shape[1] !== S)) throw new ShapeError(`${fn}: keyMask must be [B, S] = ${fmtShape([B, S])}, got ${fmtShape(keyMask.shape)}`);
  if (queryMask && (queryMask.ndim !== 2 || queryMask.shape[0] !== B || queryMask.shape[1] !== T)) throw new ShapeError(`${fn}: queryMask must be [B, T] = ${fmtShape([B, T])}, got ${fmtShape(queryMask.shape)}`);
  return [B, H, T, S];
}

const BUCKETS = [0, 1, 2, 4, 8, 16, 32];
function bucket(d: number): number {
  let b = 0;
  while (b + 1 < BUCKETS.length && d >= BUCKETS[b + 1]) b++;
  return b;
}

/**
 * @example
 * const { weights } = encoder.forward(x, { keyMask, needWeights: true });
 * const layer0 = analysis.layerStats(weights[0], keyMask, keyMask);   // { heads: [...], redundancy: H×H }
 */
export function layerStats(weights: Tensor, keyMask?: Tensor | null, queryMask?: Tensor | null): LayerStats {
  const [B, H, T, S] = check('layerStats', weights, keyMask, queryMask);
  const w = weights.data, km = keyMask?.data, qm = queryMask?.data;
  const heads: HeadStats[] = [];
  for (let h = 0; h < H; h++) {
    let n = 0, ent = 0, nent = 0, mx = 0, sup = 0, dist = 0;
    const hist = new Array<number>(10).fill(0), prof = new Array<number>(BUCKETS.length).fill(0);
    for (let b = 0; b < B; b++) {
      let real = S;
      if (km) { real = 0; for (let j = 0; j < S; j++) if (km[b * S + j]) real++; }
      for (let i = 0; i < T; i++) {
        if (qm && !qm[b * T + i]) continue;
        const row = ((b * H + h) * T + i) * S;
        let e = 0, m = 0, dd = 0, mass = 0;
        for (let j = 0; j < S; j++) {
          const a = w[row + j];
          if (a <= 0) continue;
          mass += a;
          e -= a * Math.log(a);
          if (a > m) m = a;
          dd += a * Math.abs(i - j);
          prof[bucket(Math.abs(i - j))] += a;
        }
        if (mass === 0) continue;                                  // a fully masked row (all zeros)
        const ne = real > 1 ? e / Math.log(real) : 0;
        n++; ent += e; nent += ne; mx += m; sup += Math.exp(e); dist += dd;
        hist[Math.min(9, Math.floor(ne * 10))]++;
      }
    }
    const total = prof.reduce((a, c) => a + c, 0) || 1;
    heads.push({
      entropy: n ? ent / n : 0, normEntropy: n ? nent / n : 0, maxWeight: n ? mx / n : 0, support: n ? sup / n : 0,
      distance: n ? dist / n : 0, entropyHist: hist.map((c) => (n ? c / n : 0)), distanceProfile: prof.map((p) => p / total),
    });
  }
  return { heads, redundancy: headRedundancy(weights, queryMask) };
}

/**
 * Pairwise head similarity: mean over real queries of 1 − JSD(pᵢ, pⱼ)/ln 2 between the two
 * heads' distributions for the same query (1 on the diagonal; 1 = the heads attend alike).
 */
export function headRedundancy(weights: Tensor, queryMask?: Tensor | null): number[][] {
  const [B, H, T, S] = check('headRedundancy', weights, null, queryMask);
  const w = weights.data, qm = queryMask?.data;
  const sim = Array.from({ length: H }, (_, i) => Array.from({ length: H }, (_, j): number => (i === j ? 1 : 0)));
  const kl = (p: number, m: number): number => (p > 0 ? p * Math.log(p / m) : 0);
  for (let h1 = 0; h1 < H; h1++) for (let h2 = h1 + 1; h2 < H; h2++) {
    let s = 0, n = 0;
    for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) {
      if (qm && !qm[b * T + i]) continue;
      const r1 = ((b * H + h1) * T + i) * S, r2 = ((b * H + h2) * T + i) * S;
      let jsd = 0, m1 = 0, m2 = 0;
      for (let j = 0; j < S; j++) {
        const p = w[r1 + j], q = w[r2 + j], m = (p + q) / 2;
        m1 += p; m2 += q;
        if (m > 0) jsd += 0.5 * kl(p, m) + 0.5 * kl(q, m);
      }
      if (m1 === 0 || m2 === 0) continue;
      s += 1 - jsd / Math.LN2; n++;
    }
    sim[h1][h2] = sim[h2][h1] = n ? s / n : 0;
  }
  return sim;
}

/** Mean normalised entropy per head of each layer: [layer][head] (what the trainer tracks per epoch). */
export function entropyByHead(weights: Tensor[], keyMask?: Tensor | null, queryMask?: Tensor | null): number[][] {
  return weights.map((w) => layerStats(w, keyMask, queryMask).heads.map((h) => h.normEntropy));
}
