/**
 * A numeric field: one value per record, normalised ('standard', 'quantile' or 'none', after an
 * optional log1p), with a present flag. Its token in the fusion model is its `embedding` of the
 * normalised value (Gorishniy et al. 2022): 'linear' x·w + b (FT-Transformer's feature tokenizer),
 * 'piecewise' the piecewise-linear encoding over quantile bins fitted on the training rows, then a
 * linear map, 'piecewise-linear' the sum of the two (the value kept whole beside its bins), or
 * 'periodic' cos/sin(2π·c·x) with trainable frequencies c, then linear and ReLU (PLR).
 */
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { v } from '../../config.js';
import { encoderCodec, specParts, valueParts, type FieldKindDef, checkFieldSpec } from './fieldKindDef.js';
import { ConfigError, DataError, preview } from '../../errors.js';
import { missingTest } from '../missing.js';
import { checkFloat32, finiteCell } from '../float32.js';

const schema = v.strictObject({
  ...specParts.common, kind: v.literal('numeric'),
  /** 'standard' (z-score, default), 'quantile' (rank → standard normal, robust to outliers), 'none'. */
  normalize: v.optional(v.picklist(['standard', 'quantile', 'none'])),
  /** log1p before normalising (for counts and skewed amounts; values must be > −1). */
  log: v.optional(v.boolean()),
  /** The fusion model's token: 'linear' (x·w + b), 'piecewise' (PLE → linear), 'piecewise-linear' (their sum) or 'periodic' (PLR); default DEFAULT_NUMERIC_EMBEDDING. */
  embedding: v.optional(v.picklist(['linear', 'piecewise', 'piecewise-linear', 'periodic'])),
  /** Piecewise and piecewise-linear: the number of quantile bins (default 8; fewer when the training values have fewer distinct quantiles). */
  bins: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(256))),
  /** Periodic: the number of trainable frequencies k (default 16; the token is made from 2k features). */
  frequencies: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(256))),
  /** Periodic: the standard deviation σ of the frequencies' N(0, σ²) initialisation (default 0.1). */
  sigma: v.optional(v.pipe(v.number(), v.gtValue(0), v.maxValue(1000))),
});
export type NumericSpec = v.InferOutput<typeof schema>;

/** One encoded numeric cell: the normalised value (0 when missing) and whether it was present. */
export interface NumericCell { value: number; present: boolean }

/**
 * The numeric embedding a field uses when its spec names none: 'piecewise', the best mean rank of
 * the three on the tabular suite (docs/EXPERIMENTS.md, the tabular suite). A state fitted without
 * bin edges and a spec naming no embedding (a run saved before this default) keeps 'linear'.
 */
export const DEFAULT_NUMERIC_EMBEDDING: NonNullable<NumericSpec['embedding']> = 'piecewise';
/** Default bins (piecewise), frequencies and σ (periodic). */
export const NUMERIC_EMBEDDING_DEFAULTS = { bins: 8, frequencies: 16, sigma: 0.1 } as const;

/** The fitted state; `edges` (the piecewise bin edges over normalised values, ascending) only for 'piecewise' and 'piecewise-linear'. */
export interface NumericState { mean: number; std: number; quantiles: number[]; edges?: number[] }

/** Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * A numeric column. 'standard': (x − mean) / std; 'quantile': the value's position among up
 * to 1,001 fitted quantiles, mapped through the standard normal's inverse CDF (clipped to ±5.2σ,
 * as scikit-learn's QuantileTransformer); 'none': the value as is. `log` applies log1p first.
 */
