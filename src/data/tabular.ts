/**
 * Encoders for table cells: numeric columns (standard or quantile normalisation, missing
 * flags) and categorical columns (a fitted vocabulary with missing and unknown ids).
 * Fitted statistics are plain JSON (`state()`), saved with the model.
 */
import { DataError } from '../errors.js';
import type { NumericSpec } from './fields/numeric.js';
import type { CategoricalSpec } from './fields/categorical.js';
import { missingTest } from './missing.js';
import { checkFloat32, decimalNumber, shown } from './float32.js';

/** One encoded numeric cell: the normalised value (0 when missing) and whether it was present. */
export interface NumericCell { value: number; present: boolean }

export interface NumericState { mean: number; std: number; quantiles: number[] }

/** Parses a numeric cell or throws DataError naming where it came from. */
function toNumber(value: unknown, where: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'boolean' ? Number(value) : typeof value === 'string' ? decimalNumber(value) : NaN;
  if (!Number.isFinite(n)) throw new DataError(`${where}: expected a number, got ${shown(value)}`);
  return n;
}

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
    this.isMissing = missingTest(spec.missing);
  }

  private raw(value: unknown, where: string): number | null {
    if (this.isMissing(value)) return null;
    let n = toNumber(value, where);
    if (this.spec.log) {
      if (n <= -1) throw new DataError(`${where}: log1p needs values > −1, got ${n}`);
      n = Math.log1p(n);
    }
    return checkFloat32(n, () => `${where}: ${shown(value)}`);
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
  }

  encode(value: unknown, where: string): NumericCell {
    if (!this.stats) throw new DataError(`NumericEncoder(${this.spec.name}).encode: fit first`);
    const n = this.raw(value, where);
    if (n === null) return { value: 0, present: false };
    const mode = this.spec.normalize ?? 'standard';
    if (mode === 'none') return { value: n, present: true };
    if (mode === 'standard') return { value: checkFloat32((n - this.stats.mean) / this.stats.std, () => `${where}: ${shown(value)}`, 'normalises'), present: true };
    return { value: this.quantile(n), present: true };
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

/** Categorical ids: 0 = missing, 1 = unknown (unseen or rare), 2… = fitted categories. */
export const MISSING_ID = 0;
export const UNKNOWN_ID = 1;

export interface CategoricalState { categories: string[] }

/**
 * A categorical column: categories seen at least `minCount` times (default 1), the
 * `maxCategories` most frequent (default unlimited), in frequency order (ties by name).
 */
export class CategoricalEncoder {
  private readonly isMissing: (v: unknown) => boolean;
  private index = new Map<string, number>();
  constructor(readonly spec: CategoricalSpec, state: CategoricalState | null = null) {
    this.isMissing = missingTest(spec.missing);
    if (state) this.setCategories(state.categories);
  }

  private setCategories(cats: string[]): void {
    this.index = new Map(cats.map((c, i) => [c, i + 2]));
  }

  fit(values: unknown[]): void {
    const counts = new Map<string, number>();
    for (const v of values) if (!this.isMissing(v)) { const k = String(v).trim(); counts.set(k, (counts.get(k) ?? 0) + 1); }
    const min = this.spec.minCount ?? 1;
    const cats = [...counts].filter(([, c]) => c >= min).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
    this.setCategories(cats.slice(0, this.spec.maxCategories ?? cats.length));
  }

  /** Number of ids (categories + missing + unknown). */
  get size(): number { return this.index.size + 2; }

  encode(value: unknown): number {
    if (this.isMissing(value)) return MISSING_ID;
    return this.index.get(String(value).trim()) ?? UNKNOWN_ID;
  }

  state(): CategoricalState { return { categories: [...this.index.keys()] }; }
}
