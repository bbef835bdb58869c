/**
 * attnkit — tensors, autograd and attention models in TypeScript.
 *
 * @example
 * import { randn, Generator, matmul, transpose, softmax } from 'attnkit';
 * const rng = new Generator(0);
 * const q = randn([2, 4, 8], { rng, requiresGrad: true });
 * const w = softmax(matmul(q, transpose(q, -2, -1)), -1);  // [2, 4, 4]
 */
export { AttnkitError, ShapeError, DTypeError, IndexError, ValueError, ConfigError, DataError } from './errors.js';
export { Tensor } from './tensor/tensor.js';
export type { DType, TapeNode } from './tensor/tensor.js';
export type { Shape } from './tensor/shape.js';
export { broadcastShapes } from './tensor/shape.js';
export { Generator, manualSeed, defaultGenerator } from './tensor/random.js';
export {
  tensor, zeros, ones, full, scalar, arange, linspace, eye, rand, randn, randint, bernoulli,
} from './tensor/creation.js';
export type { CreateOptions, RandomOptions } from './tensor/creation.js';
export { backward, noGrad, detach, isGradEnabled } from './autograd/tape.js';
export type { BackwardOptions } from './autograd/tape.js';
export { gradcheck } from './autograd/gradcheck.js';
export type { GradcheckOptions, GradcheckResult } from './autograd/gradcheck.js';
export { backend, setBackend } from './backend/backend.js';
export { bufferPoolStats, setBufferPoolLimit, type BufferPoolStats } from './backend/pool.js';
export * from './ops/index.js';
export * as F from './ops/index.js';
export { primitives } from './ops/registry.js';
export type { PrimitiveName } from './ops/registry.js';
export type { Primitive, BackwardContext } from './ops/primitive.js';
export * as nn from './nnAll.js';
export { Buffer, Module, Parameter } from './nn/module.js';
export * as optim from './train/optim.js';
export * as data from './data/index.js';
export * as models from './models/index.js';
export * as train from './train/index.js';
export * as analysis from './analysis/index.js';
export { exportOnnx, fusionOnnxInputs } from './onnx/export.js';
export type { ExportOptions, OnnxInput } from './onnx/export.js';
