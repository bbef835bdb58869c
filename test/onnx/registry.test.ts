/**
 * A layer's ONNX emission lives beside the layer (`<layer>.onnx.ts`), and the exporter finds it
 * by the model's exact class in one typed registry (src/onnx/registry.ts) — no `instanceof`
 * chain, no emitter written in src/onnx, no registration by import side effect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { ConfigError, Generator, exportOnnx, nn } from '../../src/index.js';

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('src/onnx has no instanceof: exporters are looked up by the model\'s class', () => {
  const hits = tsFiles('src/onnx').flatMap((f) => readFileSync(f, 'utf8').split('\n').map((l, i) => [f, i + 1, l] as const))
    .filter(([, , l]) => /\binstanceof\b/.test(l));
  assert.deepEqual(hits.map(([f, i]) => `${f}:${i}`), []);
});

test('no layer is emitted in src/onnx: only the registry imports the layers\' emitters (nn/, models/)', () => {
  const offenders = tsFiles('src/onnx').filter((f) => !f.endsWith('registry.ts'))
    .filter((f) => /^import (?!type )[^;]*from '\.\.\/(\.\.\/)?(nn|models)\//m.test(readFileSync(f, 'utf8')));
  assert.deepEqual(offenders, []);
});

test('a subclass of an exportable layer is refused by name, not exported as its base class', () => {
  // a subclass may change forward; exporting it as its base class would be a silent wrong graph
  class DoubledAttention extends nn.MultiHeadAttention {}
  const m = new DoubledAttention({ embedDim: 8, numHeads: 2, rng: new Generator(1) });
  assert.throws(() => exportOnnx(m), (e: Error) => e instanceof ConfigError && /^exportOnnx: DoubledAttention is not supported/.test(e.message));
  class Other extends nn.FeedForwardBlock {}
  const inner = new nn.Serial({ embedDim: 8, layers: [new Other({ embedDim: 8, hidden: 4, rng: new Generator(2) })] });
  assert.throws(() => exportOnnx(inner), (e: Error) => e instanceof ConfigError && /exportOnnx: Other is not supported inside a sequence layer/.test(e.message));
});

test('the graph builder sits below nn/: an emitter beside a layer may import it, never the exporter above', async () => {
  const eslint = new ESLint({ cwd: process.cwd() });
  const lint = async (file: string, code: string): Promise<string[]> => (await eslint.lintText(code, { filePath: file }))[0].messages
    .filter((m) => m.ruleId === 'attnkit/layers').map((m) => m.message);
  assert.deepEqual(await lint('src/nn/attention/x.onnx.ts', "import { Graph } from '../../onnx/graph/graph.js';\nexport const G = Graph;\n"), []);
  assert.deepEqual(await lint('src/nn/x.onnx.ts', "import { Graph } from '../onnx/graph/graph.js';\nexport const G = Graph;\n"), []);
  const up = await lint('src/nn/attention/x.onnx.ts', "import { exportOnnx } from '../../onnx/export.js';\nexport const e = exportOnnx;\n");
  assert.ok(up.some((m) => m.includes("may not import 'onnx/export.ts'") || m.includes("may not import 'onnx/export.js'")), up.join('\n'));
  const down = await lint('src/onnx/graph/x.ts', "import { Linear } from '../../nn/linear.js';\nexport const L = Linear;\n");
  assert.ok(down.length > 0, 'the graph builder knows no module');
});

test('the registry is keyed by class name and holds one entry per class', async () => {
  const { EXPORTERS } = await import('../../src/onnx/export.js');
  for (const [name, e] of Object.entries(EXPORTERS)) assert.equal(e.cls.name, name, `EXPORTERS.${name} exports ${e.cls.name}`);
  assert.equal(new Set(Object.values(EXPORTERS).map((e) => e.cls)).size, Object.keys(EXPORTERS).length);
});

test('every <layer>.onnx.ts file\'s `onnx` record is in the registry, entry for entry', async () => {
  const { EXPORTERS } = await import('../../src/onnx/export.js');
  const siblings = tsFiles('src').filter((f) => f.endsWith('.onnx.ts'));
  assert.ok(siblings.length >= 15, siblings.join(', '));
  for (const f of siblings) {
    const mod = await import(`../../${f}`) as { onnx?: Record<string, { cls: unknown }> };
    assert.ok(mod.onnx && Object.keys(mod.onnx).length > 0, `${f} exports its classes' entries as \`onnx\``);
    for (const [name, e] of Object.entries(mod.onnx)) assert.equal((EXPORTERS as Record<string, unknown>)[name], e, `${f}: ${name} is in src/onnx/registry.ts`);
  }
});
