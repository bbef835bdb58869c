/** A time series: the last patches of `patchSize` values (PatchTST); one projected token per patch. */
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { v } from '../../config.js';
import { encoderCodec, specParts, valueParts, type FieldKindDef, checkFieldSpec } from './fieldKindDef.js';
import { DataError, ShapeError, preview } from '../../errors.js';
import { missingTest } from '../missing.js';
import { checkFloat32 } from '../float32.js';
import { numbers } from '../patches.js';

const schema = v.strictObject({
  ...specParts.common, kind: v.literal('timeSeries'),
  patchSize: specParts.int, maxPatches: v.optional(specParts.int),
  normalize: v.optional(v.picklist(['standard', 'instance', 'none'])),
});
export type TimeSeriesSpec = v.InferOutput<typeof schema>;

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
  constructor(readonly spec: TimeSeriesSpec, public stats: SeriesState | null = null) {
    checkFieldSpec('SeriesEncoder', spec);
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
    if (bad >= 0) checkFloat32((padded[bad] - mean) / std, () => `${where}: the value ${preview(padded[bad])}`, 'normalises');
    return { patches, count };
  }
  state(): SeriesState { return this.stats!; }
}

export interface TimeSeriesColumn { kind: 'timeSeries'; rows: SeriesCell[]; patchSize: number }
/** patches [B, P, patchSize], mask [B, P] */
export interface TimeSeriesBatch { kind: 'timeSeries'; patches: Tensor; mask: Tensor }

export const timeSeriesField: FieldKindDef<TimeSeriesSpec, SeriesState, SeriesCell, TimeSeriesColumn, TimeSeriesBatch> = {
  schema,
  codec(spec, state) {
    const e = new SeriesEncoder(spec, state);
    return encoderCodec(e, {
      sizes: () => ({ patchDim: spec.patchSize, maxLength: e.maxPatches }),
      column: (cells) => ({ kind: 'timeSeries', rows: cells, patchSize: spec.patchSize }),
    });
  },
  batch: (c, rows) => {
    const B = rows.length, p = c.patchSize;
    const P = Math.max(1, ...rows.map((r) => c.rows[r].count));
    const data = new Float32Array(B * P * p), mask = new Uint8Array(B * P);
    rows.forEach((r, b) => { data.set(c.rows[r].patches, b * P * p); mask.fill(1, b * P, b * P + c.rows[r].count); });
    return { kind: 'timeSeries', patches: tensor(data, { shape: [B, P, p] }), mask: tensor(mask, { shape: [B, P] }) };
  },
  value: v.nullable(v.union([v.array(valueParts.float32), v.string()])),
  labels: (fb, b, field) => {
    const P = fb.mask.shape[1]!;
    return Array.from({ length: P }, (_, p) => ({ label: `${field}[${p}]`, real: Boolean(fb.mask.data[b * P + p]) }));
  },
  onnx: [
    { key: 'patches', suffix: '', dtype: 'float', dims: (f, s) => ['batch', `${f}.patches`, s.patchDim!] },
    { key: 'mask', suffix: '.mask', dtype: 'bool', dims: (f) => ['batch', `${f}.patches`] },
  ],
  check: (fb, s, where) => {
    const P = fb.patches.shape[1]!;
    if (P > s.maxLength!) throw new ShapeError(`${where}: ${P} patches, at most ${s.maxLength} were fitted`);
  },
  tokens: {
    params: (s, need) => [{ slot: 'proj', inputs: need(s.patchDim, 'patchDim') }, { slot: 'position', rows: need(s.maxLength, 'maxLength') }],
    forward: (x) => ({ tokens: x.add(x.project(x.input('patches')), x.positions(x.input('patches'))), mask: x.input('mask') }),   // [B, P, C]
  },
  vector: {
    params: (s, need) => [{ slot: 'proj', inputs: need(s.patchDim, 'patchDim') }],
    forward: (x) => x.maskedMean(x.project(x.input('patches')), x.input('mask')),
  },
  sequence: {
    params: (s, need) => [{ slot: 'proj', inputs: need(s.patchDim, 'patchDim') }],
    forward: (x) => ({ x: x.project(x.input('patches')), mask: x.input('mask') }),
  },
};
