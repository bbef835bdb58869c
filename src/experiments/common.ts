/** Helpers the studies share: seed statistics, Markdown tables, timing. */

export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export function std(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
}

/** `m ± sd` over seeds (just `m` for one seed), `digits` decimals. */
export function fmt(xs: number[], digits = 3): string {
  return xs.length > 1 ? `${mean(xs).toFixed(digits)} ± ${std(xs).toFixed(digits)}` : mean(xs).toFixed(digits);
}

/** A Markdown table. */
export function table(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Seconds since `t0` (from `performance.now()`). */
export const since = (t0: number): number => (performance.now() - t0) / 1000;

/** Appends `value` to `record[key]` (creating the list). */
export function push(record: Record<string, number[]>, key: string, value: number): void {
  (record[key] ??= []).push(value);
}

/** Spearman's rank correlation of two equal-length lists (average ranks for ties). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const rank = (x: ArrayLike<number>): number[] => {
    const idx = Array.from({ length: x.length }, (_, i) => i).sort((i, j) => x[i] - x[j]);
    const r = new Array<number>(x.length);
    for (let i = 0; i < idx.length;) {
      let j = i;
      while (j + 1 < idx.length && x[idx[j + 1]] === x[idx[i]]) j++;
      for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const ra = rank(a), rb = rank(b);
  const ma = mean(ra), mb = mean(rb);
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < ra.length; i++) { num += (ra[i] - ma) * (rb[i] - mb); da += (ra[i] - ma) ** 2; db += (rb[i] - mb) ** 2; }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : 0;
}
