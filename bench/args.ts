/**
 * The command line both benches take (bench/run.ts in Node, bench/browser/run.ts in Chromium):
 * --quick, --only <case substring>, --impls a,b, --threads n, --min-seconds s, --warmup s, --rounds n, --out file.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';

export interface BenchArgs {
  quick: boolean; only?: string; impls?: string; out?: string;
  threads: number; minSeconds: number; rounds: number;
  /** Untimed runs for at least this many seconds after the first (0: the first run only). */
  warmup: number;
}

/**
 * Parses and checks the options; `name` prefixes the errors, `fullSeconds` is --min-seconds' default
 * without --quick, `fullWarmup` --warmup's (with --quick: 0).
 */
export function benchArgs(name: string, fullSeconds: number, fullWarmup = 0): BenchArgs {
  const { values: a } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      impls: { type: 'string' },
      threads: { type: 'string' },
      'min-seconds': { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const quick = a.quick ?? false;
  const threads = Number(a.threads ?? os.availableParallelism());
  const minSeconds = Number(a['min-seconds'] ?? (quick ? 0.05 : fullSeconds));
  const rounds = Number(a.rounds ?? 1);
  const warmup = Number(a.warmup ?? (quick ? 0 : fullWarmup));
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`${name}: --threads must be a positive integer, got ${a.threads}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`${name}: --rounds must be a positive integer, got ${a.rounds}`);
  if (!(minSeconds >= 0)) throw new Error(`${name}: --min-seconds must be ≥ 0, got ${a['min-seconds']}`);
  if (!(warmup >= 0)) throw new Error(`${name}: --warmup must be ≥ 0, got ${a.warmup}`);
  return { quick, only: a.only, impls: a.impls, out: a.out, threads, minSeconds, rounds, warmup };
}

/** A time in ms with 3 significant-ish digits. */
export const fmtMs = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

/**
 * Prints the results table both benches print: a row of cells per (case, implementation), or a
 * note row `[case, implementation, note]` (skipped, failed) that spans the numeric columns; the case
 * is printed once per group; widths come from the full rows.
 */
export function printRows(head: string[], body: string[][]): void {
  const full = body.filter((b) => b.length === head.length);
  const widths = head.map((h, i) => Math.max(h.length, ...full.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  let last = '';
  for (const b of body) {
    const row = [b[0] === last ? '' : b[0]!, ...b.slice(1)];
    last = b[0]!;
    console.log(b.length === head.length ? line(row) : `${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${row[2]}`);
  }
}