export class NumericEncoder {
  private readonly isMissing: (v: unknown) => boolean;
  constructor(readonly spec: NumericSpec, public stats: NumericState | null = null) {
    checkFieldSpec('NumericEncoder', spec);
    this.isMissing = missingTest(spec.missing);
    const emb = spec.embedding ?? DEFAULT_NUMERIC_EMBEDDING;
    const wrong = !binned(emb) && spec.bins !== undefined ? 'bins' : emb !== 'periodic' && (spec.frequencies !== undefined || spec.sigma !== undefined) ? (spec.frequencies !== undefined ? 'frequencies' : 'sigma') : null;
    if (wrong) throw new ConfigError(`numeric field '${spec.name}': option '${wrong}' belongs to embedding '${wrong === 'bins' ? 'piecewise' : 'periodic'}', the field's embedding is '${emb}'`);
    if (spec.embedding && binned(spec.embedding) && stats && !stats.edges) throw new DataError(`NumericEncoder(${spec.name}): the saved state has no piecewise bin edges (it was fitted for another embedding); fit again`);
  }

  private raw(value: unknown, where: string): number | null {
    if (this.isMissing(value)) return null;
    let n = finiteCell(value, where);
    if (this.spec.log) {
      if (n <= -1) throw new DataError(`${where}: log1p needs values > −1, got ${n}`);
      n = Math.log1p(n);
    }
    return checkFloat32(n, () => `${where}: ${preview(value)}`);
  }

  fit(values: unknown[], where: (i: number) => string): void {
    const xs: number[] = [];
    values.forEach((v, i) => { const n = this.raw(v, where(i)); if (n !== null) xs.push(n); });
    if (xs.length === 0) throw new DataError(`${where(0).split(':')[0]}: numeric field '${this.spec.name}' has no present value to fit`);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) || 1;
    const sorted = Float64Array.from(xs).sort();
    const nq = Math.min(1001, sorted.length);
    const quantiles = Array.from({ length: nq }, (_, k) => sorted[Math.round((k / Math.max(1, nq - 1)) * (sorted.length - 1))]);
    this.stats = { mean, std, quantiles };
    if (binned(this.spec.embedding ?? DEFAULT_NUMERIC_EMBEDDING)) {
      const normalised = Float64Array.from(sorted, (x) => this.normalise(x)).sort();
      this.stats.edges = binEdges(normalised, this.spec.bins ?? NUMERIC_EMBEDDING_DEFAULTS.bins);
    }
  }

  /** A present raw value normalised as the spec says. */
  private normalise(n: number): number {
    const mode = this.spec.normalize ?? 'standard';
    return mode === 'none' ? n : mode === 'standard' ? (n - this.stats!.mean) / this.stats!.std : this.quantile(n);
  }

  encode(value: unknown, where: string): NumericCell {
    if (!this.stats) throw new DataError(`NumericEncoder(${this.spec.name}).encode: fit first`);
    const n = this.raw(value, where);
    if (n === null) return { value: 0, present: false };
    return { value: checkFloat32(this.normalise(n), () => `${where}: ${preview(value)}`, 'normalises'), present: true };
  }

  private quantile(x: number): number {
    const q = this.stats!.quantiles;
    if (q.length < 2 || q[q.length - 1] === q[0]) return 0;
    // the empirical CDF, interpolated linearly between fitted quantiles
    let lo = 0, hi = q.length - 1;
    if (x <= q[0]) return normalQuantile(1e-7);
    if (x >= q[hi]) return normalQuantile(1 - 1e-7);
    while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (q[mid] <= x) lo = mid; else hi = mid; }
    const frac = q[hi] === q[lo] ? 0 : (x - q[lo]) / (q[hi] - q[lo]);
    const p = (lo + frac) / (q.length - 1);
    return normalQuantile(Math.min(1 - 1e-7, Math.max(1e-7, p)));
  }

  state(): NumericState {
    if (!this.stats) throw new DataError(`NumericEncoder(${this.spec.name}).state: not fitted`);
    return this.stats;
  }
}

/** Whether an embedding encodes the value over fitted bins ('piecewise', 'piecewise-linear'). */
function binned(emb: NonNullable<NumericSpec['embedding']>): boolean {
  return emb === 'piecewise' || emb === 'piecewise-linear';
}

/**
 * Piecewise-linear encoding's bin edges: the `bins + 1` quantiles 0, 1/bins, …, 1 of the sorted
 * training values, duplicates dropped (a column with few distinct values gets fewer bins); at
 * least two edges (a constant column gets one bin [x, x + 1]).
 */
