/**
 * attnkit for Node.js: everything in the core, on the native backend when its addon loads, else on the
 * wasm backend (the same C++ compiled to WebAssembly, shipped in the package), else on js (choose with
 * ATTNKIT_BACKEND=js|native|wasm, threads with ATTNKIT_NUM_THREADS or setNumThreads). This is the
 * package's entry under Node; browsers get `attnkit/browser` (the core on wasm or js).
 */
export * from './index.js';
/** `data` with the Node-only readers (readRecords, streamRecords) and dataset adapters (spamAssassin, cpsWages, penguins). */
export * as data from './dataNode.js';
export { useBackend, selectBackendFromEnv, initBackend, nativeInfo, setNumThreads, setNativeIsa, backendName } from './backend/native/index.js';
export { loadWasmBackend, wasmInfo } from './backend/wasm/index.js';
export type { WasmOptions } from './backend/wasm/index.js';
import { initBackend } from './backend/native/index.js';

await initBackend();
