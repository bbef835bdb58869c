/** The architecture rules are enforced by lint, and the lint rule itself can fail. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: process.cwd() });
async function lint(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: file });
  return r.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

test('an upward import is a lint error', async () => {
  const msgs = await lint('src/tensor/bad.ts', "import { Linear } from '../nn/linear.js';\nexport const x = Linear;\n");
  assert.ok(msgs.some((m) => m.startsWith('attnkit/layers') && m.includes("may not import 'nn/linear.js'")), msgs.join('\n'));
});

test('a Node built-in in the core is a lint error; downward imports are fine', async () => {
  const bad = await lint('src/ops/bad.ts', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n");
  assert.ok(bad.some((m) => m.includes("Node built-in 'node:fs'")), bad.join('\n'));
  const ok = await lint('src/nn/ok.ts', "import { add } from '../ops/elementwise.js';\nexport const f = add;\n");
  assert.deepEqual(ok, []);
});

test('Math.random is a lint error', async () => {
  const msgs = await lint('src/ops/rand.ts', 'export const r = (): number => Math.random();\n');
  assert.ok(msgs.some((m) => m.includes('seeded Generator')), msgs.join('\n'));
});

test('the source tree itself lints clean of layer violations', async () => {
  const results = await eslint.lintFiles(['src']);
  const layerErrors = results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'attnkit/layers').map((m) => `${r.filePath}: ${m.message}`));
  assert.deepEqual(layerErrors, []);
});
