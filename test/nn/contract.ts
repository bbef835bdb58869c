import assert from 'node:assert/strict';
import { Module, Parameter, Tensor, backward, F, optim, toDtype, zeros } from '../../src/index.js';
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

/** Replaces every parameter of `m` (recursively, also in arrays of modules) with a float64 copy, for gradchecks; returns m. */
export function toFloat64<M extends Module>(m: M): M {
  const visit = (obj: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(obj)) {
      if (v instanceof Parameter) obj[k] = new Parameter(toDtype(v, 'float64'));
      else if (v instanceof Module) visit(v as unknown as Record<string, unknown>);
      else if (Array.isArray(v)) v.forEach((x) => { if (x instanceof Module) visit(x as unknown as Record<string, unknown>); });
    }
  };
  visit(m as unknown as Record<string, unknown>);
  return m;
}
