import assert from 'node:assert/strict';
import { Module, Tensor, backward, F, optim, zeros } from '../../src/index.js';
import { assertAllClose } from '../helpers.js';

/**
 * The layer contract: output shape, parameter count, state round-trip into a fresh copy,
 * same seed ⇒ same result, and one optimiser step lowers a loss.
 */
export function checkLayerContract(opts: {
  make: (seed: number) => Module & { forward(x: Tensor): Tensor };
  input: () => Tensor;
  outShape: number[];
  numParameters: number;
  /** False for layers whose initial weights take no randomness (LayerNorm). */
  seeded?: boolean;
}): void {
  const a = opts.make(1);
  const x = opts.input();
  const y = a.forward(x);
  assert.deepEqual([...y.shape], opts.outShape, 'output shape');
  assert.equal(a.numParameters(), opts.numParameters, 'parameter count');
  const b = opts.make(1);
  assertAllClose(b.forward(x), y, { msg: 'same seed, same output' });
  const c = opts.make(2);
  if (opts.seeded !== false) assert.notDeepEqual(Array.from(c.forward(x).data), Array.from(y.data), 'different seed, different output');
  c.loadStateDict(Object.fromEntries(Object.entries(a.stateDict()).map(([k, t]) => [k, new Tensor(t.data.slice(), t.shape)])));
  assertAllClose(c.forward(x), y, { msg: 'state round-trip' });
  if (a.numParameters() === 0) return;
  const target = zeros(y.shape);
  const loss = (): Tensor => F.mseLoss(a.forward(x), target);
  const before = loss();
  const opt = new optim.SGD(a.parameters(), { lr: 1e-2 });
  opt.zeroGrad();
  backward(before);
  opt.step();
  assert.ok(loss().item() < before.item(), `one SGD step should lower the loss (${before.item()} → ${loss().item()})`);
}
