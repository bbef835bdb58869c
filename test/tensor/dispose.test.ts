/**
 * Tensor.dispose(): a disposed tensor's array is handed out again (zeroed) to the next allocation
 * of its dtype and length, only when no live tensor shares it and no tape node may read it; any
 * use of a disposed tensor is a ValueError. Runs on every backend (the kernels' outputs come from
 * the pool in js, native and wasm alike).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  F, ValueError, backward, randint, bufferPoolStats, detach, matmul, noGrad, ones, randn, reshape, setBufferPoolLimit, tensor, zeros, Generator,
} from '../../src/index.js';

const N = 128; // 128×128 float32 = 64 KiB, the smallest size the pool keeps

test('a disposed output\'s array serves the next product of that size, zeroed and with right values', () => {
  const rng = new Generator(1);
  const a = randn([N, N], { rng }), b = randn([N, N], { rng });
  const first = noGrad(() => matmul(a, b));
  const expected = Float32Array.from(first.data);
  const arr = first.data;
  const before = bufferPoolStats();
  first.dispose();
  assert.equal(first.isDisposed, true);
  assert.equal(bufferPoolStats().recycled, before.recycled + 1);
  const again = noGrad(() => matmul(a, b));
  assert.equal(again.data, arr, 'the same memory serves the next output');
  assert.deepEqual(again.data, expected);
  assert.equal(bufferPoolStats().reused, before.reused + 1);
  // handed out zeroed, as a new array would be
  again.dispose();
  const z = zeros([N, N]);
  assert.equal(z.data, arr);
  assert.ok(z.data.every((v) => v === 0));
});

test('using a disposed tensor is a ValueError naming it; disposing twice is a no-op', () => {
  const t = ones([N, N]);
  t.dispose();
  t.dispose();
  for (const use of [() => t.data, () => t.item(), () => t.float32(), () => t.toArray(), () => F.add(t, t), () => matmul(t, t)]) {
    assert.throws(use, (e: Error) => e instanceof ValueError && /Tensor\.data: the tensor \(shape \[128,128\], float32\) was disposed/.test(e.message));
  }
  assert.equal(t.size, N * N);
  assert.match(String(t), /disposed/);
});

test('an array shared by views is reused only once every tensor over it is disposed', () => {
  const t = ones([N, N]);
  const arr = t.data;
  const view = reshape(t, [N * N]);
  const cut = detach(t);
  assert.equal(view.data, arr);
  t.dispose();
  view.dispose();
  const next = zeros([N, N]);
  assert.notEqual(next.data, arr, 'detach still holds it');
  assert.ok(cut.data.every((v) => v === 1), 'the live view keeps its values');
  cut.dispose();
  assert.equal(zeros([N, N]).data, arr);
});

test('arrays that backward may read are never handed out again', () => {
  const rng = new Generator(2);
  const w = randn([N, N], { rng }).requireGrad();
  const x = randn([N, N], { rng });
  const xs = Float32Array.from(x.data);
  const y = matmul(x, w);
  const xArr = x.data, yArr = y.data;
  x.dispose(); // an input of a recorded op
  y.dispose(); // a recorded op's output
  for (let i = 0; i < 4; i++) {
    const z = ones([N, N]);
    assert.notEqual(z.data, xArr);
    assert.notEqual(z.data, yArr);
  }
  // backward reads x through its tensor: it refuses rather than computing with reused memory
  const w2 = randn([N, N], { rng }).requireGrad();
  const x2 = tensor(Float32Array.from(xs), { shape: [N, N] });
  const loss = F.sum(matmul(x2, w2));
  x2.dispose();
  let grad: Float32Array | null = null;
  try {
    backward(loss);
    grad = w2.grad!.float32();
  } catch (e) {
    assert.ok(e instanceof ValueError && /disposed/.test((e as Error).message), String(e));
  }
  if (grad) {
    // w.grad = xᵀ·1: column sums of x per row of w
    for (let r = 0; r < N; r++) {
      let s = 0;
      for (let i = 0; i < N; i++) s += xs[i * N + r]!;
      assert.ok(Math.abs(grad[r * N]! - s) < 1e-3, `row ${r}`);
    }
  }
});

test('once backward has run through a node (no retainGraph) the arrays it held are reused when disposed; a second backward is a ValueError; retainGraph keeps them', () => {
  const rng = new Generator(3);
  const w = randn([N, N], { rng }).requireGrad();
  // retainGraph: still pinned after backward, and a second backward works
  const xKept = randn([N, N], { rng });
  const yKept = matmul(xKept, w);
  backward(yKept, ones([N, N]), { retainGraph: true });
  const keptArr = yKept.data;
  yKept.dispose();
  for (let i = 0; i < 3; i++) assert.notEqual(ones([N, N]).data, keptArr, 'retained: the output stays pinned');
  // without it: the node is freed, and its output's array serves the next allocation once disposed
  const x = randn([N, N], { rng });
  const y = matmul(x, w);
  backward(y, ones([N, N]));
  const yArr = y.data, xArr = x.data;
  y.dispose();
  x.dispose();
  const next = [ones([N, N]), ones([N, N])].map((t) => t.data);
  assert.ok(next.includes(yArr) && next.includes(xArr), 'the freed node\'s input and output arrays are reused');
  assert.throws(() => backward(y, ones([N, N])), (e: unknown) => e instanceof ValueError && /disposed|retainGraph/.test((e as Error).message));
  const y2 = matmul(randn([N, N], { rng }), w);
  backward(y2, ones([N, N]));
  assert.throws(() => backward(y2, ones([N, N])),
    (e: unknown) => e instanceof ValueError && /backward: the graph through 'matmul' \(output \[128,128\]\) was freed by an earlier backward\(\); pass \{ retainGraph: true \}/.test((e as Error).message));
  assert.throws(() => backward(y2, ones([N, N]), { retain: true } as never), (e: unknown) => e instanceof ValueError && /unknown option 'retain'/.test((e as Error).message));
});

test('gradients handed to several leaves can be disposed one at a time', () => {
  const x = ones([N, N]).requireGrad(), w = ones([N, N]).requireGrad();
  backward(F.sum(F.add(x, w)));
  x.grad!.dispose();
  assert.ok(w.grad!.data.every((v) => v === 1));
  const g = zeros([N, N]); // must not receive w.grad's array
  assert.notEqual(g.data, w.grad!.data);
});

test('the pool keeps at most its limit; small arrays are not kept', () => {
  const prev = setBufferPoolLimit(N * N * 4);
  try {
    const a = ones([N, N]), b = ones([N, N]);
    a.dispose();
    b.dispose();
    assert.ok(bufferPoolStats().heldBytes <= N * N * 4);
    setBufferPoolLimit(0);
    assert.equal(bufferPoolStats().heldBytes, 0);
    const small = ones([8, 8]);
    const arr = small.data;
    small.dispose();
    assert.notEqual(ones([8, 8]).data, arr);
    assert.throws(() => setBufferPoolLimit(-1), (e: Error) => e instanceof ValueError && /setBufferPoolLimit: bytes must be/.test(e.message));
  } finally {
    setBufferPoolLimit(prev);
  }
});

test('a target a recorded op holds in its attributes is never handed out again', () => {
  const M = 16384, C = 3; // int32 [16384] is 64 KiB
  const rng = new Generator(3);
  const logits = randn([M, C], { rng }).requireGrad();
  const target = randint(0, C, [M], { rng }); // an array the pool made
  const kept = Int32Array.from(target.data);
  const arr = target.data;
  const loss = F.crossEntropy(logits, target);
  target.dispose();
  const other = zeros([M], { dtype: 'int32' });
  assert.notEqual(other.data, arr);
  backward(loss);
  const ref = randn([M, C], { rng: new Generator(3) }).requireGrad();
  backward(F.crossEntropy(ref, tensor(kept, { shape: [M] })));
  assert.deepEqual(logits.grad!.data, ref.grad!.data);
});
