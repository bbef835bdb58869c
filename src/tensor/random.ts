import { ValueError } from '../errors.js';

/**
 * A seeded pseudo-random generator (xoshiro128**, seeded by splitmix32). Pass one
 * explicitly wherever randomness is needed; the same seed gives the same stream.
 *
 * @example
 * const rng = new Generator(42);
 * const x = randn([2, 3], { rng });
 */
export class Generator {
  private s0 = 0; private s1 = 0; private s2 = 0; private s3 = 0;
  private spare: number | null = null;

  constructor(seed: number) {
    if (typeof seed !== 'number' || !Number.isFinite(seed)) {
      throw new ValueError(`Generator: seed must be a finite number, got ${String(seed)}`);
    }
    let x = (Math.trunc(seed) ^ Math.trunc(seed / 4294967296)) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next(); this.s1 = next(); this.s2 = next(); this.s3 = next();
  }

  /** The full state (for checkpoints): restoring it with `setState` continues the same stream. */
  getState(): number[] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0, this.spare ?? NaN];
  }

  setState(state: readonly number[]): void {
    if (!Array.isArray(state) || state.length !== 5 || !(state[4] === null || typeof state[4] === 'number') || !state.slice(0, 4).every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) {
      throw new ValueError(`Generator.setState: expected [s0, s1, s2, s3, spare] as from getState(), got ${JSON.stringify(state)}`);
    }
    [this.s0, this.s1, this.s2, this.s3] = state;
    this.spare = state[4] === null || Number.isNaN(state[4]) ? null : state[4];
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0; this.s3 ^= this.s1; this.s1 ^= this.s2; this.s0 ^= this.s3;
    this.s2 ^= t; this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5, lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal (Box–Muller, the pair's second value cached). */
  normal(): number {
    if (this.spare !== null) { const s = this.spare; this.spare = null; return s; }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [low, high). */
  int(low: number, high: number): number {
    return low + Math.floor(this.uniform() * (high - low));
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * The default generator, used wherever an `rng` option is omitted (layer initialisation,
 * `rand`/`randn`/`randint`/`bernoulli`, training-time dropout). Seeded 0 when attnkit loads,
 * so a program without `manualSeed` is still deterministic; `manualSeed(n)` reseeds it.
 * Pass an explicit `rng` to keep a stream independent of everything else.
 */
const DEFAULT_GENERATOR = new Generator(0);

/** The default generator (seeded 0 at load; reseed with `manualSeed`). */
export function defaultGenerator(): Generator {
  return DEFAULT_GENERATOR;
}

/**
 * Reseeds the default generator, like PyTorch's `torch.manual_seed`: afterwards its stream
 * equals `new Generator(seed)`'s.
 *
 * @example
 * manualSeed(0);
 * const mha = new nn.MultiHeadAttention({ embedDim: 64, numHeads: 8 });  // same weights on every run
 */
export function manualSeed(seed: number): void {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new ValueError(`manualSeed: seed must be a finite number, got ${String(seed)}`);
  }
  DEFAULT_GENERATOR.setState(new Generator(seed).getState());
}

/**
 * A module's own dropout stream: `rng` when given (it must be a Generator), else a generator seeded
 * once from the default generator at construction. A module that keeps its stream this way does
 * not draw from the shared default at forward time (so building another layer later does not
 * depend on how many training steps ran), and the trainer checkpoints the stream with the module.
 */
export function moduleGenerator(rng: unknown, fn: string): Generator {
  return rng === undefined ? new Generator(DEFAULT_GENERATOR.nextUint32()) : resolveRng(rng, fn);
}

/** `rng` when given (it must be a Generator), else the default generator; `fn` names the caller in the error. */
export function resolveRng(rng: unknown, fn: string): Generator {
  if (rng === undefined) return DEFAULT_GENERATOR;
  if (!(rng instanceof Generator)) throw new ValueError(`${fn}: options.rng must be a Generator (or omitted for the default generator), got ${typeof rng}`);
  return rng;
}
