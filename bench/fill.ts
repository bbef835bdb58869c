/** Deterministic inputs in [-1, 1), the same for every implementation (Node workers and browser pages). */
export function fill(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 0x9e3779b1) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}
