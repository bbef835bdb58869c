/** The `data` namespace under Node: the browser-safe core plus file readers and dataset adapters. */
export * from './data/index.js';
export * from './data/node/index.js';
