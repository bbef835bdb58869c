/**
 * The wasm backend: the native C++ kernels compiled to WebAssembly (SIMD128) by scripts/build-wasm.mjs
 * into the package's wasm/ folder, a single-threaded build and a pthreads build. Runs in browsers and in
 * Node wherever the C++ addon cannot be built. Core code (no Node built-in is imported): the browser entry
 * and the Node entry both use it.
 */
import { jsBackend, setBackend, type Backend } from '../backend.js';
import { compiledKernels } from '../compiledBackend.js';
import { ValueError, preview } from '../../errors.js';
import { checkOptions } from '../../config.js';
import { residentArrays, wasmAddon, type ResidentArrays, type WasmModule } from './glue.js';
import type { Addon } from '../native/kernelTable.js';

/** Options of {@link loadWasmBackend}. */
export interface WasmOptions {
  /**
   * Threads the kernels may use (default: the machine's cores, at most 16). More than one needs
   * SharedArrayBuffer: Node, or a cross-origin-isolated page; elsewhere the single-threaded build runs.
   */
  threads?: number;
  /**
   * Where the built files are: the URL of the folder holding attnkit-st.mjs / .wasm and attnkit-mt.mjs /
   * .wasm / .worker.js (the package's wasm/ folder; default: found from this module's own URL). Give it
   * when a bundler moves this module away from the package (serve node_modules/attnkit/wasm/ as static files);
   * in a page a relative url is resolved against the page's address, as fetch resolves it.
   */
  url?: string | URL;
  /**
   * Bytes of tensor data the threaded build may keep in wasm memory at once (default 512 MiB; 0: none).
   * Tensors made there (the outputs of ops and layers) are read and written by the kernels in place;
   * others are copied into wasm memory and back on each call. Wasm memory never shrinks, so this is
   * also about the most the page or process keeps for them once reached. The single-threaded build
   * copies every call (its memory is not shared, and growing it would invalidate every view).
   */
  residentBytes?: number;
}

interface Loaded { addon: Addon; kernels: Partial<Backend> & { name: string }; build: 'st' | 'mt'; maxThreads: number; resident: ResidentArrays | null }
let loaded: Loaded | null = null;
let loading: Promise<void> | null = null;

const MAX_THREADS = 16;
const DEFAULT_RESIDENT = 512 * 1024 * 1024;
const isNode = (): boolean => typeof globalThis.process === 'object' && typeof globalThis.process?.versions?.node === 'string';

/** The cores this process or page may use. */
async function cores(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  if (isNode()) {
    const os = await nodeBuiltin<{ availableParallelism?: () => number; cpus: () => unknown[] }>('os');
    return os.availableParallelism?.() ?? os.cpus().length;
  }
  return 1;
}

/** A Node built-in, by a name bundlers do not try to resolve for the browser. */
async function nodeBuiltin<T>(name: string): Promise<T> {
  const p = globalThis.process as unknown as { getBuiltinModule?: (m: string) => unknown };
  if (typeof p.getBuiltinModule === 'function') return p.getBuiltinModule(name) as T;
  return (await import(/* @vite-ignore */ /* webpackIgnore: true */ ['node', name].join(':'))) as T;
}

async function readBytes(url: URL): Promise<ArrayBuffer | Uint8Array> {
  if (url.protocol === 'file:' && isNode()) {
    const fs = await nodeBuiltin<{ promises: { readFile: (p: URL) => Promise<Uint8Array> } }>('fs');
    return fs.promises.readFile(url);
  }
  const res = await fetch(url);
  if (!res.ok) throw new ValueError(`loadWasmBackend: fetching ${url.href} gave HTTP ${res.status}`);
  return res.arrayBuffer();
}

