/**
 * Selecting and loading the wasm backend: what useBackend, loadWasmBackend, wasmInfo and
 * setNumThreads promise. Its kernels' values are checked by native.test.ts on the wasm pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValueError, matmul, tensor } from '../../src/index.js';
import { backendName } from '../../src/backend/backend.js';
import { selectBackendFromEnv, setNumThreads, useBackend } from '../../src/backend/native/index.js';
import { loadWasmBackend, wasmInfo } from '../../src/backend/wasm/index.js';

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
