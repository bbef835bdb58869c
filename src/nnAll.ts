/** The `nn` namespace: the building blocks (nn/) and the attention family (nn/attention/). */
export * from './nn/index.js';
export * from './nn/attention/index.js';
export * from './nn/composite/index.js';
