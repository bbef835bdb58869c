/**
 * The wasm backend: the native C++ kernels compiled to WebAssembly (SIMD128) by scripts/build-wasm.mjs
 * into the package's wasm/ folder, a single-threaded build and a pthreads build, each also with relaxed
 * SIMD's fused multiply-add (the -rx builds, chosen where the engine has it). Runs in browsers and in
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
  /**
   * Relaxed SIMD's fused multiply-add (f32x4.relaxed_madd) in the kernels' matrix products and
   * polynomials. Default: used where the engine has it (V8 ≥ 11.4: Chromium-based browsers ≥ 114, Node ≥ 22),
   * 1.0–1.2× faster there (attention, matmul, a training step: docs/backends.md); the plain SIMD128 build elsewhere. `false`: the plain build
   * everywhere, whose results are the same bits on every engine and CPU (relaxed_madd rounds once where
   * the CPU has FMA, twice where it has not). `true`: relaxed SIMD or a ValueError; in Node 20, whose
   * V8 has it behind a flag, this turns the flag on (`--experimental-wasm-relaxed-simd`).
   * Node: ATTNKIT_WASM_RELAXED=1 | 0 sets it.
   */
  relaxed?: boolean;
}

type Build = 'st' | 'mt';
interface Loaded { addon: Addon; kernels: Partial<Backend> & { name: string }; build: Build; relaxed: boolean; maxThreads: number; resident: ResidentArrays | null }
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

/**
 * A module of one function returning f32x4.relaxed_madd of three v128.const zeros: it validates where the
 * engine has relaxed SIMD.
 */
const RELAXED_PROBE = (() => {
  const zero = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
  const body = [0x00, ...zero, ...zero, ...zero, 0xfd, 0x85, 0x02, 0x0b];
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,          // type 0: () → v128
    0x03, 0x02, 0x01, 0x00,                            // function 0 has type 0
    0x0a, body.length + 2, 0x01, body.length, ...body]);
})();

