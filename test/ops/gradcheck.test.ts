import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck, primitives, type PrimitiveName, type Tensor, type Primitive } from '../../src/index.js';
import { samples } from './samples.js';
import { tapeNames } from '../helpers.js';

const names = Object.keys(primitives) as PrimitiveName[];

for (const name of names) {
  for (const s of samples[name]) {
    test(`gradcheck ${name}: ${s.label}`, () => {
      const inputs = s.inputs();
      const out = s.fn(...inputs);
      assert.ok(tapeNames(out).has(primitives[name].name), `sample does not reach primitive '${name}' (tape: ${[...tapeNames(out)].join(', ')})`);
      const r = gradcheck(s.fn, inputs, s.options);
      assert.ok(r.checked > 0, 'no element checked');
      assert.ok(r.ok, `worst: ${JSON.stringify(r.worst)}`);
    });
  }
}

// The check must be able to fail: break each rule in turn and expect every sample to notice.
for (const name of names) {
  test(`gradcheck catches a wrong rule for ${name}`, () => {
    const def = primitives[name] as Primitive<unknown, unknown>;
    const right = def.backward;
    (def as { backward: typeof right }).backward = (g, ctx) =>
      right(g, ctx).map((gi) => {
        if (gi === null) return null;
        const d = gi.data.slice();
        for (let i = 0; i < d.length; i++) d[i] = d[i] * 1.5 + 0.1;
        return new (gi.constructor as typeof Tensor)(d, gi.shape);
      });
    try {
      for (const s of samples[name]) {
        const r = gradcheck(s.fn, s.inputs(), s.options);
        assert.equal(r.ok, false, `sample '${s.label}' passed with a broken rule`);
      }
    } finally {
      (def as { backward: typeof right }).backward = right;
    }
  });
}
