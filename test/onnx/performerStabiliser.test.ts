/**
 * The exported Performer graph stabilises its key features as attnkit's forward does: one max per
 * (sample, head) over that sample's real keys only, so neither a neighbour in the batch nor a
 * padded key (whatever it holds) moves a sample's output. Queries take their max per row.
 */
import { test } from 'node:test';
import { Generator, Tensor, exportOnnx, nn, randn } from '../../src/index.js';
import { compare, maskFor } from './ortCompare.js';

/** x [B, T, C] with sample `b` scaled by `factor` (a loud neighbour). */
function scaled(x: Tensor, b: number, factor: number): Tensor {
  const [, T, C] = x.shape as [number, number, number];
  const data = Float32Array.from(x.data);
  for (let i = b * T * C; i < (b + 1) * T * C; i++) data[i] *= factor;
  return new Tensor(data, [...x.shape]);
}

test('Performer export: a scaled neighbour and padded keys leave each sample as attnkit computes it', async () => {
  for (const causal of [false, true]) {
    const m = new nn.LinearSelfAttention({ embedDim: 8, numHeads: 2, kernel: 'performer', numFeatures: 16, causal, rng: new Generator(3) });
    m.eval();
    const bytes = exportOnnx(m, { keyMask: true });
    for (const [B, T, factor] of [[2, 6, 2], [3, 7, 4], [2, 5, 8]] as const) {
      const base = randn([B, T, 8], { rng: new Generator(B * 10 + T) });
      const x = scaled(base, 1, factor);
      const keyMask = maskFor(B, T);
      // padded keys hold large values: they must reach no stabiliser
      const xd = Float32Array.from(x.data);
      const mk = keyMask.data as Uint8Array;
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) if (!mk[b * T + t]) for (let c = 0; c < 8; c++) xd[(b * T + t) * 8 + c] = 6 * (c % 2 ? 1 : -1);
      const xp = new Tensor(xd, [B, T, 8]);
      await compare(`Performer${causal ? ' causal' : ''} [${B},${T}] ×${factor}`, bytes, { x: xp, keyMask }, { y: m.forward(xp, { keyMask }).output });
    }
  }
});
