/** The attention family (part 1): scoring functions, multi-head attention, pooling, Transformer blocks, positions. */
export { attentionOutput } from './contract.js';
export type { AttentionOutput, SelfAttentionForwardOptions, CrossAttentionForwardOptions } from './contract.js';
export { Attention } from './scoring.js';
export type { AttentionOptions, AttentionScore, AttentionForwardOptions } from './scoring.js';
export { MultiHeadAttention } from './multihead.js';
export type { MultiHeadAttentionOptions, MultiHeadForwardOptions } from './multihead.js';
export { AttentionPooling, GatedAttentionPooling, NadarayaWatson } from './pooling.js';
export {
  TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder,
} from './transformer.js';
export type {
  TransformerLayerOptions, TransformerStackOptions, EncoderForwardOptions, DecoderForwardOptions, DecoderWeights,
} from './transformer.js';
export type { PoolingForwardOptions } from './pooling.js';
export {
  sinusoidalEncoding, SinusoidalPositionalEncoding, LearnedPositionalEmbedding, applyRotary, alibiSlopes, alibiBias,
} from './positional.js';
export { attnMask4d, keyMask4d, combineMasks } from './masks.js';
export { linearAttention, linearAttentionWeights, PerformerAttention, LinformerSelfAttention, LinearSelfAttention, gaussianOrthogonalFeatures } from './linear.js';
export type { LinearAttentionOptions, PerformerForwardOptions } from './linear.js';
export { CrossModalLayer, CrossModalTransformer, PerceiverEncoder } from './crossModal.js';
export type { CrossModalOptions, CrossForwardOptions, PerceiverOptions, PerceiverForwardOptions, PerceiverWeights } from './crossModal.js';
export {
  sparseAttention, slidingWindowPattern, blockPattern, withGlobalTokens, bigBirdPattern, patternToMask, patternBlockMask, SparseSelfAttention,
} from './sparse.js';
export type { SparsePattern, SparseSelfAttentionOptions, SparseAttentionOptions } from './sparse.js';
export { ContextAttention, HierarchicalAttentionNetwork } from './hierarchical.js';
export type { HierarchicalAttentionOptions, HierarchicalWeights } from './hierarchical.js';
