/** A time series: the last patches of `patchSize` values (PatchTST); one projected token per patch. */
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ShapeError } from '../../errors.js';
import { v } from '../../config.js';
import { SeriesEncoder, type SeriesCell, type SeriesState } from '../patches.js';
import { encoderCodec, specParts, valueParts, type FieldKindDef } from './fieldKindDef.js';

const schema = v.strictObject({
  ...specParts.common, kind: v.literal('timeSeries'),
  patchSize: specParts.int, maxPatches: v.optional(specParts.int),
  normalize: v.optional(v.picklist(['standard', 'instance', 'none'])),
});
export type TimeSeriesSpec = v.InferOutput<typeof schema>;
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
