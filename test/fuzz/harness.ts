/**
 * A small seeded fuzz harness (issue 19: only the library's typed errors may escape, nothing
 * over 1 s or absurd memory). A target generates one input from a Generator and runs it; the
 * harness runs `count` inputs, counts the outcomes, and fails on the first input that throws
 * an error outside `allowed`, takes longer than `perInputLimitMs` (the smaller of wall and CPU
 * time, so a loaded machine does not fail a cheap input), grows the process by more
 * than `perInputMemoryMb` or adds a key to Object.prototype. Each input has its own generator
 * seeded by (seed, index), so a
 * failure is reproduced by `runOne(target, seed, index)` alone.
 *
 * Targets live in test/fuzz/targets/, one file each, default-exporting a FuzzTarget;
 * test/fuzz/fuzz.test.ts runs every file there with `ciCount` inputs (npm test) and
 * scripts/fuzz.ts with ≥ 100,000 (npm run fuzz).
 */
import { performance } from 'node:perf_hooks';
import { Generator } from '../../src/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ErrorClass = new (...a: any[]) => Error;

export interface FuzzTarget<I> {
  /** Short name, used by `npm run fuzz -- --target <name>`. */
  name: string;
  /** One input; must depend only on `rng` (and `i`), never on global state. */
  generate(rng: Generator, i: number): I;
  /** Feeds the input to the code under test; a return is an accepted input. */
  run(input: I): unknown;
  /** Error classes that may escape (the library's typed errors); anything else is a bug. */
  allowed: ErrorClass[];
  /** Inputs per target in `npm test` (about 2 s); default 2000. */
  ciCount?: number;
  /** A short printable form of an input for failure reports (default: JSON, truncated). */
  describe?(input: I): string;
}

export interface FuzzOptions {
  count: number;
  seed: number;
  /** Hang/cost guard for one input (default 1000 ms). */
  perInputLimitMs?: number;
  /** Resident-memory growth allowed across one input (default 512 MB). */
  perInputMemoryMb?: number;
}

export interface FuzzReport {
  target: string;
  seed: number;
  count: number;
  /** Inputs the code accepted (returned normally). */
  accepted: number;
  /** Allowed errors by class name. */
  errors: Record<string, number>;
  slowest: { index: number; ms: number };
  /** Largest resident-memory growth across one input, MB. */
  maxGrowthMb: { index: number; mb: number };
}

/** A failed fuzz input: what went wrong and how to reproduce it. */
export class FuzzFailure extends Error {
  constructor(message: string, readonly target: string, readonly seed: number, readonly index: number, override readonly cause?: unknown) {
    super(message);
    this.name = 'FuzzFailure';
  }
}

const PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).length;

/** The generator of input `index` under `seed` (independent of every other input). */
export function inputRng(seed: number, index: number): Generator {
  return new Generator(((seed >>> 0) ^ Math.imul(index, 0x9e3779b1)) >>> 0);
}

/** Input `index` of `seed`, as the harness generated it. */
export function inputOf<I>(target: FuzzTarget<I>, seed: number, index: number): I {
  return target.generate(inputRng(seed, index), index);
}

function preview<I>(target: FuzzTarget<I>, input: I): string {
  let s: string;
  try {
    s = target.describe ? target.describe(input)
      : input instanceof Uint8Array ? `bytes(${input.length}) ${Buffer.from(input.subarray(0, 120)).toString('latin1')}`
        : JSON.stringify(input) ?? String(input);
  } catch { s = safeString(input); }
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}

