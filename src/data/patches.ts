/** The numeric arrays of the patch kinds (src/data/fields/timeSeries.ts, image.ts). */
import { DataError, preview } from '../errors.js';
import { cellNumber, checkFloat32 } from './float32.js';

/** Reads a numeric array: an array of numbers or a string of numbers separated by commas, spaces or semicolons. */
export function numbers(value: unknown, where: string): number[] {
  const raw = typeof value === 'string' ? value.split(/[\s,;]+/).filter((s) => s !== '') : value;
  if (!Array.isArray(raw)) throw new DataError(`${where}: expected an array of numbers, got ${typeof value}`);
  return raw.map((x, i) => {
    const n = cellNumber(x);
    if (!Number.isFinite(n)) throw new DataError(`${where}: element ${i} is not a finite number (${preview(x)})`);
    return checkFloat32(n, () => `${where}: element ${i} (${preview(x)})`);
  });
}