/** Whether this engine's WebAssembly has relaxed SIMD. */
export function hasRelaxedSimd(): boolean {
  // core code is typed without the DOM and Node libraries: WebAssembly is reached through globalThis
  const wasm = (globalThis as { WebAssembly?: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
  try {
    return wasm?.validate(RELAXED_PROBE) ?? false;
  } catch {
    return false;
  }
}

/** Whether to load a relaxed-SIMD build, by options.relaxed (see {@link WasmOptions.relaxed}). */
async function useRelaxed(relaxed: boolean | undefined): Promise<boolean> {
  if (relaxed === false) return false;
  if (hasRelaxedSimd()) return true;
  if (relaxed === undefined) return false;
  if (isNode()) {
    // Node 20's V8 (11.3) has relaxed SIMD behind a flag; wasm features are read when a module is compiled
    (await nodeBuiltin<{ setFlagsFromString: (f: string) => void }>('v8')).setFlagsFromString('--experimental-wasm-relaxed-simd');
    if (hasRelaxedSimd()) return true;
  }
  const engine = isNode() ? `Node ${globalThis.process.versions.node}` : 'this browser';
  throw new ValueError(`loadWasmBackend: options.relaxed is true, but the WebAssembly of ${engine} has no relaxed SIMD; leave it unset to use the plain SIMD128 build`);
}

/** An emscripten glue module's factory: the module, with the pthread pool's workers (mt builds). */
type WasmFactory = (o: object) => Promise<WasmModule & { attnkitWorkers?: { unref?: () => void }[] }>;

/** The factory of build `name`'s glue module and its wasm bytes. */
async function fetchBuild(dir: URL, name: string): Promise<[WasmFactory, ArrayBuffer | Uint8Array]> {
  const glue = new URL(`attnkit-${name}.mjs`, dir);
  return Promise.all([
    import(/* @vite-ignore */ /* webpackIgnore: true */ glue.href).then((mod: { default: WasmFactory }) => mod.default),
    readBytes(new URL(`attnkit-${name}.wasm`, dir)),
  ]);
}

async function instantiate(options: WasmOptions): Promise<Loaded> {
  const want = options.threads ?? Math.min(await cores(), MAX_THREADS);
  const build: Build = want > 1 && threadsAllowed() ? 'mt' : 'st';
  let relaxed = await useRelaxed(options.relaxed);
  // a given url is resolved as fetch resolves it in a page (against the page's address), else against this module;
  // not `new URL(url, import.meta.url)`, which webpack takes for an asset to bundle ("Cannot find module '/attnkit-wasm/'")
  const page = (globalThis as { location?: { href?: string } }).location?.href;
  const base = options.url === undefined ? new URL('../../../wasm/', import.meta.url) : new URL(String(options.url), page ?? import.meta.url);
  const dir = base.href.endsWith('/') ? base : new URL(`${base.href}/`);
  let files;
  try {
    files = await fetchBuild(dir, relaxed ? `${build}-rx` : build);
  } catch (e) {
    // a folder copied from an older attnkit has no -rx files: the plain build still runs (if it is there too:
    // else its error, as without relaxed SIMD)
    if (!relaxed || options.relaxed === true) throw e;
    files = await fetchBuild(dir, build);
    console.warn(`attnkit: the relaxed-SIMD build attnkit-${build}-rx was not found beside attnkit-${build} in ${dir.href} (${e instanceof Error ? e.message : String(e)}); loading the plain SIMD128 build`);
    relaxed = false;
  }
  const [factory, wasmBinary] = files;
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
  return { addon, kernels, build, relaxed, maxThreads: threads, resident };
}

/**
 * Loads the wasm backend (the pthreads build where threads can run and more than one is asked for,
 * the single-threaded build elsewhere). Idempotent: later calls return the first load's promise, whatever
 * their threads, url and residentBytes; a `relaxed` that differs from the build loaded is a ValueError. It does not select the backend: `useBackend('wasm')` does (the browser and Node entries
 * select it for you when it loads and nothing faster does).
 *
 * @example
 * import { loadWasmBackend, useBackend, wasmInfo } from 'attnkit/browser';
 * await loadWasmBackend({ threads: 2 });
 * useBackend('wasm');
 * wasmInfo();   // { threads: 2, simd: true, relaxed: true, build: 'mt', … } in Node 22 or a cross-origin-isolated Chromium page
 */
export function loadWasmBackend(options: WasmOptions = {}): Promise<void> {
  try {
    checkOptions('loadWasmBackend', options, { threads: true, url: true, residentBytes: true, relaxed: true });
  } catch (e) {
    return Promise.reject(e);
  }
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) {
    return Promise.reject(new ValueError(`loadWasmBackend: options.threads must be a positive integer, got ${preview(options.threads)}`));
  }
  if (options.relaxed !== undefined && typeof options.relaxed !== 'boolean') {
    return Promise.reject(new ValueError(`loadWasmBackend: options.relaxed must be true or false, got ${preview(options.relaxed)}`));
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
  // a build asked for explicitly must be the one loaded: the reason to ask is its results' bits
  const asked = options.relaxed;
  if (asked === undefined) return loading;
  return loading.then(() => {
    if (loaded && loaded.relaxed !== asked) {
      throw new ValueError(`loadWasmBackend: options.relaxed is ${asked}, but the wasm backend is already loaded with its ${loaded.relaxed ? 'relaxed-SIMD' : 'plain SIMD128'} build (attnkit/browser and the Node entry load it at import): choose before it loads, from attnkit/core or with ATTNKIT_WASM_RELAXED`);
    }
  });
}

/**
 * What the wasm backend runs with, or null before {@link loadWasmBackend} has completed: its threads, the
 * build ('mt' with threads, 'st' without), whether it is the relaxed-SIMD build (fused multiply-adds), and
 * the bytes of tensor data it keeps in wasm memory.
 */
export function wasmInfo(): { threads: number; simd: boolean; relaxed: boolean; build: Build; residentBytes: number } | null {
  if (!loaded) return null;
  return { threads: loaded.addon.info().threads, simd: true, relaxed: loaded.relaxed, build: loaded.build, residentBytes: loaded.resident?.bytes ?? 0 };
}

/** The loaded build's kernels (for the Node entry's selection), or null. */
export function wasmKernels(): (Partial<Backend> & { name: string }) | null {
  return loaded?.kernels ?? null;
}

/** Sets the wasm thread pool's size, at most the threads it was loaded with (1 for the single-threaded build). */
export function setWasmThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`setNumThreads: n must be a positive integer, got ${preview(n)}`);
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
