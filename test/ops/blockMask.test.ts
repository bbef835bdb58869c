/**
 * Block masks: the fused kernel driven by a block mask (skip / full / partial tiles) equals masked
 * full attention — the unfused composite with the block mask's dense form — in values and
 * gradients: float64 on the js reference, float32 on the active backend's kernel (native and wasm
 * run their C++ tile loops here). ALiBi fused in the kernel equals adding nn.alibiBias.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BlockMask, F, Generator, ShapeError, Tensor, ValueError, backward, causalBlockMask, createBlockMask, keyPaddingBlockMask, nn, randn, tensor,
} from '../../src/index.js';
import { assertAllClose } from '../helpers.js';

const bool = (rows: number[][]): Tensor => tensor(rows.map((r) => r.map((v) => v === 1)));

/** Values and q, k, v gradients of fn under the cotangent u. */
function run(fn: (q: Tensor, k: Tensor, v: Tensor) => Tensor, q: Tensor, k: Tensor, v: Tensor, u: Tensor): Tensor[] {
  for (const t of [q, k, v]) t.grad = null;
  const out = fn(q, k, v);
  backward(F.sum(F.mul(out, u)));
  return [out, q.grad!, k.grad!, v.grad!];
}

function inputs(B: number, H: number, T: number, dtype: 'float32' | 'float64', seed: number): Tensor[] {
  const g = new Generator(seed);
  return [4, 4, 3, 3].map((d, i) => {
    const t = randn([B, H, T, d], { rng: g, dtype });
    if (i < 3) t.requiresGrad = true;
    return t;
  });
}

/** Fused with the block mask (and options) against the composite with its dense mask, in float64 and float32. */
function check(label: string, bm: BlockMask, B: number, H: number, opts: { mask?: Tensor; causal?: boolean; alibiSlopes?: number[] } = {}): void {
  const T = bm.Lq;
  for (const dtype of ['float64', 'float32'] as const) {
    const [q, k, v, u] = inputs(B, H, T, dtype, 7);
    const fused = run((a, b, c) => F.scaledDotProductAttention(a, b, c, { ...opts, blockMask: bm }), q!, k!, v!, u!);
    const ref = run((a, b, c) => F.scaledDotProductAttention(a, b, c, { ...opts, blockMask: bm, returnWeights: true }).output, q!, k!, v!, u!);
    const dense = run((a, b, c) => {
      const m = opts.mask ? F.logicalAnd(bm.toDense(), opts.mask) : bm.toDense();
      return F.scaledDotProductAttention(a, b, c, { causal: opts.causal, mask: m, returnWeights: true }).output;
    }, q!, k!, v!, u!);
    const tol = dtype === 'float64' ? { rtol: 1e-10, atol: 1e-12 } : { rtol: 2e-4, atol: 2e-5 };
    ['values', 'dq', 'dk', 'dv'].forEach((what, i) => {
      assertAllClose(fused[i]!, ref[i]!, { ...tol, msg: `${label} ${dtype}: ${what}` });
      if (!opts.alibiSlopes) assertAllClose(ref[i]!, dense[i]!, { ...tol, msg: `${label} ${dtype}: ${what} (dense mask)` });
    });
  }
}

