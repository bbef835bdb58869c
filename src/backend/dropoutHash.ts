/**
 * The dropout decision every backend makes, a counter-based hash of (seed, position): the same
 * bits in the js kernels, the native ones and the unfused path of ops/attention.ts.
 */

function fmix32(h: number): number {
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The dropout decision, bit-identical to the native kernel's: keep weight number idx = (bh·T + i)·S + j? */
export function dropoutKeep(seed: number, idx: number, threshold: number): boolean {
  const lo = idx >>> 0, hi = Math.floor(idx / 4294967296) >>> 0;
  return fmix32((seed ^ fmix32((lo ^ fmix32((hi + 0x9e3779b9) >>> 0)) >>> 0)) >>> 0) >= threshold;
}
export function dropoutThreshold(p: number): number {
  return Math.min(Math.floor(p * 4294967296), 4294967295);
}
