/**
 * SIMD128 multiply and add throughput in this Node, one core: the loops that give docs/backends.md's
 * "How far SIMD128 is from AVX-512 in Node". A module assembled here byte by byte runs `chains`
 * independent f32x4.mul chains beside as many f32x4.add chains (SIMD128 has no FMA, so a matrix
 * product is a multiply and an add per element), for 2 to 8 chains of each; it prints GFLOP/s per
 * chain count. V8 keeps about 13 v128 values in registers, so more chains spill; fewer do not cover
 * the operations' latency. A measurement, not a ceiling: the wasm attention kernels (loads, multiplies
 * and adds interleaved) reached as much.
 *
 *   node --no-liftoff --no-wasm-dynamic-tiering --import tsx bench/simd128_loops.ts [trips]
 *
 * --no-liftoff: a call that starts on Liftoff code stays on it (wasm has no on-stack replacement), and
 * Node 20 ran this loop on Liftoff first even with --no-wasm-dynamic-tiering (10 GFLOP/s at every chain count).
 */
/** Unsigned LEB128 (test/backend/wasmRelaxed.test.ts builds its modules with it too). */
export const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const f32 = (x: number): number[] => [...new Uint8Array(new Float32Array([x]).buffer)];
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];

const OP = {
  localGet: 0x20, localSet: 0x21, localTee: 0x22, i32Const: 0x41, i32Sub: 0x6b, f32Const: 0x43, f32Add: 0x92,
  block: 0x02, loop: 0x03, brIf: 0x0d, end: 0x0b, void: 0x40,
} as const;
const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...leb(op), ...imm];
const F32X4 = { splat: 0x13, extractLane: 0x1f, add: 0xe4, mul: 0xe6 } as const;
const UNROLL = 4;

/**
 * `run(trips: i32) → f32`: `trips` iterations, each of UNROLL steps of `chains` f32x4.mul and `chains`
 * f32x4.add, interleaved, every one on its own accumulator (8·chains·UNROLL flops an iteration).
 */
export function probeModule(chains: number): Uint8Array<ArrayBuffer> {
  // local 0: trips; 1..chains: products; chains+1..2·chains: sums; then the two constants
  const mul = (i: number): number => 1 + i, add = (i: number): number => 1 + chains + i;
  const kMul = 1 + 2 * chains, kAdd = kMul + 1;
  const splat = (x: number, local: number): number[] => [OP.f32Const, ...f32(x), ...simd(F32X4.splat), OP.localSet, ...leb(local)];
  const body: number[] = [];
  for (let i = 0; i < chains; i++) body.push(...splat(1 + i / 64, mul(i)), ...splat(i, add(i)));
  // a product grows by 1e-7 a step and a sum by 1e-3: no denormals, and overflow to ∞ costs nothing extra
  body.push(...splat(1.0000001, kMul), ...splat(1e-3, kAdd));
  body.push(OP.block, OP.void, OP.loop, OP.void);
  for (let u = 0; u < UNROLL; u++) {
    for (let i = 0; i < chains; i++) {
      body.push(OP.localGet, ...leb(mul(i)), OP.localGet, ...leb(kMul), ...simd(F32X4.mul), OP.localSet, ...leb(mul(i)));
      body.push(OP.localGet, ...leb(add(i)), OP.localGet, ...leb(kAdd), ...simd(F32X4.add), OP.localSet, ...leb(add(i)));
    }
  }
  body.push(OP.localGet, 0, OP.i32Const, 1, OP.i32Sub, OP.localTee, 0, OP.brIf, 0, OP.end, OP.end);
  // the result depends on every accumulator, so none is dead code
  body.push(OP.f32Const, ...f32(0));
  for (let i = 0; i < 2 * chains; i++) body.push(OP.localGet, ...leb(1 + i), ...simd(F32X4.extractLane, 0), OP.f32Add);
  body.push(OP.end);
  const locals = vec([[...leb(2 * chains + 2), 0x7b]]);
  const code = [...locals, ...body];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, 1, 0x7f, 1, 0x7d]])),           // type 0: (i32) → f32
    ...section(3, vec([[0]])),                                  // function 0 has type 0
    ...section(7, vec([[...leb(3), ...Buffer.from('run'), 0x00, 0]])),   // export "run" = function 0
    ...section(10, vec([[...leb(code.length), ...code]])),
  ];
  return new Uint8Array(bytes);
}

/** Flops of one `run(trips)` call. */
export const probeFlops = (chains: number, trips: number): number => 8 * chains * UNROLL * trips;

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const trips = Number(process.argv[2] ?? 5_000_000);
  if (!(Number.isInteger(trips) && trips >= 1)) {
    console.error('usage: node --no-liftoff --no-wasm-dynamic-tiering --import tsx bench/simd128_loops.ts [trips ≥ 1]');
    process.exit(2);
  }
  for (let chains = 2; chains <= 8; chains++) {
    const run = (new WebAssembly.Instance(new WebAssembly.Module(probeModule(chains))).exports as { run: (n: number) => number }).run;
    run(1000);
    let best = 0;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      run(trips);
      best = Math.max(best, probeFlops(chains, trips) / ((performance.now() - t0) * 1e6));
    }
    console.log(`${chains} mul + ${chains} add chains: ${best.toFixed(1)} GFLOP/s (best of 3)`);
  }
}