test('block masks from every pattern: fused kernel equals masked full attention, values and gradients (float64 and float32)', () => {
  const T = 100, tiles = { blockQ: 16, blockK: 32 };                      // ragged last tiles in both directions
  const keyMask = bool([Array(T).fill(1), [...Array(T - 23).fill(1), ...Array(23).fill(0)]]);
  check('two-sided window ±5', nn.patternBlockMask(nn.slidingWindowPattern(T, { window: 5 }), tiles), 2, 2);
  check('one-sided dilated window 4 × 3', nn.patternBlockMask(nn.slidingWindowPattern(T, { window: 4, oneSided: true, dilation: 3 }), tiles), 2, 2);
  check('blocks of 10, key mask', nn.patternBlockMask(nn.blockPattern(T, { blockSize: 10 })), 2, 2, { mask: F.reshape(keyMask, [2, 1, 1, T]) });
  check('window ±3 + global tokens 0, 50', nn.patternBlockMask(nn.withGlobalTokens(nn.slidingWindowPattern(T, { window: 3 }), [0, 50]), tiles), 2, 2);
  const bigBird = nn.bigBirdPattern(T, { blockSize: 10, windowBlocks: 3, globalBlocks: 1, randomBlocks: 2, rng: new Generator(3) });
  check('BigBird b=10 (3 window, 1 global, 2 random blocks)', nn.patternBlockMask(bigBird, tiles), 2, 2);
  check('causal block mask', causalBlockMask(T, T, tiles), 2, 2);
  check('causal block mask and causal: true', causalBlockMask(T, T), 1, 2, { causal: true });
  check('key padding block mask [B, 1, T, S]', keyPaddingBlockMask(keyMask, T, tiles), 2, 2);
  // per head: head 0 a window, head 1 causal; query 40 sees nothing (a fully masked row gives zeros)
  const perHead = createBlockMask((_b, h, i, j) => i !== 40 && (h === 0 ? Math.abs(i - j) <= 7 : j <= i), { H: 2, Lq: T, Lk: T, ...tiles });
  check('predicate per head, with an empty row', perHead, 2, 2);
  const out = F.scaledDotProductAttention(...inputs(1, 2, T, 'float32', 1).slice(0, 3) as [Tensor, Tensor, Tensor], { blockMask: perHead });
  assert.deepEqual(Array.from(out.data.subarray(40 * 3, 41 * 3)), [0, 0, 0], 'a row with no visible key is zeros');
});

test('ALiBi slopes fused in the kernel equal adding nn.alibiBias, with and without a block mask and causality', () => {
  const T = 70, H = 2;
  const slopes = nn.alibiSlopes(H);
  check('ALiBi + window', nn.patternBlockMask(nn.slidingWindowPattern(T, { window: 9 }), { blockQ: 16, blockK: 16 }), 1, H, { alibiSlopes: slopes });
  for (const causal of [false, true]) {
    const [q, k, v] = inputs(2, H, T, 'float64', 5);
    const fused = F.scaledDotProductAttention(q!, k!, v!, { alibiSlopes: slopes, causal });
    const ref = F.scaledDotProductAttention(q!, k!, v!, { mask: F.toDtype(nn.alibiBias(H, T, T), 'float64'), causal, returnWeights: true }).output;
    assertAllClose(fused, ref, { rtol: 1e-10, atol: 1e-12, msg: `ALiBi causal=${causal}` });
    const [q32, k32, v32] = inputs(2, H, T, 'float32', 5);
    const f32 = F.scaledDotProductAttention(q32!, k32!, v32!, { alibiSlopes: slopes, causal });
    const r32 = F.scaledDotProductAttention(q32!, k32!, v32!, { mask: nn.alibiBias(H, T, T), causal });
    assertAllClose(f32, r32, { rtol: 1e-4, atol: 1e-5, msg: `ALiBi float32 causal=${causal}` });
  }
});

