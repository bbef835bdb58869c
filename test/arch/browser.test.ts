/**
 * The core runs in a browser: bundling src/index.ts for the browser platform fails on any
 * Node built-in, and the bundle runs in a bare VM context with no require/process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import vm from 'node:vm';

test('the core bundles for the browser with no Node built-ins and runs without Node globals', async () => {
  const r = await build({
    entryPoints: ['src/index.ts'], bundle: true, platform: 'browser', format: 'iife', globalName: 'attnkit',
    write: false, logLevel: 'silent', metafile: true,
  });
  const inputs = Object.keys(r.metafile!.inputs);
  assert.ok(inputs.every((f) => !f.startsWith('node:')), inputs.join(', '));
  const code = r.outputFiles[0].text;
  const ctx: Record<string, unknown> = {};
  vm.createContext(ctx);
  vm.runInContext(`${code};
    const { tensor, softmax, sum, backward } = attnkit;
    const x = tensor([[1, 2, 3]]).requireGrad();
    const y = softmax(x, -1);
    backward(sum(y));
    globalThis.result = { rowSum: sum(y).item(), grad: Array.from(x.grad.data), hasProcess: typeof process };`, ctx);
  const res = ctx.result as { rowSum: number; grad: number[]; hasProcess: string };
  assert.equal(res.hasProcess, 'undefined');
  assert.ok(Math.abs(res.rowSum - 1) < 1e-6);
  assert.ok(res.grad.every((g) => Math.abs(g) < 1e-6)); // d(Σ softmax)/dx = 0
});

test('bundling fails when core code imports a Node built-in (the check can fail)', async () => {
  await assert.rejects(build({
    stdin: { contents: "import { readFileSync } from 'node:fs'; export const f = readFileSync;", resolveDir: 'src', loader: 'ts' },
    bundle: true, platform: 'browser', write: false, logLevel: 'silent',
  }));
});
