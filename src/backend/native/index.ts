/**
 * The native backend (Node only): the C++ addon built by node-gyp at install, wrapped so
 * each kernel runs natively on float32 buffers and falls back to the js kernel otherwise
 * (float64 gradchecks, unsupported ops or layouts). Buffers are passed without copies.
 * The kernels, their arguments and their adapters are one table (kernelTable.ts); this file
 * only loads the addon and applies the table. A WebAssembly build of the same C++ would give
 * another `Addon` to the same `nativeKernels`.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { jsBackend, setBackend, backend, type Backend } from '../backend.js';
import { ValueError } from '../../errors.js';
import {
  ADAPTERS, ENUMS, FALLBACK, KERNELS, type Addon, type ArgDef, type KernelDef, type KernelName, type LooseAddon, type NativeKernelName,
} from './kernelTable.js';

export type { NativeKernelName } from './kernelTable.js';

let addon: Addon | null = null;
let loadError: string | null = null;

/** Path of the compiled addon beside the package (build/Release after `npm install`). */
function addonPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'build', 'Release', 'attnkit_native.node');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return join(dir, 'build', 'Release', 'attnkit_native.node');
}

function load(): Addon | null {
  if (addon || loadError) return addon;
  try {
    addon = createRequire(import.meta.url)(addonPath()) as Addon;
  } catch (e) {
    loadError = (e as Error).message.split('\n')[0];
  }
  return addon;
}

/** Why a call goes to the js kernel: a buffer of another dtype (float64 gradchecks) or an enum member C++ lacks. */
const checks: Partial<Record<ArgDef['kind'], (v: unknown, d: ArgDef) => unknown>> = {
  f32in: (v, d) => (v instanceof Float32Array || (v === null && 'nullable' in d && d.nullable) ? v : fallback()),
  f64in: (v) => (v instanceof Float64Array ? v : fallback()),
  i32in: (v) => (v instanceof Int32Array ? v : fallback()),
  anyin: (v, d) => (v instanceof Float32Array || v instanceof Uint8Array || (v === null && 'nullable' in d && d.nullable) ? v : fallback()),
};
checks.f32out = checks.f32inout = checks.f32in;
checks.f64inout = checks.f64in;
checks.i32out = checks.i32in;
const codes = new Map(Object.entries(ENUMS).map(([e, names]) => [e, new Map((names as readonly string[]).map((n, i) => [n, i]))]));
checks.enum = (v, d) => codes.get((d as Extract<ArgDef, { kind: 'enum' }>).enum)?.get(v as string) ?? fallback();
function fallback(): never {
  throw FALLBACK;
}

/**
 * The one marshalling layer: each kernel of the table as adapters call it, its arguments checked
 * (and enums coded) by their kinds in the table before the addon is called.
 */
function marshal(a: Addon): LooseAddon {
  const out: Record<string, (...xs: unknown[]) => unknown> = {};
  for (const [name, def] of Object.entries(KERNELS) as [KernelName, KernelDef][]) {
    const fn = a[name] as (...xs: unknown[]) => unknown;
    const passed = def.args.filter((d) => d.kind !== 'len');
    const checked = passed.flatMap((d, i) => (checks[d.kind] ? [[i, checks[d.kind]!, d] as const] : []));
    out[name] = (...xs) => {
      for (const [i, check, d] of checked) xs[i] = check(xs[i], d);
      return fn(...xs);
    };
  }
  return out as LooseAddon;
}

/** Kernels of the native backend: each table kernel with an adapter, falling back to the js kernel where it does not apply. */
function nativeKernels(a: Addon): Partial<Backend> & { name: string } {
  const k = marshal(a);
  const kernels: Record<string, unknown> = { name: 'native' };
  for (const name of Object.keys(ADAPTERS) as NativeKernelName[]) {
    const adapt = ADAPTERS[name] as (k: LooseAddon, ...xs: unknown[]) => unknown;
    const js = jsBackend[name] as (...xs: unknown[]) => unknown;
    kernels[name] = (...xs: unknown[]) => {
      try {
        const r = adapt(k, ...xs);
        if (r !== FALLBACK) return r;
      } catch (e) {
        if (e !== FALLBACK) throw e;
      }
      return js(...xs);
    };
  }
  return kernels as Partial<Backend> & { name: string };
}

let warned = false;

/**
 * Selects the backend: 'native' (the C++ addon; falls back to 'js' with one warning when it
 * cannot be loaded) or 'js'. Returns the name of the backend now active.
 */
export function useBackend(name: 'native' | 'js'): 'native' | 'js' {
  if (name !== 'native' && name !== 'js') throw new ValueError(`useBackend: name must be 'native' or 'js', got '${String(name)}'`);
  if (name === 'js') {
    setBackend(jsBackend);
    return 'js';
  }
  const a = load();
  if (!a) {
    if (!warned) {
      warned = true;
      console.warn(`attnkit: the native backend could not be loaded (${loadError}); running on the js backend`);
    }
    setBackend(jsBackend);
    return 'js';
  }
  setBackend(nativeKernels(a));
  return 'native';
}

/** Applies ATTNKIT_BACKEND (js | native, default native) and ATTNKIT_NUM_THREADS. */
export function selectBackendFromEnv(env: Record<string, string | undefined> = process.env): 'native' | 'js' {
  const want = env.ATTNKIT_BACKEND ?? 'native';
  if (want !== 'js' && want !== 'native') throw new ValueError(`ATTNKIT_BACKEND must be 'js' or 'native', got '${want}'`);
  return useBackend(want);
}

/** What the native addon runs with, or null when it is not loaded. */
export function nativeInfo(): { isa: string; bestIsa: string; threads: number } | null {
  return load()?.info() ?? null;
}

/** Sets the native thread pool's size (the default is the machine's cores, or ATTNKIT_NUM_THREADS). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`setNumThreads: n must be a positive integer, got ${n}`);
  load()?.setNumThreads(n);
}

/** Caps the instruction set the native kernels use ('generic' | 'avx2' | 'avx512'); for tests and benchmarks. */
export function setNativeIsa(isa: 'generic' | 'avx2' | 'avx512'): string | null {
  return load()?.setIsa(isa) ?? null;
}

/** The active backend's name. */
export function backendName(): string {
  return backend().name;
}