test('block masks: tiles counted, reused, checked against the attention shape; typed errors', () => {
  const bm = nn.patternBlockMask(nn.slidingWindowPattern(4096, { window: 32 }));
  const c = bm.counts();
  assert.equal(c.total, 64 * 64);
  assert.ok(c.full + c.partial <= 3 * 64, `a ±32 window touches at most 3 of 64 key tiles per query tile, got ${c.full + c.partial}`);
  assert.ok(bm.elems.length <= 4 * 64 * 64, 'identical partial tiles share one element mask');
  assert.equal(nn.patternBlockMask(nn.slidingWindowPattern(4096, { window: 32 })) !== bm, true, 'a new pattern, a new mask');
  const p = nn.slidingWindowPattern(64, { window: 2 });
  assert.equal(nn.patternBlockMask(p), nn.patternBlockMask(p), 'cached per pattern');
  const [q, k, v] = inputs(1, 1, 48, 'float32', 2);
  assert.throws(() => F.scaledDotProductAttention(q!, k!, v!, { blockMask: causalBlockMask(64, 64) }),
    (e: unknown) => e instanceof ShapeError && /blockMask is for \[1, 1, 64, 64\], which does not broadcast to \[B, H, T, S\] = \[1,1,48,48\]/.test(e.message));
  assert.throws(() => F.scaledDotProductAttention(q!, k!, v!, { blockMask: {} as BlockMask }), (e: unknown) => e instanceof ValueError && /blockMask must be a BlockMask/.test(e.message));
  assert.throws(() => createBlockMask(() => true, { Lq: 48, Lk: 48, blockQ: 20 }), (e: unknown) => e instanceof ValueError && /multiples of 16, got 20 × 64/.test(e.message));
  assert.throws(() => F.scaledDotProductAttention(q!, k!, v!, { alibiSlopes: [1, 2] }), (e: unknown) => e instanceof ShapeError && /one slope per head \(1\), got 2 values/.test(e.message));
});

test('a NaN value behind a skipped tile still reaches the output, as masked full attention (0·NaN)', () => {
  const T = 64;
  const bm = createBlockMask((_b, _h, i, j) => Math.abs(i - j) <= 2, { Lq: T, Lk: T, blockQ: 16, blockK: 16 });
  const [q, k, v] = inputs(1, 1, T, 'float32', 4);
  v!.data[60 * 3] = NaN;                                                  // key 60: in a tile that query 0's tile skips
  const fused = F.scaledDotProductAttention(q!, k!, v!, { blockMask: bm });
  const ref = F.scaledDotProductAttention(q!, k!, v!, { mask: bm.toDense(), returnWeights: true }).output;
  assert.ok(Number.isNaN(fused.data[0]!) && Number.isNaN(ref.data[0]!), 'row 0 is NaN in both');
});

test('a BlockMask whose table does not match its sizes is refused (the native kernel read out of bounds and crashed)', () => {
  const ok = (t: number[], elems = 0): BlockMask => new BlockMask(32, 32, 16, 16, Int32Array.from(t), new Uint8Array(elems));
  const bad = (t: number[], elems: number, re: RegExp): void => {
    assert.throws(() => ok(t, elems), (e: unknown) => (e instanceof ValueError || e instanceof ShapeError) && /^BlockMask: /.test((e as Error).message) && re.test((e as Error).message));
  };
  assert.equal(ok([16, 16, 1, 1, 2, 2, 0, -1, -2, 0], 256).counts().partial, 2, 'a well-formed table is taken');
  bad([16, 16, 1, 1, 2, 2, 0, 7, -1, 123456], 256, /tile code 7 at 7/);                // a partial tile past elems (native: segfault)
  bad([16, 16, 1, 1, 2, 2], 0, /table has 6 entries, expected 10/);                     // the codes missing (native: segfault)
  bad([8, 8, 1, 1, 4, 4, ...Array(16).fill(-1)], 0, /header/);                           // tiles of 8 while the mask says 16
  bad([16, 16, 1, 1, 1, 2, -1, -1], 0, /header/);                                       // one query tile for Lq 32
  bad([16, 16, 1, 1, 2, 2, -1, -1, -1, -3], 0, /tile code -3/);
  bad([16, 16, 1, 1, 2, 2, -1, -1, -1, -1], 100, /elems/);                              // not whole tiles
  // a table changed after it was built is checked again when attention takes it
  const bm = ok([16, 16, 1, 1, 2, 2, -1, -1, -1, -1]);
  bm.table[7] = 5;
  const [q, k, v] = inputs(1, 1, 32, 'float32', 3);
  assert.throws(() => F.scaledDotProductAttention(q!, k!, v!, { blockMask: bm }), (e: unknown) => e instanceof ValueError && /scaledDotProductAttention: blockMask: .*tile code 5/.test((e as Error).message));
});

