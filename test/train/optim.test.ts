import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Parameter, tensor, optim, backward, F } from '../../src/index.js';
import { assertAllClose } from '../helpers.js';

const quad = (p: Parameter): void => { p.grad = null; backward(F.sum(F.mul(F.mul(p, p), 0.5))); }; // grad = p

test('SGD with momentum follows PyTorch’s rule (hand-derived)', () => {
  // w0 = 1, g = w. step1: b = 1, w = 1 − 0.1·1 = 0.9; step2: b = 0.9·1 + 0.9 = 1.8, w = 0.9 − 0.18 = 0.72
  const p = new Parameter(tensor([1], { dtype: 'float64' }));
  const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
  quad(p); opt.step();
  quad(p); opt.step();
  assertAllClose(p, [0.72], { rtol: 1e-12 });
});

test('Adam’s first step moves each weight by lr against the gradient sign (bias correction)', () => {
  const p = new Parameter(tensor([2, -3], { dtype: 'float64' }));
  const opt = new optim.Adam([p], { lr: 0.01 });
  quad(p); opt.step();
  assertAllClose(p, [2 - 0.01, -3 + 0.01], { rtol: 1e-7 });
});

test('AdamW decays decoupled from the gradient; clipGradNorm bounds the global norm', () => {
  const p = new Parameter(tensor([1], { dtype: 'float64' }));
  p.grad = tensor([0], { dtype: 'float64' });
  new optim.AdamW([p], { lr: 0.1, weightDecay: 0.5 }).step();
  assertAllClose(p, [0.95], { rtol: 1e-12 });            // 1 − 0.1·0.5·1, zero gradient adds nothing
  const q = new Parameter(tensor([0, 0]));
  q.grad = tensor([3, 4]);
  assert.equal(optim.clipGradNorm([q], 1), 5);
  assertAllClose(q.grad, [0.6, 0.8], { rtol: 1e-5 });
  assert.throws(() => new optim.SGD([q], { lr: -1 }), /lr must be a positive/);
});
