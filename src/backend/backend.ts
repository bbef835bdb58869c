import { jsBackend } from './js/index.js';
import { setF32Source, type F32Source } from './pool.js';

/**
 * The kernel set every backend provides; a native backend overrides kernels one by one.
 * Code above the backend (ops/, autograd/) reaches kernels only through this module: the active
 * backend object, the argument types below, and the neutral helpers of buffers.ts and
 * dropoutHash.ts; never a file of an implementation (lint rule 'attnkit/layers').
 */
export type Backend = typeof jsBackend;

export type { AnyArray, FloatArray } from './buffers.js';
export type {
  UnaryOp, UnaryParams, BinaryOp, CompareOp, Conv2dGeom, Conv2dParams,
  AttnShape, AttnOptions, AttnMask, AttnView, AttnLayout, AttnBlocks, AttnExtra, AttnRel, AdamParams, CrossEntropyParams,
} from './js/index.js';

let active: Backend = jsBackend;

/** The backend kernels currently run on. */
export function backend(): Backend {
  return active;
}

/** The active backend's name: 'native', 'wasm' or 'js'. */
export function backendName(): string {
  return active.name;
}

/**
 * Installs a backend. Kernels it lacks fall back to the js reference, so selecting
 * a backend never changes results beyond float tolerance.
 */
export function setBackend(b: Partial<Backend> & { name: string; f32Source?: F32Source }): void {
  active = { ...jsBackend, ...b };
  // a backend with its own memory (the wasm backend's threaded build) makes the float32 arrays of tensors there
  setF32Source(b.f32Source ?? null);
}

export { jsBackend };
