import { jsBackend } from './js/index.js';

/** The kernel set every backend provides; a native backend overrides kernels one by one. */
export type Backend = typeof jsBackend;

let active: Backend = jsBackend;

/** The backend kernels currently run on. */
export function backend(): Backend {
  return active;
}

/**
 * Installs a backend. Kernels it lacks fall back to the js reference, so selecting
 * a backend never changes results beyond float tolerance.
 */
export function setBackend(b: Partial<Backend> & { name: string }): void {
  active = { ...jsBackend, ...b };
}

export { jsBackend };
