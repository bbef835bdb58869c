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
  // functional dropout draws from the default stream at call time
  manualSeed(5);
  const d1 = F.dropout(ones([64]), 0.5, { training: true });
  assert.deepEqual(Array.from(d1.data), Array.from(F.dropout(ones([64]), 0.5, { training: true, rng: new Generator(5) }).data));
  assert.ok(Array.from(d1.data).some((v) => v === 0));
  // a Dropout layer seeds its own stream from the default one when built: same seed, same masks
  manualSeed(5);
  const d2 = new nn.Dropout(0.5).train();
  manualSeed(5);
  const d3 = new nn.Dropout(0.5).train();
  assert.deepEqual(Array.from(d2.forward(ones([64])).data), Array.from(d3.forward(ones([64])).data));
});

test('a module built without rng keeps its own dropout stream: training steps do not shift later layers, and the trainer checkpoints it', async () => {
  const { train } = await import('../../src/index.js');
  const x = ones([4, 16]);
  for (const make of [() => new nn.Dropout(0.5), () => new nn.SinusoidalPositionalEncoding({ embedDim: 16, dropout: 0.5 })]) {
    manualSeed(1);
    const drop = make().train();
    const fresh = new nn.Linear(3, 2).weight.data.slice();
    manualSeed(1);
    const drop2 = make().train();
    for (let i = 0; i < 3; i++) drop2.forward(drop2 instanceof nn.Dropout ? x : F.reshape(x, [1, 4, 16]));
    assert.deepEqual(Array.from(new nn.Linear(3, 2).weight.data), Array.from(fresh), `${drop.constructor.name}: a later layer's weights do not depend on how many training steps ran`);
    assert.equal(train.moduleGenerators(drop).length, 1, `${drop.constructor.name}: its stream is the module's, so checkpoints save it`);
    assert.ok(!train.moduleGenerators(drop).includes(defaultGenerator()));
  }
});
