/**
 * attnkit in a browser (the package's `./browser` export, and "." for bundlers without the `node`
 * condition): everything in the core, on the wasm backend when it loads (the native C++ kernels compiled
 * to WebAssembly: threads in a cross-origin-isolated page, one thread elsewhere), else on js. The wasm
 * files are found beside the package (`new URL('../wasm/…', import.meta.url)`); when a bundler moves this
 * module, serve the package's wasm/ folder and call `loadWasmBackend({ url })` yourself, then
 * `useBackend('wasm')`. To choose the build or the threads before anything loads, import `attnkit/core`
 * instead (the same exports, nothing loaded at import).
 *
 * @example
 * import { backendName, wasmInfo } from 'attnkit/browser';
 * backendName();   // 'wasm' (or 'js' where the wasm files could not be loaded)
 * wasmInfo();      // { threads: 8, simd: true, relaxed: true, build: 'mt', … } in a cross-origin-isolated Chromium page
 */
export * from './core.js';
import { loadWasmBackend, useBackend } from './backend/wasm/index.js';

try {
  await loadWasmBackend();
  useBackend('wasm');
} catch {
  // no wasm here (files not served, no WebAssembly SIMD): the js reference backend stays
}
