/**
 * Renders a benchmark JSON (from bench/run.ts) as a Markdown table, for the README.
 * Usage: tsx bench/table.ts bench/results/<file>.json
 */
import { readFileSync } from 'node:fs';

interface Row {
  title: string;
  impl: string;
  skipped?: string;
  result?: { ok: boolean; error?: string; ms?: number; rssPeakMB?: number; rssBaseMB?: number };
  gflops?: number;
  ofCeiling?: number;
  tokensPerSecond?: number;
  vsNative?: number;
  agrees?: boolean;
  msRounds?: number[];
}
interface Report { date: string; rounds?: number; machine: { cpu?: string; cores: number; node: string; threads: number }; fmaCeiling: { isa: string; gflops: number | null }; rows: Row[] }

const file = process.argv[2];
if (!file) throw new Error('usage: tsx bench/table.ts <results.json>');
const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
console.log(`${report.machine.cpu ?? 'cpu'}, ${report.machine.cores} cores, ${report.machine.threads} threads, Node ${report.machine.node}; ` +
  `FMA ceiling ${report.fmaCeiling.gflops?.toFixed(1) ?? '?'} GFLOP/s (${report.fmaCeiling.isa}); ${report.date.slice(0, 10)}` +
  `${(report.rounds ?? 1) > 1 ? `; median of ${report.rounds} interleaved rounds (range in brackets)` : ''}.\n`);
console.log('| case | implementation | ms | GFLOP/s | % of FMA ceiling | peak RSS MB (Δ) | time ÷ attnkit-native |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
let last = '';
for (const r of report.rows) {
  const name = r.title === last ? '' : r.title;
  last = r.title;
  if (r.skipped?.startsWith('n/a')) continue;
  if (r.skipped || !r.result?.ok) {
    console.log(`| ${name} | ${r.impl} | ${r.skipped ?? `failed: ${r.result?.error ?? '?'}`} | | | | |`);
    continue;
  }
  const w = r.result;
  const rate = r.tokensPerSecond ? `${r.gflops!.toFixed(1)} (${r.tokensPerSecond.toFixed(0)} tokens/s)` : r.gflops!.toFixed(1);
  const range = r.msRounds && r.msRounds.length > 1 ? ` (${ms(Math.min(...r.msRounds))}–${ms(Math.max(...r.msRounds))})` : '';
  console.log(`| ${name} | ${r.impl} | ${ms(w.ms!)}${range} | ${rate} | ${((r.ofCeiling ?? 0) * 100).toFixed(0)} | ` +
    `${w.rssPeakMB!.toFixed(0)} (${(w.rssPeakMB! - w.rssBaseMB!).toFixed(0)}) | ${r.vsNative!.toFixed(2)}${r.agrees === false ? ' ✗ differs' : ''} |`);
}
