/**
 * The WebAssembly build as an `Addon`: the same call interface as the N-API addon, built from the kernel
 * table, so `compiledKernels` and the table's ADAPTERS make the wasm backend as they make the native one.
 * Each call copies its typed-array arguments into wasm memory (one copy per distinct array: packed
 * attention passes one buffer as q, k and v), calls the kernel's export `ak_<kernel>` with the table's
 * one flattening rule (scripts/gen-kernels.mjs, `wasmExports`), copies the written arrays back and frees.
 * Arguments are checked by kind as the addon checks them, with its TypeError messages. When an array does
 * not fit in wasm memory the call throws FALLBACK before anything is written, and the js kernel runs it.
 */
import type { AnyArray } from '../buffers.js';
import type { F32Source } from '../pool.js';
import { FALLBACK } from '../native/adapters.js';
import { ENUMS, KERNELS, STRUCTS, type Addon, type ArgDef, type KernelDef, type KernelName, type StructName } from '../native/kernelTable.js';

/** The parts of the emscripten module the glue uses. */
export interface WasmModule {
  HEAPU8: Uint8Array;
  /** Set in the pthreads build, whose memory other threads may grow. */
  wasmMemory?: { buffer: ArrayBufferLike };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _memset(ptr: number, value: number, bytes: number): number;
  _ak_threads(): number;
  _ak_set_num_threads(n: number): number;
  _ak_isa(): number;
  _ak_best_isa(): number;
  _ak_set_isa(isa: number): number;
  [exported: `_ak_${string}`]: (...xs: number[]) => number;
}

type BufferKind = Extract<ArgDef, { nullable?: boolean; kind: `${string}${'in' | 'out'}` }>['kind'];
const BUFFERS: Record<BufferKind, { types: (abstract new (...a: never[]) => AnyArray)[]; want: string; writes: boolean }> = {
  f32in: { types: [Float32Array], want: 'a Float32Array', writes: false },
  f32out: { types: [Float32Array], want: 'a Float32Array', writes: true },
  f32inout: { types: [Float32Array], want: 'a Float32Array', writes: true },
  f64in: { types: [Float64Array], want: 'a Float64Array', writes: false },
  f64inout: { types: [Float64Array], want: 'a Float64Array', writes: true },
  i32in: { types: [Int32Array], want: 'an Int32Array', writes: false },
  i32out: { types: [Int32Array], want: 'an Int32Array', writes: true },
  anyin: { types: [Float32Array, Uint8Array], want: 'a Float32Array or a Uint8Array', writes: false },
};
const isBuffer = (kind: string): kind is BufferKind => kind in BUFFERS;
const ISA_NAMES = ['generic', 'simd128'] as const;

/**
 * Float32 arrays that live in wasm memory (the threaded build's, a SharedArrayBuffer: growing it makes a
 * new buffer object, but views of the old one stay valid), handed to the buffer pool as its source while
 * the wasm backend is active. A kernel reads and writes them in place: no copy in or out. At most
 * `limitBytes` are out at once (past that, and when malloc fails, the pool makes ordinary arrays, which
 * are copied per call as before). One the pool lets go of is freed at once; one that is never disposed
 * is freed when the garbage collector takes it.
 */
export interface ResidentArrays extends F32Source {
  /** Where `x` is in wasm memory, or -1 when it is an ordinary array. */
  pointer(x: AnyArray): number;
  /** Bytes out now (allocated and not yet freed). */
  readonly bytes: number;
}

