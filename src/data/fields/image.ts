/** An image: patchSize × patchSize squares (ViT), divided by `scale`; one projected token per patch. */
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { v } from '../../config.js';
import { ImageEncoder } from '../patches.js';
import { specParts, valueParts, type FieldKindDef } from './fieldKindDef.js';

const schema = v.strictObject({
  ...specParts.common, kind: v.literal('image'),
  height: specParts.int, width: specParts.int, channels: v.optional(specParts.int), patchSize: specParts.int,
  /** Divide pixel values by this (default 1; 255 for 8-bit images). */
  scale: v.optional(v.pipe(v.number(), v.minValue(Number.MIN_VALUE))),
});
export type ImageSpec = v.InferOutput<typeof schema>;
export interface ImageColumn { kind: 'image'; rows: (Float32Array | null)[]; numPatches: number; patchDim: number }
/** patches [B, P, patchDim], present [B] */
export interface ImageBatch { kind: 'image'; patches: Tensor; present: Tensor }

export const imageField: FieldKindDef<ImageSpec, null, Float32Array | null, ImageColumn, ImageBatch> = {
  schema,
  codec(spec) {
    const e = new ImageEncoder(spec);
    return {
      fit: () => {},
      encode: (value, where) => e.encode(value, where),
      state: () => null,
      sizes: () => ({ patchDim: e.patchDim, numPatches: e.numPatches }),
      column: (cells) => ({ kind: 'image', rows: cells, numPatches: e.numPatches, patchDim: e.patchDim }),
    };
  },
  batch: (c, rows) => {
    const B = rows.length, n = c.numPatches * c.patchDim;
    const data = new Float32Array(B * n), present = new Uint8Array(B);
    rows.forEach((r, b) => { const x = c.rows[r]; if (x) { data.set(x, b * n); present[b] = 1; } });
    return { kind: 'image', patches: tensor(data, { shape: [B, c.numPatches, c.patchDim] }), present: tensor(present, { shape: [B] }) };
  },
  value: v.nullable(v.union([v.array(valueParts.float32), v.string()])),
  labels: (fb, b, field) => Array.from({ length: fb.patches.shape[1]! }, (_, p) => ({ label: `${field}#${p}`, real: Boolean(fb.present.data[b]) })),
  onnx: [
    { key: 'patches', suffix: '', dtype: 'float', dims: (_f, s) => ['batch', s.numPatches!, s.patchDim!] },
    { key: 'present', suffix: '.present', dtype: 'bool', dims: () => ['batch'] },
  ],
  tokens: {
    params: (s, need) => [{ slot: 'proj', inputs: need(s.patchDim, 'patchDim') }, { slot: 'position', rows: need(s.numPatches, 'numPatches') }],
    forward: (x) => ({
      tokens: x.add(x.project(x.input('patches')), x.positions(x.input('patches'))),   // [B, P, C]
      mask: x.perToken(x.input('present'), x.input('patches')),                       // [B, P]
    }),
  },
  // the mean of projected patches, zeros when the image is missing
  vector: {
    params: (s, need) => [{ slot: 'proj', inputs: need(s.patchDim, 'patchDim') }],
    forward: (x) => x.timesPresent(x.mean(x.project(x.input('patches'))), x.input('present')),
  },
};
