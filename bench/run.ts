/**
 * `npm run bench` — attnkit beside its peers, in the same run, on this machine.
 *
 * attnkit runs on its native backend, on its wasm backend (the same C++ compiled to WebAssembly
 * SIMD128, in Node: pthreads on worker_threads) and on its js reference backend.
 * Every (case, implementation) pair runs in a fresh process (bench/worker.ts) so its peak
 * RSS is its own. Prints the machine's FMA ceiling (bench/fma_probe.c, built here with the
 * system C compiler), a table with ms, GFLOP/s, share of the ceiling, peak RSS and the ratio
 * of each peer's time to attnkit-native's, and writes everything as JSON.
 *
 * Options: --quick (tiny sizes: a smoke run), --only <substring of a case id>,
 *          --impls <a,b,…> (run only these implementations; the others are listed as not run),
 *          --rounds <n> (run every pair n times, interleaved, and report the median round),
 *          --threads <n> (default: all cores), --min-seconds <s> (timing budget per pair),
 *          --warmup <s> (untimed runs after the first for at least s seconds; default 2, 0 with --quick:
 *          V8 compiles wasm with its optimising tier in background threads, which a pair's busy cores
 *          starve, so attnkit-wasm's forward + backward kept Liftoff code for about 9 runs),
 *          --out <file.json> (default bench/results/bench-<time>.json).
 *
 * PyTorch is an optional peer (bench/torch_peer.py): it runs when a Python with torch is found
 * ($ATTNKIT_BENCH_PYTHON, python3 or /usr/bin/python3; Debian's python3-torch), else its rows
 * say it was not found.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, fmtMs, printRows } from './args.ts';
import { benchCases, type BenchCase, type ImplName } from './cases.ts';
import type { WorkerResult } from './worker.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = benchArgs('bench', 1.5, 2);
const { threads, minSeconds, rounds, warmup } = args;

interface Ceiling { isa: string; threads: number; gflops: number | null; error?: string }

/** Builds and runs the FMA probe; null GFLOP/s when no C compiler or no AVX2/AVX-512. */
function fmaCeiling(): Ceiling {
  const dir = path.join(os.tmpdir(), `attnkit-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const exe = path.join(dir, 'fma_probe');
  try {
    execFileSync('cc', ['-O2', '-pthread', '-o', exe, path.join(here, 'fma_probe.c')], { stdio: 'pipe' });
    const iters = args.quick ? '20000000' : '200000000';
    return JSON.parse(execFileSync(exe, [String(threads), iters], { encoding: 'utf8' })) as Ceiling;
  } catch (e) {
    return { isa: 'unknown', threads, gflops: null, error: e instanceof Error ? e.message.split('\n')[0] : String(e) };
  }
}

interface Row {
  case: string;
  title: string;
  impl: ImplName;
  skipped?: string;
  result?: WorkerResult;
  gflops?: number;
  ofCeiling?: number;
  tokensPerSecond?: number;
  /** Each round's median time when --rounds > 1 (the row reports the median round). */
  msRounds?: number[];
  /** This implementation's time divided by attnkit-native's (> 1: attnkit is faster). */
  vsNative?: number;
  agrees?: boolean;
}

/** The first Python that can import torch, or null (torch is an optional peer). */
function findTorchPython(): string | null {
  for (const py of [process.env.ATTNKIT_BENCH_PYTHON, 'python3', '/usr/bin/python3']) {
    if (!py) continue;
    const r = spawnSync(py, ['-c', 'import torch, numpy'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return py;
  }
  return null;
}

function runPair(c: BenchCase, impl: ImplName): WorkerResult {
  const timeout = (args.quick ? 120 : 600) * 1000;
  const [cmd, argv] = impl === 'torch'
    ? [torchPython!, [path.join(here, 'torch_peer.py'), JSON.stringify(c), String(threads), String(minSeconds), String(warmup)]]
    : [process.execPath, ['--import', 'tsx', path.join(here, 'worker.ts'), JSON.stringify(c), impl, String(threads), String(minSeconds), String(warmup)]];
  const child = spawnSync(cmd, argv, {
    encoding: 'utf8', timeout, maxBuffer: 1 << 24, env: { ...process.env, ATTNKIT_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) },
  });
  if (child.error) return { ok: false, error: `${child.error.message} (limit ${timeout / 1000} s)` };
  const line = child.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as WorkerResult;
  } catch {
    const why = child.signal ? `killed by ${child.signal}` : `exit ${child.status}`;
    return { ok: false, error: `${why}: ${(child.stderr || child.stdout).trim().split('\n').slice(-3).join(' | ')}` };
  }
}

const fmt = (x: number | undefined, digits = 1): string => (x === undefined || !Number.isFinite(x) ? '' : x.toFixed(digits));

function printTable(rows: Row[]): void {
  const head = ['case', 'implementation', 'ms', 'GFLOP/s', '% FMA peak', 'tokens/s', 'peak RSS MB', 'Δ RSS MB', '× native time', 'same result'];
  const body = rows.map((r) => {
    const w = r.result;
    if (r.skipped) return [r.title, r.impl, r.skipped];
    if (!w?.ok) return [r.title, r.impl, `failed: ${w?.error ?? '?'}`.slice(0, 90)];
    return [
      r.title, r.impl, fmtMs(w.ms!), fmt(r.gflops), fmt(r.ofCeiling === undefined ? undefined : r.ofCeiling * 100, 0),
      r.tokensPerSecond ? r.tokensPerSecond.toFixed(0) : '', fmt(w.rssPeakMB, 0), fmt(w.rssPeakMB! - w.rssBaseMB!, 0),
      r.vsNative === undefined ? '' : r.vsNative.toFixed(2), r.agrees === undefined ? '' : r.agrees ? 'yes' : 'NO',
    ];
  });
  printRows(head, body);
}

const ceiling = fmaCeiling();
console.log(`attnkit bench — ${os.cpus()[0]?.model ?? 'cpu'}, ${os.availableParallelism()} cores, ${threads} threads, node ${process.version}`);
console.log(ceiling.gflops === null
  ? `FMA ceiling: not measured (${ceiling.error ?? `no AVX2/AVX-512 (${ceiling.isa})`})`
  : `FMA ceiling (bench/fma_probe.c, ${ceiling.isa}, ${ceiling.threads} threads): ${ceiling.gflops.toFixed(1)} GFLOP/s`);
console.log('');

const torchPython = findTorchPython();
const onlyImpls = args.impls?.split(',').map((s) => s.trim()).filter(Boolean);
const rows: Row[] = [];
const cases = benchCases(args.quick).filter((c) => !args.only || c.id.includes(args.only));
for (const c of cases) {
  const group: Row[] = [];
  for (const [impl, run] of c.impls) {
    const row: Row = { case: c.id, title: c.title, impl };
    if (run !== true) row.skipped = run;
    else if (onlyImpls && !onlyImpls.includes(impl)) row.skipped = 'not run (--impls)';
    else if (impl === 'torch' && !torchPython) row.skipped = 'skipped: no Python with torch found (optional peer)';
    group.push(row);
  }
  // rounds interleave the implementations, so a slow spell of a shared machine hits them alike
  const runs = new Map<Row, WorkerResult[]>();
  for (let round = 0; round < rounds; round++) {
    for (const row of group) {
      if (row.skipped) continue;
      if (process.stderr.isTTY) process.stderr.write(`  ${c.id} · ${row.impl}${rounds > 1 ? ` (round ${round + 1}/${rounds})` : ''} …\r`);
      runs.set(row, [...(runs.get(row) ?? []), runPair(c, row.impl)]);
      if (process.stderr.isTTY) process.stderr.write(`${' '.repeat(80)}\r`);
    }
  }
  for (const [row, results] of runs) {
    const failed = results.find((w) => !w.ok);
    if (failed) {
      row.result = failed;
      continue;
    }
    const sorted = [...results].sort((a, b) => a.ms! - b.ms!);
    row.result = sorted[(sorted.length - 1) >> 1]!;  // the median round (the lower one of an even count)
    if (rounds > 1) row.msRounds = results.map((w) => w.ms!);
  }
  const native = group.find((r) => r.impl === 'attnkit-native')?.result;
  for (const r of group) {
    const w = r.result;
    if (!w?.ok) continue;
    r.gflops = c.flops / (w.ms! * 1e6);
    if (ceiling.gflops) r.ofCeiling = r.gflops / ceiling.gflops;
    if (c.tokens) r.tokensPerSecond = c.tokens / (w.ms! / 1000);
    if (native?.ok) {
      r.vsNative = w.ms! / native.ms!;
      if (c.spec.kind !== 'encoder') {
        // Σx² is independent of layout; fp32 sums over millions of values agree to ~1e-4
        const [a, b] = [w.checksum![1], native.checksum![1]];
        r.agrees = Math.abs(a - b) <= 2e-3 * Math.max(Math.abs(a), Math.abs(b), 1e-30);
      }
    }
  }
  rows.push(...group);
}

printTable(rows);
const notes = new Map<string, string>();
for (const r of rows) if (r.result?.ok && r.result.note && !notes.has(r.impl)) notes.set(r.impl, r.result.note);
console.log('');
for (const [impl, note] of notes) console.log(`${impl}: ${note}`);
console.log('× native time: the implementation\'s median time over attnkit-native\'s (above 1: attnkit is faster).');
const report = {
  date: new Date().toISOString(),
  machine: { cpu: os.cpus()[0]?.model, cores: os.availableParallelism(), node: process.version, threads },
  rounds,
  minSeconds,
  warmupSeconds: warmup,
  fmaCeiling: ceiling,
  quick: args.quick,
  cases: cases.map(({ id, title, spec, flops, tokens }) => ({ id, title, spec, flops, tokens })),
  rows,
};
const out = args.out ?? path.join(here, 'results', `bench-${report.date.replace(/[:.]/g, '-')}.json`);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(`${out}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
renameSync(`${out}.tmp`, out);
console.log(`\nJSON: ${path.relative(process.cwd(), out)}`);
// attnkit must run everywhere and every peer must agree with it; in a --quick smoke run every peer must run too
const failed = rows.filter((r) => r.result && !r.result.ok && ((args.quick && r.impl !== 'torch') || r.impl.startsWith('attnkit')));
const disagree = rows.filter((r) => r.agrees === false);
for (const r of [...failed, ...disagree]) console.error(`bench: ${r.case} · ${r.impl}: ${r.result?.ok ? 'result differs from attnkit-native' : r.result?.error}`);
if (failed.length || disagree.length) process.exitCode = 1;
