/**
 * Selecting and loading the wasm backend: what useBackend, loadWasmBackend, wasmInfo and
 * setNumThreads promise. Its kernels' values are checked by native.test.ts on the wasm pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ValueError, matmul, tensor } from '../../src/index.js';
import { backendName } from '../../src/backend/backend.js';
import { selectBackendFromEnv, setNumThreads, useBackend } from '../../src/backend/native/index.js';
import { loadWasmBackend, wasmInfo } from '../../src/backend/wasm/index.js';
import { wasmAddon, type WasmModule } from '../../src/backend/wasm/glue.js';
import { compiledKernels } from '../../src/backend/compiledBackend.js';

const wasmPass = process.env.ATTNKIT_BACKEND === 'wasm';

test("useBackend('wasm') before loadWasmBackend() has completed is a ValueError saying to await it", { skip: wasmInfo() !== null && 'the wasm backend is loaded in this pass' }, () => {
  assert.throws(() => useBackend('wasm'), (e: unknown) => e instanceof ValueError && /await loadWasmBackend\(\)/.test(e.message));
});

test('an unknown backend name is a ValueError naming it, from useBackend and from ATTNKIT_BACKEND', () => {
  const before = backendName();
  assert.throws(() => useBackend('gpu' as 'js'), (e: unknown) => e instanceof ValueError && /'native', 'wasm' or 'js', got "gpu"/.test(e.message));
  assert.throws(() => selectBackendFromEnv({ ATTNKIT_BACKEND: 'gpu' }), (e: unknown) => e instanceof ValueError && /ATTNKIT_BACKEND.*got "gpu"/.test(e.message));
  assert.equal(backendName(), before, 'a refused name leaves the backend as it was');
});

test('loadWasmBackend refuses an unknown option by name (a misspelt threads would load with every core)', async () => {
  await assert.rejects(loadWasmBackend({ thread: 1 } as never), (e: unknown) => e instanceof ValueError && /loadWasmBackend: unknown option 'thread' \(accepted: threads, url\)/.test(e.message));
});

test('loadWasmBackend refuses a thread count that is not a positive integer', async () => {
  for (const threads of [0, -1, 1.5, Number.NaN]) {
    await assert.rejects(loadWasmBackend({ threads }), (e: unknown) => e instanceof ValueError && /options\.threads must be a positive integer/.test(e.message));
  }
});

test('on the wasm pass: the backend is wasm, SIMD128, threaded in Node; loading again is the same load; setNumThreads applies up to the threads loaded', { skip: !wasmPass && 'wasm pass only' }, async () => {
  assert.equal(backendName(), 'wasm');
  const info = wasmInfo()!;
  assert.equal(info.simd, true);
  assert.equal(info.build, info.threads > 1 ? 'mt' : 'st');
  const loaded = info.threads;
  await loadWasmBackend({ threads: 1 });  // idempotent: the first load stays
  assert.deepEqual(wasmInfo(), info);
  try {
    setNumThreads(1);
    assert.equal(wasmInfo()!.threads, 1);
    setNumThreads(loaded + 5);
    assert.equal(wasmInfo()!.threads, loaded, 'capped at the threads the backend was loaded with');
  } finally {
    setNumThreads(loaded);
  }
  assert.deepEqual(Array.from(matmul(tensor([[1, 2], [3, 4]]), tensor([[5], [6]])).data), [17, 39]);
});

test('a kernel whose arrays do not fit in wasm memory (malloc returns 0) runs on the js kernel, not a RangeError', () => {
  // a stand-in for a build whose 4 GB memory is full: every allocation fails, no kernel export may run
  const full = new Proxy({ HEAPU8: new Uint8Array(64), _malloc: () => 0, _free: () => undefined } as unknown as WasmModule, {
    get: (m, key) => (key in m ? m[key as keyof WasmModule] : () => assert.fail(`${String(key)} was called`)),
  });
  const k = compiledKernels('wasm', wasmAddon(full, 1));
  const x = new Float32Array([1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(k.sumDim!(x, 2, 3, 1)), [6, 15]);
  const w = new Float32Array([1, 2]), m = new Float64Array(2), v = new Float64Array(2);  // the dtypes the compiled kernel takes
  k.adamUpdate!(w, new Float32Array([0.5, -0.5]), m, v, { lr: 0.1, b1: 0.9, b2: 0.999, c1: 0.1, c2: 0.001, eps: 1e-8, wd: 0, decoupled: true });
  assert.ok(Math.abs(w[0]! - 0.9) < 1e-6 && Math.abs(w[1]! - 2.1) < 1e-6, `adam moved the weights by the js rule: ${Array.from(w)}`);
});

const built = join(import.meta.dirname, '..', '..', 'wasm');
test('the threaded wasm build loads in Node where a global window exists too (jsdom-style test environments)', { skip: !existsSync(join(built, 'attnkit-mt.wasm')) && 'wasm/ is not built' }, async () => {
  // emscripten takes its Node branch (worker_threads, fs) whenever process.versions.node is set: the loader must give it require
  const g = globalThis as { window?: unknown };
  g.window = globalThis;
  try {
    type Built = WasmModule & { attnkitWorkers?: { unref(): void }[] };
    const mod = await import(`${pathToFileURL(join(built, 'attnkit-mt.mjs')).href}?window`) as { default: (o: object) => Promise<Built> };
    const m = await mod.default({ wasmBinary: readFileSync(join(built, 'attnkit-mt.wasm')), attnkitPool: 1 });
    for (const w of m.attnkitWorkers ?? []) w.unref();
    const k = compiledKernels('wasm', wasmAddon(m, 2));
    assert.deepEqual(Array.from(k.sumDim!(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3, 1)), [6, 15]);
  } finally {
    delete g.window;
  }
});

test("package.json marks the entries that select a backend at import as having side effects (bundlers keep their load)", () => {
  // with "sideEffects": false a bundler may bind `import { tensor } from 'attnkit/browser'` straight to the core and
  // drop the entry's body: webpack 5 (production) did, and the page never loaded the wasm backend
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { sideEffects: unknown; exports: Record<string, unknown> };
  assert.ok(Array.isArray(pkg.sideEffects), `sideEffects lists the files that have them, got ${JSON.stringify(pkg.sideEffects)}`);
  for (const entry of ['./dist/browser.js', './dist/node.js']) assert.ok(pkg.sideEffects.includes(entry), `${entry} is listed in sideEffects`);
  assert.ok(JSON.stringify(pkg.exports).includes('./dist/browser.js') && JSON.stringify(pkg.exports).includes('./dist/node.js'), 'the exports name those entries');
});
