/**
 * `npm run fuzz [-- --count N] [--target name] [--seed S]`: every target of test/fuzz/targets/
 * with N inputs (default 100,000). Prints, per target, the accepted inputs, the typed errors by
 * class, the slowest input and the largest memory growth; exits 1 at the first input that lets
 * an untyped error escape, takes over 1 s or grows memory absurdly (with its reproducer).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { selectBackendFromEnv } from '../src/backend/native/index.js';
import { FuzzFailure, runTarget, type FuzzTarget } from '../test/fuzz/harness.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const count = Number(flag('count') ?? 100_000), seed = Number(flag('seed') ?? 1), only = flag('target');
if (!Number.isSafeInteger(count) || count < 1) throw new Error(`fuzz: --count must be a positive integer, got ${flag('count')}`);
if (!Number.isSafeInteger(seed)) throw new Error(`fuzz: --seed must be an integer, got ${flag('seed')}`);

selectBackendFromEnv();
const dir = join(process.cwd(), 'test', 'fuzz', 'targets');
const targets: FuzzTarget<unknown>[] = [];
for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts')).sort()) {
  targets.push((await import(pathToFileURL(join(dir, f)).href)).default as FuzzTarget<unknown>);
}
const chosen = only ? targets.filter((t) => t.name === only) : targets;
if (!chosen.length) throw new Error(`fuzz: no target '${only}' (have: ${targets.map((t) => t.name).join(', ')})`);
let failed = false;
for (const t of chosen) {
  const t0 = performance.now();
  try {
    const r = runTarget(t, { count, seed }, (done) => process.stderr.write(`\r${t.name}: ${done.toLocaleString('en-US')} / ${count.toLocaleString('en-US')}`));
    process.stderr.write('\r');
    const errs = Object.entries(r.errors).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    console.log(`${t.name}: ${r.count} inputs (seed ${seed}) in ${((performance.now() - t0) / 1000).toFixed(1)} s — ${r.accepted} accepted, refused: ${errs}; slowest #${r.slowest.index} ${r.slowest.ms.toFixed(1)} ms; largest memory growth #${r.maxGrowthMb.index} ${r.maxGrowthMb.mb.toFixed(1)} MB`);
  } catch (e) {
    if (!(e instanceof FuzzFailure)) throw e;
    failed = true;
    console.log(`\n${t.name}: FAILED — ${e.message}`);
    if (e.cause instanceof Error && e.cause.stack) console.log(e.cause.stack.split('\n').slice(0, 8).join('\n'));
  }
}
process.exit(failed ? 1 : 0);
