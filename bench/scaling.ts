/**
 * `npm run bench:scaling` — time and peak memory of one attention forward pass (and, for the fused
 * kernels, forward + backward) against the sequence length, for each mechanism: full (the unfused
 * formula, T×S weights materialised), fused full (the tiled kernel), fused causal, sliding window
 * and BigBird on the block-sparse fused kernel, linear (elu + 1) and Performer. Each (mechanism, L)
 * runs in its own process so its peak RSS is its own; a second table gives each time as a ratio to
 * fused full attention's in the same run, and the memory above the process's baseline.
 *
 * Options: --quick (short lengths), --lengths 512,2048,…, --heads, --dim, --only <substring,…>,
 * --rounds n (every cell n times, round after round, keeping each cell's median time: on a shared
 * machine the load then weighs on every row alike), --out <file.json>.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const MECHANISMS = [
  'full (unfused)', 'full (fused kernel)', 'causal (fused)', 'window ±32', 'BigBird b=64', 'linear (elu+1)', 'Performer m=256',
  'full (fused) fwd+bwd', 'causal (fused) fwd+bwd', 'window ±32 fwd+bwd', 'BigBird b=64 fwd+bwd',
] as const;
type Mechanism = (typeof MECHANISMS)[number];
/** The row each mechanism's time is divided by: fused full attention, forward or forward + backward. */
const baseline = (m: Mechanism): Mechanism => (m.endsWith('fwd+bwd') ? 'full (fused) fwd+bwd' : 'full (fused kernel)');

interface Cell { ms?: number; peakMB?: number; baseMB?: number; skipped?: string; error?: string }

async function worker(mech: Mechanism, L: number, H: number, D: number): Promise<Cell> {
  const ak = await import('../src/node.ts');
  // the table is labelled native: a fallback to wasm would put wasm times under that label
  if (ak.useBackend('native') !== 'native') throw new Error('bench/scaling: the native addon did not load (npm run build:native)');
  const base = process.resourceUsage().maxRSS / 1024;
  const g = new ak.Generator(1);
  const bwd = mech.endsWith('fwd+bwd');
  const [q, k, v] = [0, 1, 2].map(() => ak.randn([1, H, L, D], { rng: g, requiresGrad: bwd }));
  const performer = new ak.nn.PerformerAttention({ headDim: D, numFeatures: 256, rng: g });
  let window = null, bigBird = null;
  try {
    window = mech.startsWith('window') ? ak.nn.slidingWindowPattern(L, { window: 32 }) : null;
    bigBird = mech.startsWith('BigBird') ? ak.nn.bigBirdPattern(L, { blockSize: 64, windowBlocks: 3, globalBlocks: 1, randomBlocks: 1, rng: g }) : null;
  } catch (e) {
    if (e instanceof ak.ValueError) return { skipped: 'L too short for the pattern' };
    throw e;
  }
  const forward = (): unknown => {
    switch (mech) {
      case 'full (unfused)': return ak.F.scaledDotProductAttention(q!, k!, v!, { returnWeights: true });
      case 'full (fused kernel)': case 'full (fused) fwd+bwd': return ak.F.scaledDotProductAttention(q!, k!, v!);
      case 'causal (fused)': case 'causal (fused) fwd+bwd': return ak.F.scaledDotProductAttention(q!, k!, v!, { causal: true });
      case 'window ±32': case 'window ±32 fwd+bwd': return ak.nn.sparseAttention(q!, k!, v!, window!);
      case 'BigBird b=64': case 'BigBird b=64 fwd+bwd': return ak.nn.sparseAttention(q!, k!, v!, bigBird!);
      case 'linear (elu+1)': return ak.nn.linearAttention(q!, k!, v!);
      case 'Performer m=256': return performer.forward(q!, k!, v!).output;
    }
  };
  const run = (): unknown => (bwd ? ak.backward(ak.F.sum(forward() as InstanceType<typeof ak.Tensor>)) : ak.noGrad(forward));
  run();
  const times: number[] = [];
  let spent = 0;
  // at least 3 runs and a second of them (a fast cell gets more samples: its median is less at the mercy of the load), at most 10 s
  while ((times.length < 3 || spent < 1000) && times.length < 100 && spent < 10_000) {
    const t = performance.now();
    run();
    const dt = performance.now() - t;
    times.push(dt);
    spent += dt;
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, peakMB: process.resourceUsage().maxRSS / 1024, baseMB: base };
}

