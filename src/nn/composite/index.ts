/** Composite modules: parallel / serial / fusion combinators and the blocks they join. */
export {
  SelfAttentionBlock, ConvBlock, FeedForwardBlock, LocalAttentionBlock, LinearAttentionBlock, TransformerBlock,
} from './blocks.js';
export { attentionLayers, tokenMaps } from './blocks.js';
export type { Block, BlockForwardOptions, BlockWeights } from './blocks.js';
export { Parallel, MERGE_MODES } from './parallel.js';
export type { ParallelOptions, MergeMode } from './parallel.js';
export { Serial } from './serial.js';
export type { SerialOptions } from './serial.js';
export { Fusion } from './fusion.js';
export type { FusionOptions } from './fusion.js';
export type { GateValues } from './gates.js';
export { buildBlock, collectGates, blockConfigSchema } from './build.js';
export type { BlockConfig } from './build.js';
