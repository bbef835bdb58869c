/** An image: patchSize × patchSize squares (ViT), divided by `scale`; one projected token per patch. */
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { positiveNumber, v } from '../../config.js';
import { specParts, valueParts, type FieldKindDef, checkFieldSpec } from './fieldKindDef.js';
import { DataError, preview } from '../../errors.js';
import { missingTest } from '../missing.js';
import { checkFloat32, fitsFloat32 } from '../float32.js';
import { numbers } from '../patches.js';

const schema = v.strictObject({
  ...specParts.common, kind: v.literal('image'),
  height: specParts.int, width: specParts.int, channels: v.optional(specParts.int), patchSize: specParts.int,
  /** Divide pixel values by this (default 1; 255 for 8-bit images). */
  scale: v.optional(positiveNumber),
});
export type ImageSpec = v.InferOutput<typeof schema>;

/**
 * An image (a flat array of height·width·channels values in row-major [H, W, C] order) →
 * (H/p)·(W/p) patches of p·p·C values each, divided by `scale`.
 */
export class ImageEncoder {
  private readonly isMissing: (v: unknown) => boolean;
  constructor(readonly spec: ImageSpec) {
    checkFieldSpec('ImageEncoder', spec);
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
        if (!fitsFloat32(v)) checkFloat32(v, () => `${where}: element ${i} (${preview(px[i])})`, 'scales');
        out[o++] = v;
      }
    }
    return out;
  }
}

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
