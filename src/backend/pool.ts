/**
 * Recycled buffers: where the large arrays of tensors come from, and where the arrays of tensors
 * disposed with `Tensor.dispose()` go back to, so that the next array of the same kind and length
 * is memory the process has already touched. On a machine where a fresh page costs microseconds
 * to fault in (a VM; any browser, whose allocator maps large arrays anew each time), a new 8 MB
 * output costs more than the kernel that fills it: the wasm backend's matmul 1024³ spent half its
 * time in Chromium faulting in its output. Neutral (no Node built-in): the browser entry uses it.
 *
 * An array is handed out again only when every tensor made over it was disposed and no tape node
 * can read it (autograd/tape.ts pins what a recorded op holds: its inputs, output, attributes and
 * saved values).
 * Arrays are zeroed when handed out, as `new Float32Array(n)` would be.
 *
 * A backend may supply float32 arrays itself ({@link F32Source}): the wasm backend's threaded build
 * hands out views of its own memory, so its kernels read and write tensors in place instead of
 * copying each argument in and each result out.
 */
import type { AnyArray } from './buffers.js';
import { ValueError } from '../errors.js';

type Kind = 0 | 1 | 2 | 3;
type Ctor = new (n: number) => AnyArray;
const CTORS: readonly Ctor[] = [Float32Array, Float64Array, Int32Array, Uint8Array];
const kindOf = (like: AnyArray): Kind =>
  like instanceof Float32Array ? 0 : like instanceof Float64Array ? 1 : like instanceof Int32Array ? 2 : 3;

/** Arrays smaller than this come from the engine's allocator directly (small arrays are cheap to make). */
const MIN_BYTES = 1 << 16;

let limitBytes = 256 * 1024 * 1024;
let heldBytes = 0;
let reused = 0;
let recycledCount = 0;
/** Free arrays by kind and length. */
const free = new Map<number, AnyArray[]>();
/** Free arrays, oldest first (eviction order). */
const age = new Set<AnyArray>();
/** Arrays this pool made: how many live (undisposed) tensors are over each. Only these are ever recycled. */
const owners = new WeakMap<AnyArray, number>();

/**
 * Float32 arrays from a backend's own memory (the wasm backend's threaded build): `alloc` gives an
 * array of length n or null (its memory full, or its cap reached: the engine's allocator serves the
 * call); `free` takes back one the pool lets go of; `zero` zeroes one of its arrays (a shared buffer's
 * `fill` is an engine's slow path: in Node 4× slower than the module's memset).
 */
export interface F32Source {
  alloc(n: number): Float32Array | null;
  free(a: Float32Array): void;
  zero(a: Float32Array): void;
}
let source: F32Source | null = null;
/** The arrays sources made, and which made each (the active source may change since). */
const sourced = new WeakMap<AnyArray, F32Source>();

/** The source of float32 arrays while the active backend has one (backend.ts sets it), or null. */
export function setF32Source(s: F32Source | null): void {
  source = s;
}

/** Kept arrays of a source's memory and of the engine's are listed apart: each backend takes its own first. */
const key = (kind: Kind, n: number, own: boolean): number => n * 8 + kind * 2 + (own ? 1 : 0);
const isOwn = (a: AnyArray): boolean => sourced.has(a);
/** Lets go of an array for good: a source's goes back to it now, the engine's to the garbage collector. */
function drop(a: AnyArray): void {
  sourced.get(a)?.free(a as Float32Array);
  sourced.delete(a);
}

/** A zeroed array of `kind` and length `n`: a recycled one when the pool holds one, else a new one. */
function take(kind: Kind, n: number): AnyArray {
  // the active backend's source makes the large float32 arrays; a source's arrays go only to its own backend
  const src = kind === 0 && n * 4 >= MIN_BYTES ? source : null;
  let recycled = free.get(key(kind, n, src !== null))?.pop();
  if (recycled === undefined && src !== null) {
    const a = src.alloc(n);
    if (a !== null) {
      src.zero(a);
      owners.set(a, 0);
      sourced.set(a, src);
      return a;
    }
    // its memory is full or its cap reached: the engine's arrays serve
    recycled = free.get(key(kind, n, false))?.pop();
  }
  if (recycled !== undefined) {
    age.delete(recycled);
    heldBytes -= recycled.byteLength;
    reused++;
    const from = sourced.get(recycled);
    if (from) from.zero(recycled as Float32Array);
    else recycled.fill(0);
    owners.set(recycled, 0);
    return recycled;
  }
  const a = new CTORS[kind]!(n);
  if (a.byteLength >= MIN_BYTES) owners.set(a, 0);
  return a;
}

