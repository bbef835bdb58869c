/**
 * attnkit without a backend chosen at import (the package's `./core` export): everything in
 * `attnkit/browser`, whose import loads the wasm backend with default options, but nothing loads until
 * you call {@link loadWasmBackend}. For a page that picks the wasm build itself (the plain SIMD128 one,
 * `relaxed: false`, for the same bits on every engine and CPU), a thread count, or where the files are.
 * Until it loads, the js reference backend runs. This is the browser's core: under Node, import `attnkit`
 * (its entry also has the native backend, `initBackend`, `nativeInfo`…).
 *
 * @example
 * import { loadWasmBackend, useBackend, wasmInfo } from 'attnkit/core';
 * await loadWasmBackend({ relaxed: false, url: '/attnkit-wasm/' });
 * useBackend('wasm');
 * wasmInfo();      // { threads: 8, simd: true, relaxed: false, build: 'mt', … } in a cross-origin-isolated page
 */
export * from './index.js';
export { loadWasmBackend, wasmInfo, useBackend } from './backend/wasm/index.js';
/** Sets the wasm thread pool's size, at most the threads it was loaded with (the Node entry's setNumThreads also sizes the native pool). */
export { setWasmThreads as setNumThreads } from './backend/wasm/index.js';
export type { WasmOptions } from './backend/wasm/index.js';
export { backendName } from './backend/backend.js';
