/**
 * ops/ and autograd/ reach kernels through the backend interface only ('attnkit/layers'), and src/
 * has no import cycle ('attnkit/no-cycles'): lint rules in tools/eslint-plugin-attnkit.js, and the
 * rules themselves can fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';
// @ts-expect-error: a plain .mjs tool without type declarations
import { importGraph, elementaryCycles, importSpecifiers } from '../../tools/import-cycles.mjs';

const eslint = new ESLint({ cwd: process.cwd() });
async function lint(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: file });
  return r.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

test('ops/ and autograd/ importing a backend implementation (js or native) is a lint error, even for types', async () => {
  const cases: [string, string][] = [
    ['src/ops/bad.ts', "import { contiguousStrides } from '../backend/js/strided.js';\nexport const f = contiguousStrides;\n"],
    ['src/ops/bad.ts', "import type { FloatArray } from '../backend/js/types.js';\nexport type F = FloatArray;\n"],
    ['src/autograd/bad.ts', "import { jsBackend } from '../backend/js/index.js';\nexport const b = jsBackend;\n"],
    ['src/ops/bad.ts', "export { nativeBackend } from '../backend/native/index.js';\n"],
  ];
  for (const [file, code] of cases) {
    const msgs = await lint(file, code);
    assert.ok(msgs.some((m) => m.startsWith('attnkit/layers') && m.includes('through the backend interface')), `${file}: ${code}\n${msgs.join('\n')}`);
  }
});

test('ops/ importing the backend interface is fine, and so is backend/ importing its own implementations', async () => {
  assert.deepEqual(await lint('src/ops/ok.ts', "import { backend, type FloatArray } from '../backend/backend.js';\nexport const f = (x: FloatArray): number => backend().name.length + x.length;\n"), []);
  assert.deepEqual(await lint('src/backend/ok.ts', "import { jsBackend } from './js/index.js';\nexport const b = jsBackend;\n"), []);
});

test('an import that closes a cycle is a lint error naming the cycle; a type-only one is not', async () => {
  // ops/elementwise.ts imports ops/util.ts, so util importing elementwise closes a cycle.
  const msgs = await lint('src/ops/util.ts', "import { add } from './elementwise.js';\nexport const f = add;\n");
  assert.ok(msgs.some((m) => m.startsWith('attnkit/no-cycles') && m.includes('ops/util.ts → ops/elementwise.ts → ops/util.ts')), msgs.join('\n'));
  // The cycle this rule was written against: reduce's sum needs shape's reshape, and shape's expand needs sum back.
  const old = await lint('src/ops/shape.ts', "import { sum } from './reduce.js';\nexport const f = sum;\n");
  assert.ok(old.some((m) => m.startsWith('attnkit/no-cycles') && m.includes('ops/shape.ts → ops/reduce.ts → ops/shape.ts')), old.join('\n'));
  const typeOnly = await lint('src/ops/util.ts', "import type { TensorLike } from './util.js';\nimport type { Primitive } from './primitive.js';\nexport type P = Primitive | TensorLike;\n");
  assert.deepEqual(typeOnly.filter((m) => m.startsWith('attnkit/no-cycles')), []);
});

test('the cycle finder tells type-only imports from runtime ones', () => {
  const specs = importSpecifiers([
    "import type { A } from './a.js';",
    "import { type B, type C } from './b.js';",
    "import { D, type E } from './d.js';",
    "export type { F } from './f.js';",
    "export { G } from './g.js';",
    "export * from './h.js';",
    "import './i.js';",
  ].join('\n'));
  assert.deepEqual(specs, [
    { spec: './a.js', typeOnly: true }, { spec: './b.js', typeOnly: true }, { spec: './d.js', typeOnly: false },
    { spec: './f.js', typeOnly: true }, { spec: './g.js', typeOnly: false }, { spec: './h.js', typeOnly: false },
    { spec: './i.js', typeOnly: false },
  ]);
});

test('src/ has no import cycle, and ops/ and autograd/ lint clean of both rules', async () => {
  const cycles = elementaryCycles(importGraph('src')) as string[][];
  assert.deepEqual(cycles.map((c) => c.map((f) => f.slice(f.indexOf('src/'))).join(' → ')), []);
  const results = await eslint.lintFiles(['src/ops', 'src/autograd']);
  const errors = results.flatMap((r) => r.messages
    .filter((m) => m.ruleId === 'attnkit/layers' || m.ruleId === 'attnkit/no-cycles')
    .map((m) => `${r.filePath}: ${m.message}`));
  assert.deepEqual(errors, []);
});