test('block mask builders refuse missing sizes and unknown options by name (a misspelt blockSize fell back to 64 × 64 tiles)', () => {
  const refuses = (f: () => unknown, re: RegExp): void => assert.throws(f, (e: unknown) => e instanceof ValueError && re.test((e as Error).message));
  refuses(() => (createBlockMask as unknown as (p: unknown) => BlockMask)(() => true), /^createBlockMask: options must give Lq and Lk/);
  refuses(() => createBlockMask(() => true, { Lq: 32, Lk: 32, blocksize: 16 } as never), /^createBlockMask: unknown option 'blocksize'/);
  refuses(() => causalBlockMask(32, 32, { blockq: 16 } as never), /^causalBlockMask: unknown option 'blockq'/);
  refuses(() => keyPaddingBlockMask(bool([[1, 1]]), 2, { B: 3 } as never), /^keyPaddingBlockMask: unknown option 'B'/);
});

test('a float mask\'s NaN or ±∞ where the block mask (or causality) hides the key is −∞, as masked_fill: fused = composite = masked full attention', () => {
  // the kernels disagreed: js skipped hidden keys (a finite row), the native partial tiles added the float
  // mask after hiding them (−∞ + NaN = NaN: a NaN row), and so did the composite's where-then-add
  const T = 64;
  const bm = createBlockMask((_b, _h, i, j) => Math.abs(i - j) <= 2, { Lq: T, Lk: T, blockQ: 16, blockK: 16 });
  const g = new Generator(8);
  const add = randn([1, 1, T, T], { rng: g });
  const put = (i: number, j: number, x: number): void => { add.data[i * T + j] = x; };
  put(0, 5, NaN); put(1, 7, Infinity); put(2, 9, -Infinity);               // hidden keys of partial (diagonal) tiles
  put(3, 40, NaN); put(20, 60, Infinity);                                  // hidden keys of skipped tiles
  put(30, 2, NaN); put(31, 0, Infinity);                                   // hidden by the block mask and by causality
  put(45, 46, Infinity);                                                   // a key query 45 sees: its row is NaN (weights and output)
  const dense = bm.toDense();
  for (const causal of [false, true]) {
    const seen = causal ? F.logicalAnd(dense, tensor(Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => j <= i)))) : dense;
    // masked full attention: the float mask added, then the hidden keys filled with −∞ (no gradient through them)
    const masked = (a: Tensor, b: Tensor, c: Tensor): Tensor =>
      F.matmul(F.softmax(F.where(seen, F.add(F.mul(F.matmul(a, F.transpose(b, -2, -1)), 0.5), add), -Infinity), -1), c);
    const [q, k, v, u] = inputs(1, 1, T, 'float32', 9);
    const fused = run((a, b, c) => F.scaledDotProductAttention(a, b, c, { blockMask: bm, mask: add, causal }), q!, k!, v!, u!);
    const comp = run((a, b, c) => F.scaledDotProductAttention(a, b, c, { blockMask: bm, mask: add, causal, returnWeights: true }).output, q!, k!, v!, u!);
    const ref = run(masked, q!, k!, v!, u!);
    const finiteRows = Array.from({ length: T }, (_, i) => i).filter((i) => i !== 45);
    assert.ok(finiteRows.every((i) => Array.from(ref[0]!.data.subarray(i * 3, i * 3 + 3)).every(Number.isFinite)), 'the reference keeps every other row finite');
    ['values', 'dq', 'dk', 'dv'].forEach((what, i) => {
      assertAllClose(fused[i]!, ref[i]!, { rtol: 2e-4, atol: 2e-5, msg: `causal ${causal}: fused ${what}` });
      assertAllClose(comp[i]!, ref[i]!, { rtol: 2e-4, atol: 2e-5, msg: `causal ${causal}: composite ${what}` });
    });
  }
});
