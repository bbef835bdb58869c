import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, nn, randn, randint, Module, ValueError, ShapeError, zeros, ones } from '../../src/index.js';
import { checkLayerContract } from './contract.js';

const rng = (s: number): Generator => new Generator(s);

test('Linear contract', () => checkLayerContract({
  make: (s) => new nn.Linear(6, 4, { rng: rng(s) }), input: () => randn([2, 3, 6], { rng: rng(9) }), outShape: [2, 3, 4], numParameters: 28,
}));
test('Embedding contract', () => checkLayerContract({
  make: (s) => new nn.Embedding(10, 3, { rng: rng(s) }), input: () => randint(0, 10, [2, 5], { rng: rng(9) }), outShape: [2, 5, 3], numParameters: 30,
}));
test('LayerNorm contract', () => checkLayerContract({
  make: () => { const l = new nn.LayerNorm(5); l.weight!.data.set([1, 2, 3, 4, 5]); return l; },
  input: () => randn([3, 5], { rng: rng(9) }), outShape: [3, 5], numParameters: 10, seeded: false,
}));
test('Conv1d contract', () => checkLayerContract({
  make: (s) => new nn.Conv1d(2, 3, 3, { rng: rng(s), padding: 1 }), input: () => randn([2, 2, 7], { rng: rng(9) }), outShape: [2, 3, 7], numParameters: 21,
}));
test('Conv2d contract', () => checkLayerContract({
  make: (s) => new nn.Conv2d(2, 4, 3, { rng: rng(s), stride: 2, groups: 2 }), input: () => randn([1, 2, 7, 7], { rng: rng(9) }), outShape: [1, 4, 3, 3], numParameters: 40,
}));

test('namedParameters walks fields, nested modules and arrays with dotted paths', () => {
  class Block extends Module {
    proj = new nn.Linear(2, 2, { rng: rng(0) });
    norm = new nn.LayerNorm(2);
  }
  class Net extends Module {
    blocks = [new Block(), new Block()];
    head = new nn.Linear(2, 1, { rng: rng(0), bias: false });
  }
  const names = new Net().namedParameters().map(([n]) => n);
  assert.deepEqual(names, [
    'blocks.0.proj.weight', 'blocks.0.proj.bias', 'blocks.0.norm.weight', 'blocks.0.norm.bias',
    'blocks.1.proj.weight', 'blocks.1.proj.bias', 'blocks.1.norm.weight', 'blocks.1.norm.bias', 'head.weight',
  ]);
});

test('Dropout: active in training, identity in eval, seeded', () => {
  const x = ones([1000]);
  const d = new nn.Dropout(0.5, rng(3));
  const y = d.forward(x);
  const zeros = Array.from(y.data).filter((v) => v === 0).length;
  assert.ok(zeros > 400 && zeros < 600, `${zeros} zeros`);
  assert.ok(Array.from(y.data).every((v) => v === 0 || v === 2));
  assert.equal(d.eval().forward(x), x);
  assert.throws(() => new nn.Dropout(0.5, 3 as never), (e: unknown) => e instanceof ValueError && /Dropout: rng must be a Generator or omitted/.test(e.message));
});

test('loadStateDict rejects wrong shapes and unknown names', () => {
  const l = new nn.Linear(2, 3, { rng: rng(0) });
  assert.throws(() => l.loadStateDict({ weight: zeros([2, 3]), bias: zeros([3]) }), ShapeError);
  assert.throws(() => l.loadStateDict({ weight: zeros([3, 2]) }), /missing \[bias\]/);
  assert.throws(() => new nn.Linear(0, 3, { rng: rng(0) }), /inFeatures must be a positive integer/);
  assert.throws(() => new nn.Linear(2, 3, { rng: 1 } as never), /Linear: options.rng must be a Generator/);
});

test('loadStateDict checks every entry before it copies any: a refused state leaves the module as it was', () => {
  const lin = new nn.Linear(3, 2, { rng: new Generator(0) });
  const before = lin.stateDict();
  const snapshot = Object.fromEntries(Object.entries(before).map(([k, t]) => [k, Array.from(t.data)]));
  // the weight fits, the bias does not: before, the weight was already overwritten when the bias was refused
  const bad = { weight: ones([2, 3]), bias: ones([3]) };
  assert.throws(() => lin.loadStateDict(bad), (e: Error) => e instanceof ShapeError && /Linear\.loadStateDict: 'bias' has shape \[3\]/.test(e.message));
  for (const [k, t] of Object.entries(lin.stateDict())) assert.deepEqual(Array.from(t.data), snapshot[k], k);
  assert.throws(() => lin.checkStateDict(bad), /Linear\.checkStateDict: 'bias'/);
});
