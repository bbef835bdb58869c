/**
 * The native backend (Node only): the C++ addon built by node-gyp at install, wrapped so
 * each kernel runs natively on float32 buffers and falls back to the js kernel otherwise
 * (float64 gradchecks, unsupported ops or layouts). Buffers are passed without copies.
 * The kernels and their arguments are one table (kernelTable.ts), their adapters adapters.ts; this file
 * only loads the addon and applies the table (compiledKernels), as backend/wasm does for the
 * WebAssembly build of the same C++. It also holds the Node entry's selection: native, else wasm, else js.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { jsBackend, setBackend } from '../backend.js';
import { compiledKernels } from '../compiledBackend.js';
import { ValueError, preview } from '../../errors.js';
import { loadWasmBackend, setWasmThreads, useBackend as useBrowserBackend, wasmKernels } from '../wasm/index.js';
import type { Addon } from './kernelTable.js';

export type { NativeKernelName } from './adapters.js';

let addon: Addon | null = null;
let loadError: string | null = null;
/** Whether the addon file exists: absent, the install's build failed and said so; present, it did not load. */
let built = false;

/** Path of the compiled addon beside the package (build/Release after `npm install`). */
function addonPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'build', 'Release', 'attnkit_native.node');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  const p = join(dir, 'build', 'Release', 'attnkit_native.node');
  // not built: the load error names the package's own place (src/ and dist/backend/native/ are three
  // levels below its root), not a folder of the project that installed it
  return existsSync(p) ? p : fileURLToPath(new URL('../../../build/Release/attnkit_native.node', import.meta.url));
}

function load(): Addon | null {
  if (addon || loadError) return addon;
  const path = addonPath();
  built = existsSync(path);
  try {
    addon = createRequire(import.meta.url)(path) as Addon;
  } catch (e) {
    loadError = (e as Error).message.split('\n')[0];
  }
  return addon;
}

let warned = false;

/**
 * Selects the backend: 'native' (the C++ addon), 'wasm' (requires `loadWasmBackend()` to have
 * completed) or 'js'. When the addon cannot be loaded, 'native' lands on wasm if it is loaded, else on
 * js, and says so once per process (npm shows a dependency's install output only when the install
 * fails, so this may be the first word of it); `ATTNKIT_BACKEND=wasm` chooses wasm without the notice.
 * Returns the name of the backend now active.
 */
export function useBackend(name: 'native' | 'wasm' | 'js'): 'native' | 'wasm' | 'js' {
  if (name !== 'native') return useBrowserBackend(name);
  const a = load();
  if (a) {
    setBackend(compiledKernels('native', a));
    return 'native';
  }
  const wasm = wasmKernels();
  if (!warned) {
    warned = true;
    const why = built ? `the native addon does not load: ${loadError}`
      : 'the native addon was not built at install (no C++ compiler, or npm skipped its install script: `npm install-scripts approve attnkit && npm rebuild attnkit` builds it)';
    console.warn(`attnkit: running on the ${wasm ? 'wasm' : 'js'} backend: ${why}. ATTNKIT_BACKEND=${wasm ? 'wasm' : 'js'} chooses it without this notice.`);
  }
  if (!wasm) {
    setBackend(jsBackend);
    return 'js';
  }
  setBackend(wasm);
  return 'wasm';
}

type BackendChoice = 'native' | 'wasm' | 'js';
function wanted(env: Record<string, string | undefined>): BackendChoice | undefined {
  const want = env.ATTNKIT_BACKEND;
  if (want === undefined || want === '') return undefined;
  if (want !== 'js' && want !== 'native' && want !== 'wasm') throw new ValueError(`ATTNKIT_BACKEND must be 'js', 'native' or 'wasm', got ${preview(want)}`);
  return want;
}
/** ATTNKIT_WASM_RELAXED: 1 requires the relaxed-SIMD wasm build, 0 forbids it, unset chooses by the engine. */
export const envRelaxed = (env: Record<string, string | undefined>): boolean | undefined => {
  const v = env.ATTNKIT_WASM_RELAXED;
  if (v === undefined || v === '') return undefined;
  if (v !== '0' && v !== '1') throw new ValueError(`ATTNKIT_WASM_RELAXED must be '1' (the relaxed-SIMD build) or '0' (the plain SIMD128 build), got ${preview(v)}`);
  return v === '1';
};
const envThreads = (env: Record<string, string | undefined>): number | undefined => {
  const n = Number(env.ATTNKIT_NUM_THREADS);
  return Number.isInteger(n) && n > 0 ? n : undefined;
};

/**
 * Applies ATTNKIT_BACKEND (js | native | wasm; default native) and returns the backend now active.
 * Synchronous: 'wasm' needs the wasm backend loaded (see {@link initBackend}).
 */
export function selectBackendFromEnv(env: Record<string, string | undefined> = process.env): BackendChoice {
  const want = wanted(env);
  if (want === 'native') requireNative();
  return useBackend(want ?? 'native');
}

/** ATTNKIT_BACKEND=native forces the addon: where it is missing or broken, a ValueError saying why, not a fallback. */
function requireNative(): void {
  if (load()) return;
  throw new ValueError(`ATTNKIT_BACKEND=native: the native addon ${built ? 'does not load' : 'was not built at install'} (${loadError}); unset ATTNKIT_BACKEND to run on the wasm backend, or build it with a C++ compiler (npm rebuild attnkit; in a clone, npm run build:native)`);
}

/**
 * The Node entry's selection: native where the addon loads; otherwise wasm (loaded here, with
 * ATTNKIT_NUM_THREADS threads or the machine's cores, and ATTNKIT_WASM_RELAXED: see WasmOptions.relaxed);
 * js last. ATTNKIT_BACKEND=js|native|wasm forces one.
 */
export async function initBackend(env: Record<string, string | undefined> = process.env): Promise<BackendChoice> {
  const want = wanted(env);
  const relaxed = envRelaxed(env);
  if (want === 'native') requireNative();
  if (want === 'wasm' || (want !== 'js' && !load())) {
    try {
      await loadWasmBackend({ threads: envThreads(env), relaxed });
    } catch (e) {
      if (want === 'wasm' || relaxed === true) throw e;  // asked for: an error, not a run on js
    }
  }
  return selectBackendFromEnv(env);
}

/**
 * What the native addon runs with, or null when it is not loaded. `malloc` is 'retain' when the addon
 * set glibc to keep freed memory for reuse (the default on glibc: fresh pages fault on first touch, which
 * cost up to half of an op's time), 'system' when it left glibc's defaults (ATTNKIT_MALLOC=system, any
 * MALLOC_*_ or GLIBC_TUNABLES variable, or another C library).
 */
export function nativeInfo(): { isa: string; bestIsa: string; threads: number; malloc?: string } | null {
  return load()?.info() ?? null;
}

/**
 * Sets the thread pools' size (the default is the machine's cores, or ATTNKIT_NUM_THREADS): the native
 * addon's, and the wasm backend's up to the threads it was loaded with.
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`setNumThreads: n must be a positive integer, got ${n}`);
  load()?.setNumThreads(n);
  setWasmThreads(n);
}

/** Caps the instruction set the native kernels use ('generic' | 'avx2' | 'avx512'); for tests and benchmarks. */
export function setNativeIsa(isa: 'generic' | 'avx2' | 'avx512'): string | null {
  return load()?.setIsa(isa) ?? null;
}

export { backendName } from '../backend.js';
