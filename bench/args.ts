/**
 * The command line both benches take (bench/run.ts in Node, bench/browser/run.ts in Chromium):
 * --quick, --only <case substring>, --impls a,b, --threads n, --min-seconds s, --rounds n, --out file.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';

export interface BenchArgs {
  quick: boolean; only?: string; impls?: string; out?: string;
  threads: number; minSeconds: number; rounds: number;
}

/** Parses and checks the options; `name` prefixes the errors, `fullSeconds` is --min-seconds' default without --quick. */
export function benchArgs(name: string, fullSeconds: number): BenchArgs {
  const { values: a } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      impls: { type: 'string' },
      threads: { type: 'string' },
      'min-seconds': { type: 'string' },
      rounds: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const quick = a.quick ?? false;
  const threads = Number(a.threads ?? os.availableParallelism());
  const minSeconds = Number(a['min-seconds'] ?? (quick ? 0.05 : fullSeconds));
  const rounds = Number(a.rounds ?? 1);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`${name}: --threads must be a positive integer, got ${a.threads}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`${name}: --rounds must be a positive integer, got ${a.rounds}`);
  if (!(minSeconds >= 0)) throw new Error(`${name}: --min-seconds must be ≥ 0, got ${a['min-seconds']}`);
  return { quick, only: a.only, impls: a.impls, out: a.out, threads, minSeconds, rounds };
}
