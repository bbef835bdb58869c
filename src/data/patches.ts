/**
 * Patch encoders: a time series cut into non-overlapping patches (PatchTST), an image cut into
 * patchSize × patchSize squares (ViT). Both give float rows a model projects to tokens.
 */
import { DataError } from '../errors.js';
import type { TimeSeriesSpec as SeriesSpec } from './fields/timeSeries.js';
import type { ImageSpec } from './fields/image.js';
import { missingTest } from './missing.js';
import { checkFloat32, decimalNumber, fitsFloat32, shown } from './float32.js';

/** Reads a numeric array: an array of numbers or a string of numbers separated by commas, spaces or semicolons. */
function numbers(value: unknown, where: string): number[] {
  const raw = typeof value === 'string' ? value.split(/[\s,;]+/).filter((s) => s !== '') : value;
  if (!Array.isArray(raw)) throw new DataError(`${where}: expected an array of numbers, got ${typeof value}`);
  return raw.map((x, i) => {
    const n = typeof x === 'number' ? x : typeof x === 'string' ? decimalNumber(x) : NaN;
    if (!Number.isFinite(n)) throw new DataError(`${where}: element ${i} is not a finite number (${shown(x)})`);
    return checkFloat32(n, () => `${where}: element ${i} (${shown(x)})`);
  });
}

/** One encoded series: patches flattened [P × patchSize] and P. */
export interface SeriesCell { patches: Float32Array; count: number }
export interface SeriesState { mean: number; std: number }

/**
 * A time series → the last `maxPatches` (default 64) patches of `patchSize` values; a tail
 * shorter than a patch is left-padded with the series' first kept value. 'standard' uses the
 * fitted mean/std, 'instance' each series' own (RevIN-style), 'none' the raw values.
 */
export class SeriesEncoder {
  private readonly isMissing: (v: unknown) => boolean;
  constructor(readonly spec: SeriesSpec, public stats: SeriesState | null = null) {
    this.isMissing = missingTest(spec.missing);
  }
  get maxPatches(): number { return this.spec.maxPatches ?? 64; }
  fit(values: unknown[], where: (i: number) => string): void {
    let n = 0, s = 0, s2 = 0;
    values.forEach((v, i) => { if (!this.isMissing(v)) for (const x of numbers(v, where(i))) { n++; s += x; s2 += x * x; } });
    const mean = n ? s / n : 0;
    this.stats = { mean, std: Math.sqrt(Math.max(0, n ? s2 / n - mean * mean : 0)) || 1 };
  }
  encode(value: unknown, where: string): SeriesCell {
    if (!this.stats) throw new DataError(`SeriesEncoder(${this.spec.name}).encode: fit first`);
    if (this.isMissing(value)) return { patches: new Float32Array(0), count: 0 };
    let xs = numbers(value, where);
    if (xs.length === 0) return { patches: new Float32Array(0), count: 0 };
    const p = this.spec.patchSize;
    xs = xs.slice(-this.maxPatches * p);
    const count = Math.ceil(xs.length / p);
    const padded = new Array<number>(count * p - xs.length).fill(xs[0]).concat(xs);
    let mean = this.stats.mean, std = this.stats.std;
    const mode = this.spec.normalize ?? 'standard';
    if (mode === 'instance') {
      mean = padded.reduce((a, b) => a + b, 0) / padded.length;
      std = Math.sqrt(padded.reduce((a, b) => a + (b - mean) ** 2, 0) / padded.length) || 1;
    } else if (mode === 'none') { mean = 0; std = 1; }
    const patches = Float32Array.from(padded, (x) => (x - mean) / std);
    const bad = patches.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) checkFloat32((padded[bad] - mean) / std, () => `${where}: the value ${shown(padded[bad])}`, 'normalises');
    return { patches, count };
  }
  state(): SeriesState { return this.stats!; }
}

/**
 * An image (a flat array of height·width·channels values in row-major [H, W, C] order) →
 * (H/p)·(W/p) patches of p·p·C values each, divided by `scale`.
 */
export class ImageEncoder {
  private readonly isMissing: (v: unknown) => boolean;
  constructor(readonly spec: ImageSpec) {
    this.isMissing = missingTest(spec.missing);
    const { height: H, width: W, patchSize: p } = spec;
    if (H % p !== 0 || W % p !== 0) throw new DataError(`ImageEncoder(${spec.name}): patchSize ${p} must divide height ${H} and width ${W}`);
  }
  get numPatches(): number { return (this.spec.height / this.spec.patchSize) * (this.spec.width / this.spec.patchSize); }
  get patchDim(): number { return this.spec.patchSize ** 2 * (this.spec.channels ?? 1); }
  /** Patches [P × patchDim], or null when missing. */
  encode(value: unknown, where: string): Float32Array | null {
    if (this.isMissing(value)) return null;
    const { height: H, width: W, patchSize: p } = this.spec;
    const Cn = this.spec.channels ?? 1, scale = this.spec.scale ?? 1;
    const px = numbers(value, where);
    if (px.length !== H * W * Cn) throw new DataError(`${where}: an image of ${H}×${W}×${Cn} needs ${H * W * Cn} values, got ${px.length}`);
    const out = new Float32Array(this.numPatches * this.patchDim);
    let o = 0;
    for (let py = 0; py < H / p; py++) for (let pxi = 0; pxi < W / p; pxi++) {
      for (let y = 0; y < p; y++) for (let x = 0; x < p; x++) for (let c = 0; c < Cn; c++) {
        const i = ((py * p + y) * W + pxi * p + x) * Cn + c, v = px[i] / scale;
        if (!fitsFloat32(v)) checkFloat32(v, () => `${where}: element ${i} (${shown(px[i])})`, 'scales');
        out[o++] = v;
      }
    }
    return out;
  }
}
