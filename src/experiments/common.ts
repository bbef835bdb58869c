/** Helpers the studies share: seed statistics, Markdown tables, timing, and the data several studies read. */
import { Preprocessor } from '../data/preprocessor.js';
import { splitIndices, type EncodedDataset } from '../data/dataset.js';
import { sentimentSentences } from '../data/node/datasets.js';

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

/** A 28×28 MNIST digit (784 values) as 14×14 means of 2×2 pixels, row by row (196 values). */
export function mnist14(p: ArrayLike<number>): Float32Array {
  const out = new Float32Array(196);
  for (let y = 0; y < 14; y++) for (let x = 0; x < 14; x++) out[y * 14 + x] = (p[2 * y * 28 + 2 * x] + p[2 * y * 28 + 2 * x + 1] + p[(2 * y + 1) * 28 + 2 * x] + p[(2 * y + 1) * 28 + 2 * x + 1]) / 4;
  return out;
}

/**
 * The `sentiment` sentences as words only (every sixth one with `quick`), split 70/10/20
 * stratified by `seed`, with the preprocessing fitted on the training rows.
 */
export function sentimentWords(quick: boolean, seed: number): { pre: Preprocessor; ds: EncodedDataset; split: { train: number[]; valid: number[]; test: number[] } } {
  const full = sentimentSentences();
  const records = quick ? full.records.filter((_, i) => i % 6 === 0) : full.records;
  const schema = { fields: [{ name: 'text', kind: 'text' as const, maxLength: 40, minCount: 2 }], targets: full.schema.targets };
  const split = splitIndices(records.length, { seed, valid: 0.1, test: 0.2, stratify: records.map((r) => Number(r.label === 'positive')) });
  const pre = Preprocessor.fit(schema, split.train.map((i) => records[i]));
  return { pre, ds: pre.encode(records).dataset, split };
}