export function residentArrays(m: WasmModule, limitBytes: number): ResidentArrays {
  const buffers = new WeakSet<ArrayBufferLike>();
  let bytes = 0;
  const release = (ptr: number, n: number): void => {
    m._free(ptr);
    bytes -= n;
  };
  const registry = new FinalizationRegistry<{ ptr: number; n: number }>(({ ptr, n }) => release(ptr, n));
  return {
    get bytes() { return bytes; },
    alloc(n) {
      if (bytes + n * 4 > limitBytes) return null;
      const ptr = m._malloc(n * 4);
      if (ptr === 0) return null;
      const buffer = m.wasmMemory?.buffer ?? m.HEAPU8.buffer;
      buffers.add(buffer);
      const a = new Float32Array(buffer, ptr, n);
      registry.register(a, { ptr, n: n * 4 }, a);
      bytes += n * 4;
      return a;
    },
    free(a) {
      if (registry.unregister(a)) release(a.byteOffset, a.byteLength);
    },
    zero: (a) => void m._memset(a.byteOffset, 0, a.byteLength),
    pointer: (x) => (buffers.has(x.buffer) ? x.byteOffset : -1),
  };
}

/** The arrays of one call in wasm memory: each distinct array once, copied back if some argument writes it. */
class Staging {
  private readonly ptrs = new Map<AnyArray, { ptr: number; writes: boolean }>();
  private readonly extra: number[] = [];
  constructor(private readonly m: WasmModule, private readonly heap: () => Uint8Array, private readonly resident: ResidentArrays | null) {}

  array(x: AnyArray, writes: boolean): number {
    // already in wasm memory: the kernel works on it in place
    const at = this.resident?.pointer(x) ?? -1;
    if (at >= 0) return at;
    const seen = this.ptrs.get(x);
    if (seen) {
      seen.writes ||= writes;
      return seen.ptr;
    }
    const ptr = this.m._malloc(Math.max(x.byteLength, 16));
    // wasm memory is full (4 GB): nothing has been written yet, so the js kernel takes the call
    if (ptr === 0) throw FALLBACK;
    this.ptrs.set(x, { ptr, writes });
    this.heap().set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength), ptr);
    return ptr;
  }

  /** A number array as int32 values (the wasm build's `long`). */
  longs(xs: readonly number[]): number {
    const ptr = this.m._malloc(Math.max(xs.length * 4, 16));
    if (ptr === 0) throw FALLBACK;
    this.extra.push(ptr);
    new Int32Array(this.heap().buffer, ptr, xs.length).set(xs);
    return ptr;
  }

  /** Copies the written arrays back (memory may have grown during the call) and frees everything. */
  finish(ok: boolean): void {
    const heap = this.heap();
    for (const [x, { ptr, writes }] of this.ptrs) {
      if (ok && writes) new Uint8Array(x.buffer, x.byteOffset, x.byteLength).set(heap.subarray(ptr, ptr + x.byteLength));
      this.m._free(ptr);
    }
    for (const ptr of this.extra) this.m._free(ptr);
  }
}

const fail = (fn: string, arg: string, want: string): never => {
  throw new TypeError(`${fn}: ${arg} must be ${want}`);
};
const num = (fn: string, arg: string, v: unknown): number => (typeof v === 'number' ? v : fail(fn, arg, 'a number'));
const bool = (fn: string, arg: string, v: unknown): number => (typeof v === 'boolean' ? (v ? 1 : 0) : fail(fn, arg, 'a boolean'));

/** A struct's fields in table order, nested structs flattened in place (the C++ export's parameters). */
function flattenStruct(fn: string, arg: string, struct: StructName, v: unknown, out: number[]): void {
  if (typeof v !== 'object' || v === null) fail(fn, arg, 'an object');
  const o = v as Record<string, unknown>;
  for (const [field, kind] of Object.entries(STRUCTS[struct]) as [string, string][]) {
    if (kind in STRUCTS) flattenStruct(fn, `${arg}.${field}`, kind as StructName, o[field], out);
    else out.push(kind === 'bool' ? bool(fn, `${arg}.${field}`, o[field]) : num(fn, `${arg}.${field}`, o[field]));
  }
}
const structWidth = (struct: StructName): number =>
  Object.values(STRUCTS[struct]).reduce((n: number, kind: string) => n + (kind in STRUCTS ? structWidth(kind as StructName) : 1), 0);

