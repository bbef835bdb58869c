/**
 * The float32 range every encoded value must fit: tensors are float32, so a number past
 * ±3.4028235e38 (finite in JavaScript) would become ±∞ once stored and NaN in the model — a
 * prediction of null. Encoders check their values here, after normalising or scaling too.
 */
import { DataError, preview } from '../errors.js';

/** True when `x` stays finite stored as float32 (NaN and ±∞ do not). */
export function fitsFloat32(x: number): boolean {
  return Number.isFinite(Math.fround(x));
}

/**
 * Returns `x`, or throws DataError `<subject> is beyond the float32 range …` — or, when `x` was
 * derived from the value (`derived` = 'normalises', 'scales'), `<subject> normalises to 2.00e+39,
 * beyond …`. `subject` (built only on failure) names where and what, e.g.
 * `wages.csv:4: field 'wage': 1e+42`.
 */
export function checkFloat32(x: number, subject: () => string, derived?: string): number {
  if (fitsFloat32(x)) return x;
  const how = derived ? ` ${derived} to ${x.toPrecision(3)},` : ' is';
  throw new DataError(`${subject()}${how} beyond the float32 range (±3.4e38) the model computes in`);
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A decimal number written as text (surrounding blanks allowed), else NaN: not hex, blanks, 'Infinity' or 'NaN', which `Number()` would take. */
export function decimalNumber(text: string): number {
  const t = text.trim();
  return DECIMAL.test(t) ? Number(t) : NaN;
}

/** A cell's number, the one rule for every numeric cell: a number as is, a boolean as 0/1, decimal text (see decimalNumber); anything else NaN. */
export function cellNumber(value: unknown): number {
  return typeof value === 'number' ? value : typeof value === 'boolean' ? Number(value) : typeof value === 'string' ? decimalNumber(value) : NaN;
}

/** cellNumber, finite, else DataError `<where>: expected a number, got …`. */
export function finiteCell(value: unknown, where: string): number {
  const n = cellNumber(value);
  if (!Number.isFinite(n)) throw new DataError(`${where}: expected a number, got ${preview(value)}`);
  return n;
}