/** A zeroed float32 array of length n. */
export const takeF32 = (n: number): Float32Array => take(0, n) as Float32Array;
/** A zeroed array of the same kind as `like`, of length n. */
export const takeLike = <T extends AnyArray>(like: T, n: number): T => take(kindOf(like), n) as T;
/** A zeroed array of the kind `ctor` makes (Float32Array, Float64Array, Int32Array or Uint8Array). */
export const takeOf = <T extends AnyArray>(ctor: new (n: number) => T, n: number): T => take(CTORS.indexOf(ctor) as Kind, n) as T;

/** A tensor now holds `a` (called by the Tensor constructor). */
export function adopt(a: AnyArray): void {
  const n = owners.get(a);
  if (n !== undefined) owners.set(a, n + 1);
}

/** How many tape nodes may read each array in backward (pin/unpin). */
const pins = new WeakMap<AnyArray, number>();
/** Arrays whose tensors were all disposed while pinned: recycled when the last pin goes. */
const awaiting = new WeakSet<AnyArray>();

/**
 * A tape node may read `a` in backward: it is not handed out again, whoever disposes what, until
 * every node that pinned it has let go (`unpin`, when backward has run through the node).
 */
export function pin(a: AnyArray): void {
  if (owners.has(a) || awaiting.has(a)) pins.set(a, (pins.get(a) ?? 0) + 1);
}

/** A tape node that pinned `a` was freed; an array whose tensors were all disposed is recycled when its last pin goes. */
export function unpin(a: AnyArray): void {
  const n = pins.get(a);
  if (n === undefined) return;
  if (n > 1) return void pins.set(a, n - 1);
  pins.delete(a);
  if (awaiting.delete(a)) keep(a);
}

/**
 * A tensor over `a` was disposed. When it was the last live one over an array this pool made,
 * the array is kept for reuse (while a tape node pins it, once the last pin goes); the oldest kept
 * arrays are let go once more than the limit is held.
 */
export function release(a: AnyArray): void {
  const n = owners.get(a);
  if (n === undefined) return;
  // another tensor still holds it
  if (n > 1) return void owners.set(a, n - 1);
  owners.delete(a);
  // a tape node may still read it: kept once the node is freed
  if (pins.has(a)) return void awaiting.add(a);
  keep(a);
}

/** Keeps `a` for reuse (or lets it go when larger than the limit). */
function keep(a: AnyArray): void {
  if (a.byteLength > limitBytes) return drop(a);
  const k = key(kindOf(a), a.length, isOwn(a));
  let list = free.get(k);
  if (!list) free.set(k, (list = []));
  list.push(a);
  age.add(a);
  heldBytes += a.byteLength;
  recycledCount++;
  trim();
}

function trim(): void {
  for (const old of age) {
    if (heldBytes <= limitBytes) break;
    age.delete(old);
    heldBytes -= old.byteLength;
    const list = free.get(key(kindOf(old), old.length, isOwn(old)))!;
    list.splice(list.indexOf(old), 1);
    drop(old);
  }
}

/** What the buffer pool holds and has done since the process started. */
export interface BufferPoolStats {
  /** Bytes of disposed tensors' arrays kept for reuse. */
  heldBytes: number;
  /** The most it keeps (`setBufferPoolLimit`). */
  limitBytes: number;
  /** Arrays handed back by `Tensor.dispose()` and kept. */
  recycled: number;
  /** Allocations served from kept arrays. */
  reused: number;
}

/** What the buffer pool of disposed tensors' arrays holds, and how often it served an allocation. */
export function bufferPoolStats(): BufferPoolStats {
  return { heldBytes, limitBytes, recycled: recycledCount, reused };
}

/**
 * Caps the bytes of disposed tensors' arrays kept for reuse (default 256 MiB; 0 keeps none and
 * lets go of what is held). Returns the previous cap.
 */
export function setBufferPoolLimit(bytes: number): number {
  if (!Number.isFinite(bytes) || bytes < 0) throw new ValueError(`setBufferPoolLimit: bytes must be a finite number ≥ 0, got ${bytes}`);
  const prev = limitBytes;
  limitBytes = bytes;
  trim();
  return prev;
}