export function binEdges(sorted: ArrayLike<number>, bins: number): number[] {
  const n = sorted.length;
  const edges: number[] = [];
  for (let k = 0; k <= bins; k++) {
    const e = Math.fround(sorted[Math.round((k / bins) * (n - 1))]);
    if (edges.length === 0 || e > edges[edges.length - 1]) edges.push(e);
  }
  if (edges.length === 1) edges.push(edges[0] + 1);
  return edges;
}

export interface NumericColumn { kind: 'numeric'; values: Float32Array; present: Uint8Array }
/** values [B] float32 (0 where missing), present [B] bool */
export interface NumericBatch { kind: 'numeric'; values: Tensor; present: Tensor }

export const numericField: FieldKindDef<NumericSpec, NumericState, NumericCell, NumericColumn, NumericBatch> = {
  schema,
  codec(spec, state) {
    const e = new NumericEncoder(spec, state);
    return encoderCodec(e, {
      sizes: () => {
        const emb = spec.embedding ?? DEFAULT_NUMERIC_EMBEDDING;
        const edges = e.stats?.edges;
        if (emb === 'piecewise-linear' && edges) return { binEdges: edges, withLinear: true };
        if (emb === 'piecewise' && edges) return { binEdges: edges };   // no edges: a state saved before the default was piecewise
        if (emb === 'periodic') return { frequencies: spec.frequencies ?? NUMERIC_EMBEDDING_DEFAULTS.frequencies, frequencySigma: spec.sigma ?? NUMERIC_EMBEDDING_DEFAULTS.sigma };
        return {};
      },
      column: (c) => ({ kind: 'numeric', values: Float32Array.from(c, (x) => x.value), present: Uint8Array.from(c, (x) => (x.present ? 1 : 0)) }),
    });
  },
  batch: (c, rows) => ({
    kind: 'numeric',
    values: tensor(Float32Array.from(rows, (r) => c.values[r]), { shape: [rows.length] }),
    present: tensor(Uint8Array.from(rows, (r) => c.present[r]), { shape: [rows.length] }),
  }),
  value: v.nullable(v.union([valueParts.float32, v.string()])),
  labels: (fb, b, field, _state, raw) => [{
    label: `${field} = ${fb.present.data[b] ? String(raw ?? fb.values.data[b].toFixed(3)) : 'missing'}`, real: Boolean(fb.present.data[b]),
  }],
  onnx: [
    { key: 'values', suffix: '', dtype: 'float', dims: () => ['batch'] },
    { key: 'present', suffix: '.present', dtype: 'bool', dims: () => ['batch'] },
  ],
  tokens: {
    params: (sizes) => {
      if (sizes.binEdges) return [{ slot: 'proj', inputs: sizes.binEdges.length - 1 }, ...(sizes.withLinear ? [{ slot: 'weight' } as const, { slot: 'bias' } as const] : [])];
      if (sizes.frequencies) return [{ slot: 'frequencies', count: sizes.frequencies, sigma: sizes.frequencySigma ?? NUMERIC_EMBEDDING_DEFAULTS.sigma }, { slot: 'proj', inputs: 2 * sizes.frequencies }];
      return [{ slot: 'weight' }, { slot: 'bias' }];
    },
    forward: (x, sizes) => {
      const values = x.input('values');                                                                 // [B]
      const binned = sizes.binEdges && x.project(x.piecewise(values, sizes.binEdges));                 // [B, 1, bins] → [B, 1, C]
      const tokens = binned ? (sizes.withLinear ? x.add(x.affine(values), binned) : binned)            // [B, 1, C]
        : sizes.frequencies ? x.relu(x.project(x.periodic(values)))                                      // [B, 1, 2k] → [B, 1, C]
          : x.affine(values);                                                                           // [B, 1, C]
      return { tokens, mask: x.token(x.input('present')) };                                             // [B, 1, C], [B, 1]
    },
  },
  vector: { params: () => [], width: 2, forward: (x) => x.withFlag(x.input('values'), x.input('present')) },   // [B, 2]
};
