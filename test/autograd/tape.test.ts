import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, backward, noGrad, detach, F, isGradEnabled } from '../../src/index.js';

test('gradients accumulate across backward calls and through reuse', () => {
  const x = tensor([1, 2, 3]).requireGrad();
  const y = F.sum(F.mul(x, x));        // d/dx = 2x
  backward(y);
  assert.deepEqual(Array.from(x.grad!.data), [2, 4, 6]);
  backward(F.sum(F.add(x, x)));        // + 2
  assert.deepEqual(Array.from(x.grad!.data), [4, 6, 8]);
});

test('broadcast inputs receive gradients reduced to their own shape', () => {
  const a = tensor([[1], [2]]).requireGrad();   // [2,1]
  const b = tensor([10, 20, 30]).requireGrad(); // [3]
  backward(F.sum(F.mul(a, b)));
  assert.deepEqual(a.grad!.shape, [2, 1]);
  assert.deepEqual(Array.from(a.grad!.data), [60, 60]);
  assert.deepEqual(Array.from(b.grad!.data), [3, 3, 3]);
});

test('noGrad records nothing; detach cuts the tape', () => {
  const x = tensor([1, 2]).requireGrad();
  const y = noGrad(() => F.mul(x, 3));
  assert.equal(y.requiresGrad, false);
  assert.equal(isGradEnabled(), true);
  const z = F.mul(detach(x), x);
  backward(F.sum(z));
  assert.deepEqual(Array.from(x.grad!.data), [1, 2]);
});

test('backward refuses a tensor that requires no grad', () => {
  assert.throws(() => backward(F.sum(tensor([1, 2]))), /does not require gradients/);
});