/** Runs one input; throws FuzzFailure if it breaks the contract; returns the error it threw (if any) and its cost. */
export function runOne<I>(target: FuzzTarget<I>, seed: number, index: number, options: Omit<FuzzOptions, 'count' | 'seed'> = {}): { error?: Error; ms: number; growthMb: number } {
  const limitMs = options.perInputLimitMs ?? 1000, limitMb = options.perInputMemoryMb ?? 512;
  let input: I;
  try { input = inputOf(target, seed, index); } catch (e) {
    throw new FuzzFailure(`fuzz ${target.name}: the generator itself threw on input ${index} (seed ${seed}): ${safeString(e).slice(0, 300)}`, target.name, seed, index, e);
  }
  const repro = `(reproduce: runOne(target, ${seed}, ${index}); input ${preview(target, input)})`;
  const rss0 = process.memoryUsage.rss();
  const t0 = performance.now(), cpu0 = process.cpuUsage();
  let error: Error | undefined;
  try { target.run(input); } catch (e) {
    if (!target.allowed.some((c) => e instanceof c)) {
      const what = e instanceof Error ? `${e.name}: ${e.message.slice(0, 300)}` : `non-Error ${safeString(e)}`;
      throw new FuzzFailure(`fuzz ${target.name}: input ${index} (seed ${seed}) threw ${what}, not one of [${target.allowed.map((c) => c.name).join(', ')}] ${repro}`, target.name, seed, index, e);
    }
    error = e as Error;
    if (error.message.length > 2000) {
      throw new FuzzFailure(`fuzz ${target.name}: input ${index} (seed ${seed}) threw a ${error.message.length}-character message (bound it) ${repro}`, target.name, seed, index, e);
    }
  }
  // the cost is the smaller of wall and CPU time: a busy machine stretches wall time, and the
  // native thread pool can make CPU time exceed it; only work that is slow both ways fails
  const cpu = process.cpuUsage(cpu0);
  const ms = Math.min(performance.now() - t0, (cpu.user + cpu.system) / 1000);
  const growthMb = (process.memoryUsage.rss() - rss0) / 2 ** 20;
  if (Object.getOwnPropertyNames(Object.prototype).length !== PROTO_KEYS) {
    throw new FuzzFailure(`fuzz ${target.name}: input ${index} (seed ${seed}) changed Object.prototype (prototype pollution) ${repro}`, target.name, seed, index);
  }
  if (ms > limitMs) throw new FuzzFailure(`fuzz ${target.name}: input ${index} (seed ${seed}) took ${ms.toFixed(0)} ms, over the ${limitMs} ms limit ${repro}`, target.name, seed, index);
  if (growthMb > limitMb) throw new FuzzFailure(`fuzz ${target.name}: input ${index} (seed ${seed}) grew memory by ${growthMb.toFixed(0)} MB, over ${limitMb} MB ${repro}`, target.name, seed, index);
  return { error, ms, growthMb };
}

/**
 * Runs `count` inputs of `target`; returns the tally or throws FuzzFailure at the first input
 * that breaks the contract.
 *
 * @example
 * const report = runTarget(safetensorsTarget, { count: 100_000, seed: 1 });
 */
export function runTarget<I>(target: FuzzTarget<I>, options: FuzzOptions, onProgress?: (done: number) => void): FuzzReport {
  const report: FuzzReport = {
    target: target.name, seed: options.seed, count: options.count, accepted: 0, errors: {},
    slowest: { index: -1, ms: 0 }, maxGrowthMb: { index: -1, mb: 0 },
  };
  for (let i = 0; i < options.count; i++) {
    const { error, ms, growthMb } = runOne(target, options.seed, i, options);
    if (error) report.errors[error.name] = (report.errors[error.name] ?? 0) + 1;
    else report.accepted++;
    if (ms > report.slowest.ms) report.slowest = { index: i, ms };
    if (growthMb > report.maxGrowthMb.mb) report.maxGrowthMb = { index: i, mb: growthMb };
    if (onProgress && (i + 1) % 10_000 === 0) onProgress(i + 1);
  }
  return report;
}

// ── helpers for generators ──────────────────────────────────────────────────────────────

/** One of `items`, uniformly. */
export function pick<T>(rng: Generator, items: readonly T[]): T {
  return items[rng.int(0, items.length)];
}

/** True with probability p. */
export function chance(rng: Generator, p: number): boolean {
  return rng.uniform() < p;
}

