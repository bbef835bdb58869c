/**
 * The kernel table, the generated C++ and the compiled addon agree: the generated files are
 * current, the addon exports exactly the table's kernels (plus its controls), each export takes
 * the table's arguments, and a struct or buffer that does not fit is refused by name. The addon is
 * the pass's compiled backend: the N-API addon, or the wasm build's glue (src/backend/wasm/glue.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CONTROL_EXPORTS, ENUMS, KERNELS, type Addon, type KernelDef } from '../../src/backend/native/kernelTable.js';
import { loadedWasmAddon } from '../../src/backend/wasm/index.js';
import { compiledPass } from '../helpers.js';

const pass = compiledPass();
const nativePass = pass !== null;
const root = join(import.meta.dirname, '..', '..');
const load = (): Addon => (pass?.name === 'wasm' ? loadedWasmAddon()!
  : createRequire(import.meta.url)(join(root, 'build', 'Release', 'attnkit_native.node')) as Addon);

test('the generated C++ (kernels.gen.h, bindings.inc, wasm_exports.cc) is what the table gives today', () => {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'gen-kernels.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `stale generated files: ${r.stderr}`);
});

test('the generated header has every enum member at its table code, and a prototype per kernel', async () => {
  const { readFile } = await import('node:fs/promises');
  const h = await readFile(join(root, 'native', 'src', 'generated', 'kernels.gen.h'), 'utf8');
  for (const [name, members] of Object.entries(ENUMS)) {
    const line = h.split('\n').find((l) => l.startsWith(`enum class ${name} `));
    assert.ok(line, `enum ${name}`);
    members.forEach((m, i) => assert.ok(line.includes(`${m[0]!.toUpperCase()}${m.slice(1)} = ${i}`), `${name}.${m} = ${i}`));
  }
  for (const [name, k] of Object.entries(KERNELS) as [string, KernelDef][]) {
    assert.match(h, new RegExp(`\\n(void|bool) ${k.cc}\\(`), `${name}: prototype of ${k.cc}`);
  }
});

test('the addon exports exactly the table\'s kernels and its controls', { skip: !nativePass && 'compiled passes only' }, () => {
  const exported = Object.keys(load()).sort();
  assert.deepEqual(exported, [...Object.keys(KERNELS), ...CONTROL_EXPORTS].sort());
});

test('each export takes the table\'s arguments: a call with another count is refused, naming the kernel', { skip: !nativePass && 'compiled passes only' }, () => {
  const a = load() as unknown as Record<string, (...xs: unknown[]) => unknown>;
  for (const [name, k] of Object.entries(KERNELS) as [string, KernelDef][]) {
    const n = k.args.filter((d) => d.kind !== 'len').length;
    assert.throws(() => a[name]!(...Array.from({ length: n + 1 }, () => 0)), { name: 'TypeError', message: `${name}: the call must be given ${n} arguments` });
  }
});

test('a buffer of another dtype, a missing struct field or an unknown enum code is refused by name', { skip: !nativePass && 'compiled passes only' }, () => {
  const a = load();
  const x = new Float32Array(6), out = new Float32Array(2);
  a.sumDim(x, out, 2, 3, 1);
  assert.throws(() => a.sumDim(new Float64Array(6) as unknown as Float32Array, out, 2, 3, 1), { name: 'TypeError', message: 'sumDim: x must be a Float32Array' });
  assert.throws(() => a.unary(ENUMS.Unary.length, x, new Float32Array(6)), { name: 'TypeError', message: "unary: op must be a member's code" });
  assert.throws(() => a.unary(0, x, out), { name: 'TypeError', message: 'unary: x, out must be of the same length' });
  const geom = { N: 1, C: 1, H: 2, W: 3, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, OH: 2, OW: 3, Cout: 1, groups: 1 };
  const { Cout: _, ...noCout } = geom;
  assert.throws(() => a.conv2dForward(noCout as typeof geom, x, new Float32Array(1), new Float32Array(6)), { name: 'TypeError', message: 'conv2dForward: p.Cout must be a number' });
  const w = new Float32Array(3), m = new Float64Array(3), v = new Float64Array(3);
  assert.throws(() => a.adamUpdate(w, w, m, v, { lr: 1, b1: 0.9, b2: 0.9, c1: 1, c2: 1, eps: 1, wd: 0, decoupled: 0 as unknown as boolean }),
    { name: 'TypeError', message: 'adamUpdate: p.decoupled must be a boolean' });
  assert.throws(() => a.adamUpdate(w, new Float32Array(2), m, v, { lr: 1, b1: 0.9, b2: 0.9, c1: 1, c2: 1, eps: 1, wd: 0, decoupled: true }),
    { name: 'TypeError', message: 'adamUpdate: w, g, m, v must be of the same length' });
});
