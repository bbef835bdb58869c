/** Sizes the runtime cannot allocate are ValueErrors naming the function and the shape, not bare RangeErrors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, ValueError, arange, bernoulli, eye, full, linspace, ones, rand, randint, randn, zeros } from '../../src/index.js';

test('creation functions refuse sizes that cannot be allocated with a ValueError naming the shape', () => {
  const rng = new Generator(0);
  const cases: [string, () => unknown, RegExp][] = [
    ['zeros', () => zeros([1e6, 1e6]), /^zeros: shape \[1000000,1000000\] has 1\.00e\+12 elements/],
    ['zeros f64', () => zeros([1e6, 1e6], { dtype: 'float64' }), /8\.00e\+12 bytes as float64/],
    ['ones', () => ones([1e7, 1e7]), /^ones: shape \[10000000,10000000\]/],
    ['full', () => full([2 ** 40], 3), /^full: shape \[1099511627776\]/],
    ['eye', () => eye(1e7), /^eye: shape \[10000000,10000000\]/],
    ['arange', () => arange(0, 1e13), /^arange: shape \[10000000000000\]/],
    ['linspace', () => linspace(0, 1, 1e13), /^linspace: shape \[10000000000000\]/],
    ['rand', () => rand([1e7, 1e7], { rng }), /^rand: shape/],
    ['randn', () => randn([1e7, 1e7], { rng }), /^randn: shape/],
    ['randint', () => randint(0, 2, [1e7, 1e7], { rng }), /^randint: shape/],
    ['bernoulli', () => bernoulli([1e7, 1e7], 0.5, { rng }), /^bernoulli: shape/],
  ];
  for (const [name, fn, re] of cases) {
    assert.throws(fn, (e: Error) => {
      assert.ok(e instanceof ValueError, `${name}: got ${e.name}: ${e.message}`);
      assert.match(e.message, re, name);
      assert.match(e.message, /more than can be allocated/, name);
      return true;
    });
  }
  // ordinary sizes are unaffected
  assert.deepEqual([...zeros([2, 3]).shape], [2, 3]);
});
