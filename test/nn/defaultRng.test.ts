import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, defaultGenerator, manualSeed, nn, randn, rand, randint, bernoulli, F, ones, ValueError } from '../../src/index.js';

// The default generator: seeded 0 at load, reseeded by manualSeed, used wherever `rng` is omitted.

test('manualSeed(n) makes the default stream equal to new Generator(n)', () => {
  manualSeed(7);
  const a = randn([5]);
  const b = randn([5], { rng: new Generator(7) });
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
  manualSeed(7);
  assert.deepEqual(Array.from(randn([5]).data), Array.from(a.data), 'reseeding repeats the stream');
  assert.ok(defaultGenerator() instanceof Generator);
  assert.throws(() => manualSeed(Number.NaN), (e: unknown) => e instanceof ValueError && /manualSeed: seed must be a finite number/.test(e.message));
});

test('layers construct without rng (PyTorch-style), deterministically after manualSeed', () => {
  manualSeed(3);
  const m1 = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2 });
  manualSeed(3);
  const m2 = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2 });
  const x = randn([1, 3, 8], { rng: new Generator(1) });
  assert.deepEqual(Array.from(m1.forward(x).output.data), Array.from(m2.forward(x).output.data));
  manualSeed(3);
  const lin = new nn.Linear(4, 2);
  const lin2 = new nn.Linear(4, 2, { rng: new Generator(3) });
  assert.deepEqual(Array.from(lin.weight.data), Array.from(lin2.weight.data), 'omitted rng = the default generator');
  assert.throws(() => new nn.Linear(2, 3, { rng: 5 } as never), /Linear: options.rng must be a Generator/);
});

test('random ops and training dropout default to the default generator', () => {
  manualSeed(11);
  const u = rand([4]); const i = randint(0, 9, [4]); const b = bernoulli([4], 0.5);
  const g = new Generator(11);
  assert.deepEqual(Array.from(u.data), Array.from(rand([4], { rng: g }).data));
  assert.deepEqual(Array.from(i.data), Array.from(randint(0, 9, [4], { rng: g }).data));
  assert.deepEqual(Array.from(b.data), Array.from(bernoulli([4], 0.5, { rng: g }).data));
  manualSeed(5);
  const d1 = F.dropout(ones([64]), 0.5, { training: true });
  const d2 = new nn.Dropout(0.5); d2.train();
  manualSeed(5);
  assert.deepEqual(Array.from(d2.forward(ones([64])).data), Array.from(d1.data));
  assert.ok(Array.from(d1.data).some((v) => v === 0));
});
