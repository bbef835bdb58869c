/**
 * Optimiser state from a hand-written loop (issue 19, finding 11): `saveState()` gives safetensors
 * bytes that `loadState` restores, so a restored optimiser steps exactly as the original; the JSON
 * of `state()` round-trips too, and anything else is refused with a message saying what to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, ValueError, backward, nn, optim, randn, sum, mul, train, type Tensor } from '../../src/index.js';

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
    (e: unknown) => e instanceof ValueError && /^Adam\.loadState: 'm' entry 0 is not an array of numbers \(got an object\).*saveState\(\)/.test(e.message));
  assert.throws(() => opt.loadState({ step: 1, buffers: { m: [[1, null] as never, new Float64Array(0)] } }), /Adam\.loadState: 'm' entry 0 is not an array of numbers/);
  assert.throws(() => opt.loadState({ step: -1, buffers: {} }), /Adam\.loadState: step must be a non-negative integer, got -1/);
  const sgdBytes = new optim.SGD(setup(1).model.parameters(), { lr: 0.1, momentum: 0.9 }).saveState();
  assert.throws(() => opt.loadState(sgdBytes), /Adam\.loadState: the state was saved by SGD/);
  assert.throws(() => opt.loadState(train.encodeSafetensors({})), /Adam\.loadState: not an attnkit optimiser state/);
});
