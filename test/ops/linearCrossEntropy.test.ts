/**
 * The fused linear + cross-entropy equals its composite crossEntropy(linear(x, w, b), target) —
 * loss and gradients of x, weight and bias — on whichever backend is active, including row
 * counts that span several of the native kernel's row chunks; and it refuses bad input by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Generator, Tensor, backward, noGrad, randn, tensor } from '../../src/index.js';
import { assertAllClose } from '../helpers.js';
import { IndexError, ShapeError, ValueError } from '../../src/errors.js';

const rnd = (shape: number[], seed: number, scale = 1): Tensor => F.mul(randn(shape, { rng: new Generator(seed) }), scale);
const leaf = (t: Tensor, grad = true): Tensor => { const l = new Tensor(Float32Array.from(t.data), t.shape); return grad ? l.requireGrad() : l; };
const ids = (n: number, V: number, seed: number, ignoreEvery = 0): Tensor => {
  const g = new Generator(seed);
  return tensor(Int32Array.from({ length: n }, (_, i) => (ignoreEvery && i % ignoreEvery === 3 ? -100 : Math.floor(g.uniform() * V))), { shape: [n] });
};

interface Case {
  label: string; x: number[]; V: number; bias: boolean; opts: F.LinearCrossEntropyOptions; xGrad?: boolean; ignoreEvery?: number;
}
const cases: Case[] = [
  { label: 'mean, bias, ignored rows', x: [37, 24], V: 53, bias: true, opts: {}, ignoreEvery: 5 },
  { label: 'sum, label smoothing 0.2, no bias', x: [20, 16], V: 31, bias: false, opts: { reduction: 'sum', labelSmoothing: 0.2 } },
  // non-uniform row weights: the backward runs the kernel again with them
  { label: "'none' with a random cotangent, ignored rows", x: [3, 7, 12], V: 40, bias: true, opts: { reduction: 'none', labelSmoothing: 0.1 }, ignoreEvery: 4 },
  { label: 'x takes no gradient (frozen features)', x: [25, 8], V: 19, bias: true, opts: {}, xGrad: false },
  // the native kernel keeps ≤ 4 Mi logits a chunk: 900 rows × 5,000 classes are two chunks (838 + 62 rows)
  { label: 'rows across two chunks of the native kernel', x: [900, 8], V: 5000, bias: true, opts: { labelSmoothing: 0.05 }, ignoreEvery: 7 },
];

for (const c of cases) {
  test(`linearCrossEntropy equals crossEntropy(linear(…)): ${c.label}`, () => {
    const C = c.x[c.x.length - 1]!, n = c.x.slice(0, -1).reduce((a, b) => a * b, 1);
    const x = leaf(rnd(c.x, 1, 2), c.xGrad !== false), w = leaf(rnd([c.V, C], 2, 0.5)), b = c.bias ? leaf(rnd([c.V], 3)) : null;
    const [x2, w2, b2] = [leaf(x, c.xGrad !== false), leaf(w), b ? leaf(b) : null];
    const t = F.reshape(ids(n, c.V, 4, c.ignoreEvery ?? 0), c.x.slice(0, -1));
    const fused = F.linearCrossEntropy(x, w, b, t, c.opts);
    const logits = F.linear(x2, w2, b2);                                                       // [..., V]
    const flat = F.reshape(logits, [-1, c.V]);                                                 // [n, V]
    const comp0 = F.crossEntropy(flat, F.reshape(t, [-1]), c.opts);
    const comp = c.opts.reduction === 'none' ? F.reshape(comp0, t.shape) : comp0;
    assertAllClose(fused, comp, { rtol: 1e-5, atol: 1e-5, msg: 'loss' });
    const u = c.opts.reduction === 'none' ? rnd([...t.shape], 9) : undefined;
    backward(fused, u);
    backward(comp, u);
    if (c.xGrad !== false) assertAllClose(x.grad!, x2.grad!, { rtol: 1e-4, atol: 1e-5, msg: 'grad x' });
    else assert.equal(x.grad, null);
    assertAllClose(w.grad!, w2.grad!, { rtol: 1e-4, atol: 1e-5, msg: 'grad weight' });
    if (b) assertAllClose(b.grad!, b2!.grad!, { rtol: 1e-4, atol: 1e-5, msg: 'grad bias' });
  });
}

test('linearCrossEntropy: backward again over the same loss (retainGraph) adds the same gradients; noGrad computes the loss only', () => {
  const x = rnd([6, 5], 1).requireGrad(), w = rnd([9, 5], 2).requireGrad(), t = ids(6, 9, 3);
  const loss = F.linearCrossEntropy(x, w, null, t);
  backward(loss, undefined, { retainGraph: true });
  const once = Float32Array.from(w.grad!.data as Float32Array);
  backward(loss, undefined, { retainGraph: true });
  backward(loss);
  assertAllClose(w.grad!, once.map((v) => 3 * v), { rtol: 1e-6, atol: 1e-7 });
  const plain = noGrad(() => F.linearCrossEntropy(x, w, null, t));
  assertAllClose(plain, loss, { rtol: 1e-6, atol: 0 });
});

test('linearCrossEntropy refuses bad input by name', () => {
  const x = rnd([4, 5], 1), w = rnd([7, 5], 2), t = ids(4, 7, 3);
  assert.throws(() => F.linearCrossEntropy(x, rnd([7, 6], 2), null, t), (e: Error) => e instanceof ShapeError && /linearCrossEntropy: x has shape \[4,5\], expected last dim 6/.test(e.message));
  assert.throws(() => F.linearCrossEntropy(x, w, rnd([6], 4), t), (e: Error) => e instanceof ShapeError && /bias has shape \[6\], expected \[7\]/.test(e.message));
  assert.throws(() => F.linearCrossEntropy(x, w, null, ids(5, 7, 3)), (e: Error) => e instanceof ShapeError && /target has shape \[5\], expected \[4\]/.test(e.message));
  assert.throws(() => F.linearCrossEntropy(x, w, null, tensor(Int32Array.from([0, 1, 7, 2]), { shape: [4] })), (e: Error) => e instanceof IndexError && /target 7 is out of range for 7 classes/.test(e.message));
  assert.throws(() => F.linearCrossEntropy(x, w, null, t, { labelSmoothing: 2 }), (e: Error) => e instanceof ValueError && /labelSmoothing must be in \[0, 1\], got 2/.test(e.message));
  assert.throws(() => F.linearCrossEntropy(x, w, null, t, { weight: rnd([7], 5) } as F.LinearCrossEntropyOptions), /linearCrossEntropy.*weight/);
});

test('crossEntropy and linearCrossEntropy refuse a non-integer ignoreIndex (native truncated 2.5 to 2 and ignored target 2; js ignored nothing)', () => {
  const x = rnd([4, 3], 1), w = rnd([5, 3], 2), t = tensor(Int32Array.from([2, 1, 2, 0]), { shape: [4] });
  for (const bad of [2.5, Number.NaN, '2' as unknown as number]) {
    assert.throws(() => F.linearCrossEntropy(x, w, null, t, { ignoreIndex: bad }),
      (e: unknown) => e instanceof ValueError && /^linearCrossEntropy: ignoreIndex must be an integer, got/.test((e as Error).message));
    assert.throws(() => F.crossEntropy(F.linear(x, w), t, { ignoreIndex: bad }),
      (e: unknown) => e instanceof ValueError && /^crossEntropy: ignoreIndex must be an integer, got/.test((e as Error).message));
  }
});
