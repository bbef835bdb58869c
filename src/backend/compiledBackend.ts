/**
 * What the native and wasm backends share: a compiled `Addon` (the N-API addon, or the WebAssembly
 * build's glue) becomes a backend through the kernel table's ADAPTERS (native/adapters.ts), each kernel falling back to the
 * js kernel where it does not apply (float64 gradchecks, unsupported ops or layouts). Neutral: no
 * Node built-in, so the browser entry uses it too.
 */
import { jsBackend, type Backend } from './backend.js';
import { ENUMS, KERNELS, type Addon, type ArgDef, type KernelDef, type KernelName, type LooseAddon } from './native/kernelTable.js';
import { ADAPTERS, FALLBACK, type NativeKernelName } from './native/adapters.js';

/** Why a call goes to the js kernel: a buffer of another dtype (float64 gradchecks) or an enum member C++ lacks. */
const checks: Partial<Record<ArgDef['kind'], (v: unknown, d: ArgDef) => unknown>> = {
  f32in: (v, d) => (v instanceof Float32Array || (v === null && 'nullable' in d && d.nullable) ? v : fallback()),
  f64in: (v, d) => (v instanceof Float64Array || (v === null && 'nullable' in d && d.nullable) ? v : fallback()),
  i32in: (v, d) => (v instanceof Int32Array || (v === null && 'nullable' in d && d.nullable) ? v : fallback()),
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

const fallbacks: Record<string, number> = Object.create(null) as Record<string, number>;

/**
 * How many calls of each kernel a compiled backend handed to the js kernel since the process
 * started (an argument the compiled kernel does not take: float64 data, non-finite values where
 * a kernel needs the reference's handling…). A diagnostic: the results agree within float
 * tolerance, not bitwise (the js kernel rounds differently), and come slower.
 */
export function compiledFallbacks(): Readonly<Record<string, number>> {
  return fallbacks;
}

/** A compiled backend named `name`: each table kernel with an adapter, falling back to the js kernel where it does not apply. */
export function compiledKernels(name: 'native' | 'wasm', a: Addon): Partial<Backend> & { name: string } {
  const k = marshal(a);
  const kernels: Record<string, unknown> = { name };
  for (const kernel of Object.keys(ADAPTERS) as NativeKernelName[]) {
    const adapt = ADAPTERS[kernel] as (k: LooseAddon, ...xs: unknown[]) => unknown;
    const js = jsBackend[kernel] as (...xs: unknown[]) => unknown;
    kernels[kernel] = (...xs: unknown[]) => {
      try {
        const r = adapt(k, ...xs);
        if (r !== FALLBACK) return r;
      } catch (e) {
        if (e !== FALLBACK) throw e;
      }
      fallbacks[kernel] = (fallbacks[kernel] ?? 0) + 1;
      return js(...xs);
    };
  }
  return kernels as Partial<Backend> & { name: string };
}
