import assert from 'node:assert/strict';
import { Module, Parameter, Tensor, ValueError, backward, F, optim, toDtype, zeros } from '../../src/index.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/tensor/safetensors.js';
import { assertAllClose } from '../helpers.js';

/** One module's contract case: how to build it, run it on fixed inputs, and what to expect. */
export interface ContractCase {
  /** Builds the module from a seed; `extra` is merged into its options object (the unknown-key check). */
  make: (seed: number, extra?: Record<string, unknown>) => Module;
  /** The main output on fixed inputs. */
  run: (m: Module) => Tensor;
  outShape: number[];
  numParameters: number;
  /** False when the initial state takes no randomness (LayerNorm). */
  seeded?: boolean;
  /** False when the constructor takes no options object (nothing to refuse). */
  options?: boolean;
  /** False for a known gap: state outside what the checkpoint carries. */
  roundTrip?: boolean;
}

/**
 * The layer contract: output shape, parameter count, state round trip through a safetensors
 * checkpoint into a differently seeded copy, same seed ⇒ same result, unknown option keys
 * refused, and one optimiser step lowers a loss.
 */
export function checkModuleContract(name: string, c: ContractCase): void {
  const a = c.make(1);
  a.eval();
  const y = c.run(a);
  assert.deepEqual([...y.shape], c.outShape, 'output shape');
  assert.equal(a.numParameters(), c.numParameters, 'parameter count');
  const b = c.make(1); b.eval();
  assertAllClose(c.run(b), y, { msg: 'same seed, same output' });
  const d = c.make(2); d.eval();
  if (c.seeded !== false && a.numParameters() > 0) assert.notDeepEqual(Array.from(c.run(d).data), Array.from(y.data), 'different seed, different output');
  d.loadStateDict(decodeSafetensors(encodeSafetensors(a.stateDict()), name).tensors);
  if (c.roundTrip !== false) assertAllClose(c.run(d), y, { msg: 'state round trip through a safetensors checkpoint' });
  if (c.options !== false) {
    assert.throws(() => c.make(1, { bogusOption: 1 }), (e: unknown) => e instanceof ValueError && /unknown option 'bogusOption'/.test(e.message), 'unknown option keys refused');
  }
  if (a.numParameters() === 0) return;
  a.train();
  const loss = (): Tensor => F.mseLoss(c.run(a), zeros(y.shape));
  const before = loss();
  const opt = new optim.SGD(a.parameters(), { lr: 1e-2 });
  opt.zeroGrad();
  backward(before);
  opt.step();
  assert.ok(loss().item() < before.item(), `one SGD step should lower the loss (${before.item()} → ${loss().item()})`);
}

/** A layer whose forward(x) gives a Tensor or, as the attention family, `{ output }`. */
type ForwardX = Module & { forward(x: Tensor): Tensor | { output: Tensor } };

/** The contract for a layer with `forward(x)` → Tensor or `{ output }` (no unknown-key check: `make` takes only a seed). */
export function checkLayerContract(opts: {
  make: (seed: number) => ForwardX;
  input: () => Tensor;
  outShape: number[];
  numParameters: number;
  /** False for layers whose initial weights take no randomness (LayerNorm). */
  seeded?: boolean;
}): void {
  const x = opts.input();
  checkModuleContract(opts.make(1).constructor.name, {
    make: (s) => opts.make(s), run: (m) => { const r = (m as ForwardX).forward(x); return r instanceof Tensor ? r : r.output; },
    outShape: opts.outShape, numParameters: opts.numParameters, seeded: opts.seeded, options: false,
  });
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