/** One kernel's call: check and flatten its arguments, stage its arrays, call `ak_<name>`. */
function kernelCall(m: WasmModule, heap: () => Uint8Array, resident: ResidentArrays | null, name: KernelName, def: KernelDef): (...xs: unknown[]) => unknown {
  const fn = m[`_ak_${name}`]!;
  const passed = def.args.filter((a) => a.kind !== 'len');
  return (...xs) => {
    if (xs.length !== passed.length) fail(name, 'the call', `given ${passed.length} arguments`);
    const byName = new Map<string, unknown>(passed.map((a, i) => [a.name, xs[i]]));
    const stage = new Staging(m, heap, resident);
    let ok = false;
    try {
      const flat: number[] = [];
      for (const a of def.args) {
        const v = byName.get(a.name);
        if (isBuffer(a.kind)) {
          const { types, want, writes } = BUFFERS[a.kind];
          const nullable = 'nullable' in a && a.nullable === true;
          if (v === null || v === undefined) flat.push(nullable ? 0 : fail(name, a.name, want));
          else if (types.some((t) => v instanceof t)) flat.push(stage.array(v as AnyArray, writes));
          else fail(name, a.name, nullable ? `${want} or null` : want);
        } else if (a.kind === 'len') {
          const lens = a.of.map((b) => byName.get(b) as AnyArray | null | undefined).filter((b) => b != null).map((b) => b.length);
          if (lens.some((n) => n !== lens[0])) fail(name, a.of.join(', '), 'of the same length');
          flat.push(lens[0] ?? 0);
        } else if (a.kind === 'bool') {
          flat.push(bool(name, a.name, v));
        } else if (a.kind === 'longs') {
          if (!Array.isArray(v) || v.some((e) => typeof e !== 'number')) fail(name, a.name, 'an array of numbers');
          flat.push(stage.longs(v as number[]), (v as number[]).length);
        } else if (a.kind === 'enum') {
          const c = v as number;
          if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= ENUMS[a.enum].length) fail(name, a.name, "a member's code");
          flat.push(c);
        } else if (a.kind === 'struct') {
          if (a.nullable) {
            const present = v !== null && v !== undefined;
            flat.push(present ? 1 : 0);
            if (present) flattenStruct(name, a.name, a.struct, v, flat);
            else for (let i = structWidth(a.struct); i > 0; i--) flat.push(0);
          } else {
            flattenStruct(name, a.name, a.struct, v, flat);
          }
        } else {
          flat.push(num(name, a.name, v));
        }
      }
      const r = fn(...flat);
      ok = true;
      return def.returns === 'bool' ? r !== 0 : undefined;
    } finally {
      stage.finish(ok);
    }
  };
}

/**
 * The addon interface over an instantiated build; `maxThreads` caps setNumThreads (the pthread pool's size + 1);
 * arrays of `resident` are passed in place.
 */
export function wasmAddon(m: WasmModule, maxThreads: number, resident: ResidentArrays | null = null): Addon {
  let view = m.HEAPU8;
  const heap = (): Uint8Array => {
    const buffer = m.wasmMemory?.buffer ?? m.HEAPU8.buffer;
    if (view.buffer !== buffer) view = new Uint8Array(buffer);
    return view;
  };
  const out: Record<string, unknown> = {
    info: () => ({ isa: ISA_NAMES[m._ak_isa()] ?? 'generic', bestIsa: ISA_NAMES[m._ak_best_isa()] ?? 'generic', threads: m._ak_threads() }),
    setNumThreads: (n: number) => m._ak_set_num_threads(Math.min(n, maxThreads)),
    setIsa: (isa: string) => ISA_NAMES[m._ak_set_isa(isa === 'generic' ? 0 : 1)] ?? 'generic',
  };
  for (const [name, def] of Object.entries(KERNELS) as [KernelName, KernelDef][]) out[name] = kernelCall(m, heap, resident, name, def);
  return out as unknown as Addon;
}