if (process.argv[2] === '--worker') {
  const [mech, L, H, D] = [process.argv[3] as Mechanism, Number(process.argv[4]), Number(process.argv[5]), Number(process.argv[6])];
  worker(mech, L, H, D).then(
    (c) => { process.stdout.write(`${JSON.stringify(c)}\n`); process.exit(0); },
    (e: unknown) => { process.stdout.write(`${JSON.stringify({ error: e instanceof Error ? e.message : String(e) })}\n`); process.exit(0); },
  );
} else {
  const { values: args } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false }, lengths: { type: 'string' }, heads: { type: 'string' }, dim: { type: 'string' },
      only: { type: 'string' }, rounds: { type: 'string' }, out: { type: 'string' },
    },
  });
  const only = args.only?.split(',');
  const mechs = MECHANISMS.filter((m) => !only || only.some((o) => m.includes(o)) || MECHANISMS.some((x) => baseline(x) === m && only.some((o) => x.includes(o))));
  const lengths = (args.lengths ?? (args.quick ? '256,512' : '512,1024,2048,4096,8192,16384')).split(',').map(Number);
  const H = Number(args.heads ?? 4), D = Number(args.dim ?? 64);
  if (lengths.some((l) => !Number.isInteger(l) || l < 128 || l % 64 !== 0)) throw new Error('bench:scaling: lengths must be multiples of 64, at least 128');
  console.log(`attention forward (fwd+bwd: forward and backward), B1 H${H} D${D}, native backend, ${os.availableParallelism()} threads, ${os.cpus()[0]?.model ?? '?'}, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}: ms / peak RSS MB (each cell its own process${args.rounds ? `, median of ${args.rounds} rounds` : ''})\n`);
  const rounds = Number(args.rounds ?? 1);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`bench:scaling: --rounds must be a positive integer, got ${args.rounds}`);
  const runs: Record<string, Record<number, Cell[]>> = {};
  for (let r = 0; r < rounds; r++) {
    for (const mech of mechs) {
      runs[mech] ??= {};
      for (const L of lengths) {
        const cells = (runs[mech][L] ??= []);
        const gb = (H * L * L * 4 * 3) / 2 ** 30;
        if (mech === 'full (unfused)' && gb > 6) { cells.push({ skipped: `needs ~${gb.toFixed(0)} GB` }); continue; }
        const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', mech, String(L), String(H), String(D)],
          { encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 20 });
        const line = child.stdout?.trim().split('\n').pop() ?? '';
        try { cells.push(JSON.parse(line) as Cell); } catch { cells.push({ error: child.error?.message ?? `exit ${child.status}` }); }
      }
    }
  }
  // each cell: the median time over the rounds that ran, and the largest peak
  const table: Record<string, Record<number, Cell>> = {};
  for (const mech of mechs) {
    table[mech] = {};
    for (const L of lengths) {
      const cells = runs[mech]![L]!, ok = cells.filter((c) => c.ms !== undefined).sort((a, b) => a.ms! - b.ms!);
      table[mech][L] = ok.length === 0 ? cells[0]! : { ...ok[Math.floor((ok.length - 1) / 2)]!, peakMB: Math.max(...ok.map((c) => c.peakMB!)) };
    }
  }
  const cell = (c: Cell): string => c.skipped ? `(${c.skipped})` : c.error ? `failed: ${c.error.slice(0, 40)}` : `${c.ms! >= 100 ? c.ms!.toFixed(0) : c.ms!.toFixed(1)} ms / ${c.peakMB!.toFixed(0)}`;
  const w0 = Math.max(...mechs.map((m) => m.length));
  const print = (f: (c: Cell, m: Mechanism, L: number) => string): void => {
    const cols = lengths.map((L) => Math.max(`L=${L}`.length, ...mechs.map((m) => f(table[m]![L]!, m, L).length)));
    console.log([''.padEnd(w0), ...lengths.map((L, i) => `L=${L}`.padStart(cols[i]!))].join('  '));
    for (const m of mechs) console.log([m.padEnd(w0), ...lengths.map((L, i) => f(table[m]![L]!, m, L).padStart(cols[i]!))].join('  '));
  };
  print(cell);
  // each time over fused full attention's (forward, or forward + backward) at the same L, and the memory above the process's baseline
  console.log('\ntime ÷ fused full attention (same run, same L; < 1 is faster) / extra MB (peak RSS − baseline)');
  print((c, m, L) => {
    const base = table[baseline(m)]?.[L];
    if (c.ms === undefined) return '–';
    const ratio = base?.ms !== undefined ? `${(c.ms / base.ms).toFixed(3)}×` : '?';
    return `${ratio} / ${(c.peakMB! - c.baseMB!).toFixed(0)}`;
  });
  // growth per doubling of L, from the last two lengths measured
  console.log('\ntime growth when L doubles (last two lengths): quadratic ≈ 4×, linear ≈ 2×');
  for (const m of mechs) {
    const ok = lengths.filter((L) => table[m]![L]!.ms !== undefined);
    if (ok.length < 2) continue;
    const [a, b] = ok.slice(-2) as [number, number];
    const ratio = Math.pow(table[m]![b]!.ms! / table[m]![a]!.ms!, Math.log(2) / Math.log(b / a));
    console.log(`  ${m.padEnd(w0)}  ×${ratio.toFixed(2)}`);
  }
  const out = args.out ?? path.join(here, 'results', `scaling-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  writeFileSync(`${out}.tmp`, `${JSON.stringify({ date: new Date().toISOString(), H, D, lengths, rounds, table, runs }, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);
  console.log(`\nJSON: ${path.relative(process.cwd(), out)}`);
  if (Object.values(table).some((row) => Object.values(row).some((c) => c.error))) process.exitCode = 1;
}
