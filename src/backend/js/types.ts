// The kernels' buffer types and allocation live in ../buffers.ts, beside the layout the ops share.
export type { FloatArray, AnyArray } from '../buffers.js';
export { allocLike } from '../buffers.js';
