/** Shared by the ONNX tests: padded key masks and running a graph in ONNX Runtime against attnkit's outputs. */
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Generator, Tensor, randn, tensor } from '../../src/index.js';

/** [B, T] bool: row b keeps T − 2b real tokens; with B > 2 the last row has none (its outputs are defined too). */
export function maskFor(B: number, T: number): Tensor {
  return tensor(Uint8Array.from({ length: B * T }, (_, i) => {
    const b = Math.floor(i / T);
    return B > 2 && b === B - 1 ? 0 : i % T < Math.max(1, T - 2 * b) ? 1 : 0;
  }), { shape: [B, T] });
}

/** A seeded x [B, T, C]. */
export const x3 = (B: number, T: number, C: number, seed: number): Tensor => randn([B, T, C], { rng: new Generator(seed) });

/** An attnkit tensor as an ORT feed (bool, int32 → int64, float32); ORT tensors pass through. */
function toOrt(t: Tensor | ort.Tensor): ort.Tensor {
  if (!(t instanceof Tensor)) return t;
  if (t.dtype === 'bool') return new ort.Tensor('bool', t.data as Uint8Array, [...t.shape]);
  if (t.dtype === 'int32') return new ort.Tensor('int64', BigInt64Array.from(t.data as Int32Array, (v) => BigInt(v)), [...t.shape]);
  return new ort.Tensor('float32', Float32Array.from(t.data), [...t.shape]);
}

/**
 * Runs `bytes` in ORT with `feeds` and compares every named output with attnkit's (max |error|
 * ≤ `tol`). The graph's inputs must be exactly the feeds (ORT ignores unknown feed names, so a
 * dropped mask input would otherwise go unseen) and its outputs exactly `expected`.
 */
export async function compare(name: string, bytes: Uint8Array, feeds: Record<string, Tensor | ort.Tensor>, expected: Record<string, Tensor>, tol = 1e-4): Promise<void> {
  const session = await ort.InferenceSession.create(bytes);
  assert.deepEqual([...session.inputNames].sort(), Object.keys(feeds).sort(), `${name}: graph inputs`);
  const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, toOrt(t)])));
  assert.deepEqual(Object.keys(out).sort(), Object.keys(expected).sort(), `${name}: outputs`);
  for (const [k, e] of Object.entries(expected)) {
    assert.deepEqual([...out[k].dims], [...e.shape], `${name} ${k} shape`);
    const got = out[k].data as Float32Array;
    let worst = 0, at = 0;
    for (let j = 0; j < got.length; j++) {
      const d = Math.abs(got[j] - e.data[j]);
      if (!(d <= worst)) { worst = d; at = j; }
    }
    assert.ok(worst <= tol, `${name} ${k}: max |ORT − attnkit| = ${worst} at ${at} (ORT ${got[at]}, attnkit ${e.data[at]})`);
  }
}
