/**
 * Optimiser state from a hand-written loop (issue 19, finding 11): `saveState()` gives safetensors
 * bytes that `loadState` restores, so a restored optimiser steps exactly as the original; the JSON
 * of `state()` round-trips too, and anything else is refused with a message saying what to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, Parameter, ValueError, backward, nn, optim, randn, sum, mul, train, type Tensor } from '../../src/index.js';

/** A small model and a fixed batch; `step` runs one loss → backward → update. */
function setup(seed: number): { model: nn.Linear; step: (opt: optim.Optimizer<{ lr?: number }>) => void } {
  const model = new nn.Linear(4, 3, { rng: new Generator(seed) });
  const x = randn([5, 4], { rng: new Generator(100) });
  const step = (opt: optim.Optimizer<{ lr?: number }>): void => {
    opt.zeroGrad();
    const y: Tensor = model.forward(x);
    backward(sum(mul(y, y)));
    opt.step();
  };
  return { model, step };
}
const weights = (m: nn.Module): number[] => m.parameters().flatMap((p) => Array.from(p.data));

const makers: [string, (m: nn.Module) => optim.Optimizer<{ lr?: number }>][] = [
  ['Adam', (m) => new optim.Adam(m.parameters(), { lr: 0.01 })],
  ['AdamW', (m) => new optim.AdamW(m.parameters(), { lr: 0.01 })],
  ['SGD', (m) => new optim.SGD(m.parameters(), { lr: 0.01, momentum: 0.9, nesterov: true })],
];

for (const [name, make] of makers) {
  test(`${name}: saveState() bytes restore an optimiser that steps exactly as the original`, () => {
    const a = setup(1);
    const optA = make(a.model);
    for (let i = 0; i < 3; i++) a.step(optA);
    optA.lrScale = 0.5;
    const bytes = optA.saveState();
    assert.ok(bytes instanceof Uint8Array);
    const f = train.decodeSafetensors(bytes);                 // plain safetensors: float64 buffers + metadata
    assert.equal(f.metadata.format, 'attnkit-optimizer');
    assert.equal(f.metadata.optimizer, name);

    const b = setup(2);                                       // other initial weights: copy them, then the state
    b.model.loadStateDict(a.model.stateDict());
    const optB = make(b.model);
    optB.loadState(bytes);
    assert.equal(optB.stepCount, 3);
    assert.equal(optB.lrScale, 0.5);
    for (let i = 0; i < 3; i++) { a.step(optA); b.step(optB); }
    assert.deepEqual(weights(b.model), weights(a.model));
  });

  test(`${name}: JSON.stringify(state()) round-trips through loadState`, () => {
    const a = setup(1);
    const optA = make(a.model);
    for (let i = 0; i < 2; i++) a.step(optA);
    const json = JSON.stringify(optA.state());
    const b = setup(1);
    b.model.loadStateDict(a.model.stateDict());
    const optB = make(b.model);
    optB.loadState(JSON.parse(json));
    a.step(optA); b.step(optB);
    assert.deepEqual(weights(b.model), weights(a.model));
  });
}

test('loadState refuses what it cannot restore, naming the optimiser and the documented way', () => {
  const { model } = setup(1);
  const opt = new optim.Adam(model.parameters());
  assert.throws(() => opt.loadState({ step: 1, buffers: { m: [{ 0: 1 } as never, new Float64Array(0)] } }),
    (e: unknown) => e instanceof ValueError && /^Adam\.loadState: 'm' entry 0 is not an array of numbers \(got \{"0":1\}\).*saveState\(\)/.test(e.message));
  assert.throws(() => opt.loadState({ step: 1, buffers: { m: [[1, null] as never, new Float64Array(0)] } }), /Adam\.loadState: 'm' entry 0 is not an array of numbers/);
  assert.throws(() => opt.loadState({ step: -1, buffers: {} }), /Adam\.loadState: step must be a non-negative integer, got -1/);
  const sgdBytes = new optim.SGD(setup(1).model.parameters(), { lr: 0.1, momentum: 0.9 }).saveState();
  assert.throws(() => opt.loadState(sgdBytes), /Adam\.loadState: the state was saved by SGD/);
  assert.throws(() => opt.loadState(train.encodeSafetensors({})), /Adam\.loadState: not an attnkit optimiser state/);
});

test('loadState refuses a state saved over a different number of parameters, even of the same shapes', () => {
  const params = (n: number): Parameter[] => Array.from({ length: n }, (_, i) => new Parameter(randn([2], { rng: new Generator(i) })));
  const three = params(3), opt3 = new optim.Adam(three, { lr: 0.1 });
  for (const p of three) p.grad = randn([2], { rng: new Generator(7) });
  opt3.step();
  const five = new optim.Adam(params(5), { lr: 0.1 });
  assert.throws(() => five.loadState(opt3.saveState()), (e: unknown) => e instanceof ValueError && /^Adam\.loadState: the state was saved over 3 parameters, this optimiser has 5/.test(e.message));
  assert.throws(() => five.loadState(opt3.state()), /Adam\.loadState: 'm' has 3 entries for 5 parameters/);
  assert.equal(five.stepCount, 0);
});

test('loadState messages stay short on hostile states: huge names and metadata, 65,536 tensors', () => {
  const { model } = setup(1);
  const opt = new optim.Adam(model.parameters());
  const huge = 'x'.repeat(1_000_000);
  const short = (f: () => unknown): void => assert.throws(f, (e: unknown) => e instanceof ValueError && e.message.length < 1000);
  const meta = (m: Record<string, string>, tensors = {}): Uint8Array => train.encodeSafetensors(tensors, { format: 'attnkit-optimizer', optimizer: 'Adam', step: '1', lrScale: '1', params: '2', ...m });
  short(() => opt.loadState(meta({ format: huge })));
  short(() => opt.loadState(meta({ optimizer: huge })));
  short(() => opt.loadState(meta({ lrScale: huge })));
  short(() => opt.loadState(meta({ params: huge })));
  short(() => opt.loadState(meta({}, { [`__optim__.${huge}.0`]: randn([2], { rng: new Generator(0) }) })));
  const many: Record<string, Tensor> = {};
  for (let i = 0; i < 65_536; i++) many[`${huge.slice(0, 30)}${i}`] = randn([1], { rng: new Generator(0) });
  short(() => opt.loadState(meta({}, many)));
  short(() => opt.loadState({ step: 1, buffers: { [huge]: [] } }));
  short(() => opt.loadState({ step: 1, buffers: { m: { [huge]: 1 } as never } }));
  let deep: unknown = 1;
  for (let i = 0; i < 1_000_000; i++) deep = [deep];
  short(() => opt.loadState({ step: 1, buffers: { m: [deep as never, new Float64Array(0)] } }));
  short(() => opt.loadState(deep as never));
});
