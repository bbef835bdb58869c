import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, zeros, ones, full, arange, linspace, eye, rand, randn, randint, bernoulli, Generator, F } from '../../src/index.js';

test('creation functions give the right shapes, dtypes and values', () => {
  assert.deepEqual(tensor([[1, 2], [3, 4]]).shape, [2, 2]);
  assert.equal(tensor([true, false]).dtype, 'bool');
  assert.equal(tensor(new Float32Array(6), { shape: [2, 3] }).shape[1], 3);
  assert.deepEqual(zeros([2]).toArray(), [0, 0]);
  assert.deepEqual(ones([1, 2]).toArray(), [[1, 1]]);
  assert.deepEqual(full([2], 7, { dtype: 'int32' }).toArray(), [7, 7]);
  assert.deepEqual(arange(5).toArray(), [0, 1, 2, 3, 4]);
  assert.equal(arange(5).dtype, 'int32');
  assert.deepEqual(arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75]);
  assert.deepEqual(linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(eye(2, 3).toArray(), [[1, 0, 0], [0, 1, 0]]);
  assert.equal(tensor(3).item(), 3);
});

test('random tensors: same seed ⇒ same values, different seed ⇒ different, sane moments', () => {
  const a = randn([1000], { rng: new Generator(7) });
  const b = randn([1000], { rng: new Generator(7) });
  const c = randn([1000], { rng: new Generator(8) });
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
  assert.notDeepEqual(Array.from(a.data), Array.from(c.data));
  const m = F.mean(a).item();
  const s = F.std(a).item();
  assert.ok(Math.abs(m) < 0.1 && Math.abs(s - 1) < 0.1, `mean ${m}, std ${s}`);
  const u = rand([1000], { rng: new Generator(1), low: 2, high: 3 });
  assert.ok([...u.data].every((v) => v >= 2 && v < 3));
  const ri = randint(0, 4, [1000], { rng: new Generator(2) });
  assert.deepEqual(new Set(ri.data), new Set([0, 1, 2, 3]));
  const bern = bernoulli([10000], 0.3, { rng: new Generator(3) });
  const frac = Array.from(bern.data).reduce((x, y) => x + y, 0) / 10000;
  assert.ok(Math.abs(frac - 0.3) < 0.02, `bernoulli frac ${frac}`);
});