/** Values that break assumptions: wrong types, non-finite and huge numbers, odd strings, nesting. */
export function oddValue(rng: Generator, depth = 0): unknown {
  switch (rng.int(0, 16)) {
    case 0: return null;
    case 1: return undefined;
    case 2: return pick(rng, [NaN, Infinity, -Infinity, -0, 1e308, -1e308, 5e-324, 2 ** 53, 2 ** 31, -1]);
    case 3: return rng.int(-5, 100);
    case 4: return rng.uniform() * 2 - 1;
    case 5: return pick(rng, [true, false]);
    case 6: return pick(rng, ['', ' ', '__proto__', 'constructor', 'toString', 'NaN', '1e999', '\u0000', '💥', 'a'.repeat(rng.int(0, 5000))]);
    case 7: return String(rng.int(0, 1000));
    case 8: return [];
    case 9: return {};
    case 10: return depth < 3 ? Array.from({ length: rng.int(1, 4) }, () => oddValue(rng, depth + 1)) : 0;
    case 11: return depth < 3 ? { [pick(rng, ['a', 'type', '__proto__', 'constructor', 'x'])]: oddValue(rng, depth + 1) } : 0;
    case 12: return nested(rng.int(50, 2000));
    case 13: return Array.from({ length: chance(rng, 0.1) ? rng.int(1000, 100_000) : rng.int(10, 300) }, (_, i) => i);
    case 14: return -rng.int(1, 1_000_000);
    default: return rng.int(0, 2 ** 31 - 1);
  }
}

/** String(v) that never throws (a `toString` key, a null prototype, deep nesting). */
function safeString(v: unknown): string {
  try { return String(v); } catch { return 'unprintable'; }
}

/** `[[[…[0]…]]]` nested `depth` deep (built iteratively). */
export function nested(depth: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** A deep copy of JSON-like data; a value too deep to copy is shared instead (a DAG is an input too). */
export function clone<T>(x: T): T {
  try { return structuredClone(x); } catch { return x; }
}

/**
 * A structural mutation of a JSON-like object: removes, retypes, duplicates or adds a key, or
 * replaces a value at a random path. Mutates `obj` in place and returns it (or a replacement root).
 */
export function mutateObject(rng: Generator, obj: unknown, keys: readonly string[] = []): unknown {
  if (chance(rng, 0.03)) return oddValue(rng);
  // walk to a random container
  let node: unknown = obj;
  for (let d = 0; d < 6 && chance(rng, 0.7); d++) {
    const kids = node !== null && typeof node === 'object' ? Object.keys(node as object).filter((k) => (node as Record<string, unknown>)[k] !== null && typeof (node as Record<string, unknown>)[k] === 'object') : [];
    if (!kids.length) break;
    node = (node as Record<string, unknown>)[pick(rng, kids)];
  }
  if (node === null || typeof node !== 'object') return obj;
  const rec = node as Record<string, unknown>;
  const own = Object.keys(rec);
  switch (rng.int(0, 6)) {
    case 0: if (own.length) delete rec[pick(rng, own)]; break;                                          // remove a key
    case 1: if (own.length) rec[pick(rng, own)] = oddValue(rng); break;                                  // retype a value
    case 2:                                                                                              // add a key (an element to an array)
      if (Array.isArray(rec)) rec.push(oddValue(rng));
      else rec[keys.length && chance(rng, 0.7) ? pick(rng, keys) : pick(rng, ['extra', '__proto__', 'constructor', ''])] = oddValue(rng);
      break;
    case 3: if (own.length) { const k = pick(rng, own); rec[k] = clone(rec[pick(rng, own)]); } break;  // copy a sibling's value
    case 4: if (Array.isArray(rec)) rec.splice(rng.int(0, rec.length + 1), 0, oddValue(rng)); else if (own.length) rec[pick(rng, own)] = []; break;
    default: if (own.length) { const k = pick(rng, own); const v = rec[k]; if (typeof v === 'number') rec[k] = pick(rng, [v * 1e6, -v, v + 0.5, NaN, Infinity, 0]); else rec[k] = safeString(v); }
  }
  return obj;
}
