export { Module, Parameter } from './module.js';
export { Linear } from './linear.js';
export { Embedding } from './embedding.js';
export { LayerNorm } from './layerNorm.js';
export { Dropout } from './dropout.js';
export { Conv1d, Conv2d } from './conv.js';
export type { InitOptions } from './init.js';
export { fromTorchStateDict, toTorchStateDict, torchSegmentToAttnkit, attnkitSegmentToTorch } from './torchNames.js';
