/**
 * Selecting and loading the wasm backend: what useBackend, loadWasmBackend, wasmInfo and
 * setNumThreads promise. Its kernels' values are checked by native.test.ts on the wasm pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ValueError, bufferPoolStats, matmul, randn, tensor } from '../../src/index.js';
import { backendName } from '../../src/backend/backend.js';
import { selectBackendFromEnv, setNumThreads, useBackend } from '../../src/backend/native/index.js';
import { loadWasmBackend, wasmInfo } from '../../src/backend/wasm/index.js';
import { residentArrays, wasmAddon, type WasmModule } from '../../src/backend/wasm/glue.js';
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
  await assert.rejects(loadWasmBackend({ thread: 1 } as never), (e: unknown) => e instanceof ValueError && /loadWasmBackend: unknown option 'thread' \(accepted: threads, url, residentBytes, relaxed\)/.test(e.message));
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
  // src/browser.ts too: the viewer's page is bundled from it (scripts/build-viz.mjs, attnkit inspect), and esbuild dropped
  // its load at import once its exports were all re-exports (the page ran on js)
  for (const entry of ['./dist/browser.js', './dist/node.js', './src/browser.ts', './src/node.ts']) assert.ok(pkg.sideEffects.includes(entry), `${entry} is listed in sideEffects`);
  assert.ok(JSON.stringify(pkg.exports).includes('./dist/browser.js') && JSON.stringify(pkg.exports).includes('./dist/node.js'), 'the exports name those entries');
});

/** A stand-in for the threaded build: shared memory, a bump allocator that counts calls, and one kernel (sumDim) in js. */
function fakeThreadedBuild(): { m: WasmModule; mallocs: number[]; frees: number[] } {
  const sab = new SharedArrayBuffer(1 << 20);
  const f32 = new Float32Array(sab);
  let top = 1024;
  const mallocs: number[] = [], frees: number[] = [];
  const m = {
    HEAPU8: new Uint8Array(sab),
    wasmMemory: { buffer: sab },
    _malloc: (n: number) => { const p = top; top += (n + 15) & ~15; mallocs.push(n); return top > sab.byteLength ? 0 : p; },
    _free: (p: number) => void frees.push(p),
    _memset: (p: number, v: number, n: number) => { new Uint8Array(sab, p, n).fill(v); return p; },
    _ak_sumDim: (x: number, out: number, outer: number, n: number, inner: number) => {
      for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += f32[x / 4 + (o * n + j) * inner + i]!;
        f32[out / 4 + o * inner + i] = s;
      }
      return 0;
    },
  } as unknown as WasmModule;
  return { m, mallocs, frees };
}

test('resident arrays (in the threaded build\'s memory) reach kernels in place, without a copy; other arrays are copied in and out; at most the cap is out', () => {
  const { m, mallocs, frees } = fakeThreadedBuild();
  const resident = residentArrays(m, 64);
  const addon = wasmAddon(m, 1, resident);
  const x = resident.alloc(6)!, out = resident.alloc(2)!;
  x.set([1, 2, 3, 4, 5, 6]);
  assert.equal(resident.pointer(x), x.byteOffset);
  assert.equal(resident.bytes, 32);
  const before = mallocs.length;
  addon.sumDim(x, out, 2, 3, 1);
  assert.deepEqual(Array.from(out), [6, 15]);
  assert.equal(mallocs.length, before, 'no staging allocation for arrays already in wasm memory');
  // an ordinary array: copied in, result copied back, staging freed
  const y = new Float32Array([1, 1, 1, 2, 2, 2]), yOut = new Float32Array(2);
  assert.equal(resident.pointer(y), -1);
  addon.sumDim(y, yOut, 2, 3, 1);
  assert.deepEqual(Array.from(yOut), [3, 6]);
  assert.equal(mallocs.length, before + 2);
  assert.equal(frees.length, 2);
  // the cap: 64 bytes, 32 out
  assert.equal(resident.alloc(9), null, '36 more bytes would pass the cap');
  const z = resident.alloc(8)!;
  assert.equal(resident.bytes, 64);
  resident.free(z);
  resident.free(z);  // a second free of the same array is ignored
  assert.equal(resident.bytes, 32);
  assert.deepEqual(frees.slice(2), [z.byteOffset]);
});

test('on the wasm pass: op outputs live in wasm memory, and a loop that disposes reuses them instead of growing it', { skip: !wasmPass && 'wasm pass only' }, () => {
  const x = randn([256, 256]);
  const first = matmul(x, x);
  assert.ok(first.data.buffer instanceof SharedArrayBuffer, 'a 256 KiB matmul output comes from wasm memory');
  first.dispose();
  const out0 = wasmInfo()!.residentBytes;
  const reused0 = bufferPoolStats().reused;
  for (let i = 0; i < 20; i++) matmul(x, x).dispose();
  assert.equal(wasmInfo()!.residentBytes, out0, 'no new resident arrays: each output reuses the disposed one');
  assert.ok(bufferPoolStats().reused >= reused0 + 20);
  const ref = matmul(tensor(Float32Array.from(x.data), { shape: [256, 256] }), x);  // an ordinary array: copied in
  assert.deepEqual(Array.from(matmul(x, x).data), Array.from(ref.data));
});

test('resident arrays whose tensors are never disposed go back to wasm memory when the garbage collector takes them', { skip: !existsSync(join(built, 'attnkit-mt.wasm')) && 'wasm/ is not built' }, () => {
  // a child with --expose-gc: 40 products of 256 KiB never disposed, dropped, collected; then an await for the finalizers
  const script = `
    import * as ak from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '..', '..', 'src', 'node.ts')).href)};
    await ak.loadWasmBackend({ threads: 2 });
    ak.useBackend('wasm');
    const x = ak.randn([256, 256]);
    const base = ak.wasmInfo().residentBytes;
    for (let i = 0; i < 40; i++) ak.matmul(x, x);
    const grown = ak.wasmInfo().residentBytes;
    for (let i = 0; i < 5 && ak.wasmInfo().residentBytes > base + (1 << 20); i++) {
      globalThis.gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    console.log(JSON.stringify({ base, grown, after: ak.wasmInfo().residentBytes }));`;
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
    { env: { ...process.env, ATTNKIT_BACKEND: 'wasm' }, encoding: 'utf8' });
  const { base, grown, after } = JSON.parse(out.trim().split('\n').pop()!) as { base: number; grown: number; after: number };
  assert.ok(grown >= base + 40 * 256 * 1024, `40 outputs in wasm memory: ${base} -> ${grown}`);
  assert.ok(after <= base + (1 << 20), `freed after collection: ${after} bytes out, ${base} before the loop`);
});
