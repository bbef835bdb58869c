/**
 * Relative position bias (Shaw et al. 2018; T5): a learnable score per head and clipped relative
 * distance, score(i, j) += table[h, clamp(j − i, −M, M) + M]. The fused attention kernels add it
 * tile by tile and sum its gradient there, so no [H, T, S] bias is materialised;
 * `relativePositionBias` materialises it for the unfused path and for checks.
 */
import { ShapeError, ValueError, fmtShape, preview } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { floatArg } from './util.js';
import { embedding } from './norm.js';
import { reshape, transpose } from './shape.js';

/** A relative position bias for attention: `table` [H, 2·maxDistance + 1], learnable. */
export interface RelativeBias {
  /** [H, 2·maxDistance + 1]: column clamp(j − i, −M, M) + M holds head h's bias for key j of query i. */
  table: Tensor;
  /** M: offsets beyond ±M share the last column on their side (a non-negative integer). */
  maxDistance: number;
}

/** Checks a relative bias against H heads and the operands' dtype; returns its table and M. */
export function checkRelativeBias(fn: string, rel: unknown, H: number | null, dtype: string | null): { table: Tensor; maxDistance: number } {
  if (rel === null || typeof rel !== 'object') throw new ValueError(`${fn}: relativeBias must be { table, maxDistance }, got ${preview(rel)}`);
  const { table, maxDistance } = rel as Partial<RelativeBias>;
  for (const k of Object.keys(rel)) {
    if (k !== 'table' && k !== 'maxDistance') throw new ValueError(`${fn}: relativeBias has an unknown key '${k}' (accepted: table, maxDistance)`);
  }
  if (typeof maxDistance !== 'number' || !Number.isInteger(maxDistance) || maxDistance < 0) {
    throw new ValueError(`${fn}: relativeBias.maxDistance must be a non-negative integer, got ${preview(maxDistance)}`);
  }
  const t = floatArg(table, fn, 'relativeBias.table');
  const W = 2 * maxDistance + 1;
  if (t.ndim !== 2 || (H !== null && t.shape[0] !== H) || t.shape[1] !== W) {
    throw new ShapeError(`${fn}: relativeBias.table must be [H, 2·maxDistance + 1] = [${H ?? 'H'}, ${W}], got ${fmtShape(t.shape)}`);
  }
  if (dtype !== null && t.dtype !== dtype) throw new ShapeError(`${fn}: relativeBias.table is ${t.dtype}, the operands are ${dtype}`);
  return { table: t, maxDistance };
}

/** [T + S − 1] int32: the table column of offset j − i, at index j − i + T − 1 (clamped to ±M). */
export function relativeBuckets(T: number, S: number, maxDistance: number): Int32Array {
  const out = new Int32Array(T + S - 1);
  for (let o = 0; o < out.length; o++) out[o] = Math.min(Math.max(o - (T - 1), -maxDistance), maxDistance) + maxDistance;
  return out;
}

/**
 * The bias a relative position table adds, materialised: table [H, 2M + 1] → [1, H, T, S] with
 * [0, h, i, j] = table[h, clamp(j − i, −M, M) + M]. Differentiable (the gradient sums each column's
 * positions). The fused path adds the same thing without this tensor.
 *
 * @example
 * const table = randn([4, 2 * 8 + 1]);                                           // [H, 2M + 1]
 * const bias = F.relativePositionBias({ table, maxDistance: 8 }, 10, 10);       // [1, 4, 10, 10]
 */
export function relativePositionBias(rel: RelativeBias, T: number, S: number): Tensor {
  const fn = 'relativePositionBias';
  const { table, maxDistance } = checkRelativeBias(fn, rel, null, null);
  for (const [k, v] of [['T', T], ['S', S]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ValueError(`${fn}: ${k} must be a positive integer, got ${preview(v)}`);
  }
  const b = relativeBuckets(T, S, maxDistance);
  const ids = new Int32Array(T * S);
  for (let i = 0; i < T; i++) for (let j = 0; j < S; j++) ids[i * S + j] = b[j - i + T - 1]!;
  const H = table.shape[0]!;
  const rows = embedding(new Tensor(ids, [T, S]), transpose(table, 0, 1));   // [T, S, H]
  return reshape(transpose(reshape(rows, [T * S, H]), 0, 1), [1, H, T, S]); // [1, H, T, S]
}
