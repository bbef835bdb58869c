/**
 * `npx tsx bench/profile.ts [--backend native|wasm|js] [--steps n] [--quick]` — where the
 * benchmark's encoder training step (bench/encoder.ts, the `encoder-train-step` case) spends its
 * time, kernel by kernel. Every kernel of the active backend is wrapped with a timer (kernels are
 * synchronous), calls are keyed by kernel and by what distinguishes them (a gemm's M×N×K and
 * transposes, a unary's op), and grouped into products, fused attention, row kernels,
 * element-wise, memory traffic and the optimiser; what the step spends outside every kernel is
 * the autograd tape, tensor bookkeeping and the garbage collector ("outside kernels"). Prints
 * one markdown table of the median step over `--steps` steps after two warm-up steps.
 */
import { parseArgs } from 'node:util';
import os from 'node:os';
import * as ak from '../src/node.ts';
import { benchCases } from './cases.ts';
import { encoderStep } from './encoder.ts';

const { values: a } = parseArgs({
  options: { backend: { type: 'string', default: 'native' }, steps: { type: 'string', default: '5' }, quick: { type: 'boolean', default: false } },
});
const want = a.backend as 'native' | 'wasm' | 'js';
if (want === 'wasm') await ak.loadWasmBackend({});
if (ak.useBackend(want) !== want) throw new Error(`profile: backend ${want} could not be selected`);
const steps = Number(a.steps);
if (!Number.isInteger(steps) || steps < 1) throw new Error(`profile: --steps must be a positive integer, got ${a.steps}`);

type Group = 'products (gemm)' | 'fused attention' | 'row kernels' | 'element-wise' | 'copies, gathers, scatters' | 'optimiser';
const GROUP: Record<string, Group> = {
  gemm: 'products (gemm)', gemmBatched: 'products (gemm)',
  attentionForward: 'fused attention', attentionBackward: 'fused attention',
  layerNormForward: 'row kernels', layerNormBackward: 'row kernels', softmaxDim: 'row kernels', softmaxBackwardDim: 'row kernels',
  logsumexpDim: 'row kernels', crossEntropyForward: 'row kernels', crossEntropyBackward: 'row kernels', crossEntropyWeightGrad: 'row kernels',
  sumDim: 'element-wise', unary: 'element-wise', unaryBackward: 'element-wise', binary: 'element-wise', where: 'element-wise', cast: 'element-wise', dropout: 'element-wise',
  adamUpdate: 'optimiser', linearCrossEntropy: 'products (gemm)',
};
const groupOf = (k: string): Group => GROUP[k] ?? 'copies, gathers, scatters';

/** What tells calls of one kernel apart in the table. */
function detail(kernel: string, xs: unknown[]): string {
  if (kernel === 'gemm') return `${xs[6]}×${xs[7]}×${xs[8]}${xs[9] ? ' Aᵀ' : ''}${xs[10] ? ' Bᵀ' : ''}${xs[12] ? ' +bias' : ''}${xs[11] ? ' +=' : ''}`;
  if (kernel === 'gemmBatched') return `${(xs[3] as Float64Array).length / 3}× ${xs[4]}×${xs[5]}×${xs[6]}`;
  if (kernel === 'unary' || kernel === 'unaryBackward' || kernel === 'binary') return String(xs[0]);
  return '';
}

const spent = new Map<string, { group: Group; ms: number; calls: number }>();
let recording = false;
const base = ak.backend();
const wrapped: Record<string, unknown> = { name: base.name };
for (const [k, f] of Object.entries(base)) {
  if (typeof f !== 'function') continue;
  wrapped[k] = (...xs: unknown[]) => {
    if (!recording) return (f as (...ys: unknown[]) => unknown)(...xs);
    const t0 = performance.now();
    const r = (f as (...ys: unknown[]) => unknown)(...xs);
    const key = `${k}${detail(k, xs) ? ` ${detail(k, xs)}` : ''}`;
    const e = spent.get(key) ?? { group: groupOf(k), ms: 0, calls: 0 };
    e.ms += performance.now() - t0;
    e.calls++;
    spent.set(key, e);
    return r;
  };
}
ak.setBackend(wrapped as Parameters<typeof ak.setBackend>[0]);

const c = benchCases(a.quick).find((x) => x.id === 'encoder-train-step')!;
const step = encoderStep(ak, c.spec as Parameters<typeof encoderStep>[1]);
step();
step();
const totals: number[] = [];
recording = true;
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  step();
  totals.push(performance.now() - t0);
}
recording = false;
const total = totals.reduce((s, t) => s + t, 0) / steps;
const median = [...totals].sort((x, y) => x - y)[Math.floor(steps / 2)]!;

const rows = [...spent.entries()].map(([key, e]) => ({ key, ...e, ms: e.ms / steps, calls: e.calls / steps }));
const groups = new Map<string, number>();
for (const r of rows) groups.set(r.group, (groups.get(r.group) ?? 0) + r.ms);
const inKernels = rows.reduce((s, r) => s + r.ms, 0);
groups.set('outside kernels (autograd, bookkeeping, GC)', total - inKernels);
const pct = (ms: number): string => `${((100 * ms) / total).toFixed(1)} %`;
const gflops = c.flops / 1e9;
const info = ak.nativeInfo();
console.log(`${c.title} on the ${want} backend${want === 'native' && info ? ` (${info.isa}, ${info.threads} threads)` : ''}; ${os.cpus()[0]?.model ?? '?'}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`mean step ${total.toFixed(0)} ms (median ${median.toFixed(0)} ms) over ${steps} steps, ${(gflops / (total / 1000)).toFixed(1)} GFLOP/s on ${gflops.toFixed(0)} GFLOP\n`);
console.log('| group | ms a step | share |\n| --- | ---: | ---: |');
for (const [g, ms] of [...groups.entries()].sort((x, y) => y[1] - x[1])) console.log(`| ${g} | ${ms.toFixed(1)} | ${pct(ms)} |`);
console.log('\n| kernel (shape / op) | group | calls a step | ms a step | share |\n| --- | --- | ---: | ---: | ---: |');
for (const r of rows.sort((x, y) => y.ms - x.ms)) {
  if (r.ms < total * 0.002) continue;
  console.log(`| ${r.key} | ${r.group} | ${r.calls} | ${r.ms.toFixed(1)} | ${pct(r.ms)} |`);
}
const small = rows.filter((r) => r.ms < total * 0.002);
if (small.length) console.log(`| ${small.length} others under 0.2 % each | | ${small.reduce((s, r) => s + r.calls, 0)} | ${small.reduce((s, r) => s + r.ms, 0).toFixed(1)} | ${pct(small.reduce((s, r) => s + r.ms, 0))} |`);