/** Whether threads can run here: SharedArrayBuffer, and in a page cross-origin isolation. */
function threadsAllowed(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  return isNode() || (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

async function instantiate(options: WasmOptions): Promise<Loaded> {
  const want = options.threads ?? Math.min(await cores(), MAX_THREADS);
  const build = want > 1 && threadsAllowed() ? 'mt' : 'st';
  // a given url is resolved as fetch resolves it in a page (against the page's address), else against this module;
  // not `new URL(url, import.meta.url)`, which webpack takes for an asset to bundle ("Cannot find module '/attnkit-wasm/'")
  const page = (globalThis as { location?: { href?: string } }).location?.href;
  const base = options.url === undefined ? new URL('../../../wasm/', import.meta.url) : new URL(String(options.url), page ?? import.meta.url);
  const dir = base.href.endsWith('/') ? base : new URL(`${base.href}/`);
  const glue = new URL(`attnkit-${build}.mjs`, dir);
  const [factory, wasmBinary] = await Promise.all([
    import(/* @vite-ignore */ /* webpackIgnore: true */ glue.href).then((mod: { default: (o: object) => Promise<WasmModule & { attnkitWorkers?: { unref?: () => void }[] }> }) => mod.default),
    readBytes(new URL(`attnkit-${build}.wasm`, dir)),
  ]);
  const threads = build === 'mt' ? want : 1;
  const m = await factory({ wasmBinary, attnkitPool: threads - 1 });
  // the pool's workers must not keep a Node process alive once its work is done
  for (const w of m.attnkitWorkers ?? []) w.unref?.();
  const limit = options.residentBytes ?? DEFAULT_RESIDENT;
  const resident = build === 'mt' && limit > 0 ? residentArrays(m, limit) : null;
  const addon = wasmAddon(m, threads, resident);
  addon.setNumThreads(threads);
  // the buffer pool takes float32 arrays from wasm memory while this backend is active (backend.ts)
  const kernels = Object.assign(compiledKernels('wasm', addon), { f32Source: resident ?? undefined });
  return { addon, kernels, build, maxThreads: threads, resident };
}

/**
 * Loads the wasm backend (the pthreads build where threads can run and more than one is asked for,
 * the single-threaded build elsewhere). Idempotent: later calls return the first load's promise, whatever
 * their options. It does not select the backend: `useBackend('wasm')` does (the browser and Node entries
 * select it for you when it loads and nothing faster does).
 *
 * @example
 * import { loadWasmBackend, useBackend, wasmInfo } from 'attnkit/browser';
 * await loadWasmBackend({ threads: 2 });
 * useBackend('wasm');
 * wasmInfo();   // { threads: 2, simd: true, build: 'mt' } in Node or a cross-origin-isolated page
 */
export function loadWasmBackend(options: WasmOptions = {}): Promise<void> {
  try {
    checkOptions('loadWasmBackend', options, { threads: true, url: true, residentBytes: true });
  } catch (e) {
    return Promise.reject(e);
  }
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) {
    return Promise.reject(new ValueError(`loadWasmBackend: options.threads must be a positive integer, got ${preview(options.threads)}`));
  }
  const r = options.residentBytes;
  if (r !== undefined && (typeof r !== 'number' || !Number.isFinite(r) || r < 0)) {
    return Promise.reject(new ValueError(`loadWasmBackend: options.residentBytes must be a finite number ≥ 0, got ${preview(r)}`));
  }
  loading ??= instantiate(options).then((l) => {
    loaded = l;
  }, (e: unknown) => {
    loading = null;  // a failed load (a missing file) may be retried with another url
    throw e;
  });
  return loading;
}

/** What the wasm backend runs with, or null before {@link loadWasmBackend} has completed. */
export function wasmInfo(): { threads: number; simd: boolean; build: 'st' | 'mt'; residentBytes: number } | null {
  if (!loaded) return null;
  return { threads: loaded.addon.info().threads, simd: true, build: loaded.build, residentBytes: loaded.resident?.bytes ?? 0 };
}

/** The loaded build's kernels (for the Node entry's selection), or null. */
export function wasmKernels(): (Partial<Backend> & { name: string }) | null {
  return loaded?.kernels ?? null;
}

/** Sets the wasm thread pool's size, at most the threads it was loaded with (1 for the single-threaded build). */
export function setWasmThreads(n: number): void {
  loaded?.addon.setNumThreads(n);
}

/** Caps the instruction set of the wasm kernels ('generic' | 'simd128'); for tests. Returns the one now active, or null. */
export function setWasmIsa(isa: 'generic' | 'simd128'): string | null {
  return loaded?.addon.setIsa(isa) ?? null;
}

/** The loaded build as an `Addon` (the N-API addon's interface), or null; for tests. */
export function loadedWasmAddon(): Addon | null {
  return loaded?.addon ?? null;
}

/**
 * Selects the backend in a browser: 'wasm' (requires {@link loadWasmBackend} to have completed) or 'js'
 * (the reference). The native backend exists only under Node (the package's Node entry). Returns the
 * name of the backend now active.
 */
export function useBackend(name: 'native' | 'wasm' | 'js'): 'native' | 'wasm' | 'js' {
  if (name === 'js') {
    setBackend(jsBackend);
    return 'js';
  }
  if (name === 'wasm') {
    if (!loaded) throw new ValueError("useBackend: the wasm backend is not loaded yet: await loadWasmBackend() before useBackend('wasm')");
    setBackend(loaded.kernels);
    return 'wasm';
  }
  if (name === 'native') throw new ValueError("useBackend: the native backend runs only under Node (the package's Node entry); here use 'wasm' or 'js'");
  throw new ValueError(`useBackend: name must be 'native', 'wasm' or 'js', got ${preview(name)}`);
}
