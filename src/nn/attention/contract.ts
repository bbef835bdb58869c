/**
 * The one forward contract of the attention family (docs/attention.md, "The contract"): every
 * layer that attends returns `{ output, weights? }`, with `weights` present exactly when the call
 * asked for them (`needWeights: true`), and takes its options under one name per concept.
 */
import type { Tensor } from '../../tensor/tensor.js';
import type { OptionKeys } from '../../config.js';

/**
 * What every attention-family `forward` returns: the output and, only with `needWeights`, the
 * attention weights. `W` is the weights' shape: one Tensor for a single attention (MultiHeadAttention
 * [B, T, S] or [B, H, T, S]), `Tensor[]` for stacks (one per layer), a record naming each attention
 * for layers with several (decoder: `{ self, cross }`; Perceiver: `{ cross, latent }`; HAN:
 * `{ word, sentence }`; composite blocks: `BlockWeights`, keyed by module path).
 *
 * @example
 * const { output, weights } = layer.forward(x, { needWeights: true });   // weights: W
 * const { output: y } = layer.forward(x);                                // weights: undefined
 */
export interface AttentionOutput<W = Tensor> {
  output: Tensor;
  /** Present iff the call passed `needWeights: true`. */
  weights?: W;
}

/** Self-attention options, under the one name each concept has on every layer. */
export interface SelfAttentionForwardOptions {
  /** [B, S] bool, true = real token (false keys are never attended). */
  keyMask?: Tensor | null;
  /** Query i attends to keys j ≤ i. Layers that cannot honour it refuse it (unknown option). */
  causal?: boolean;
  /** Also return the attention weights (`weights` in the result). */
  needWeights?: boolean;
}

/** Cross-attention options: the self-attention ones plus the memory's key mask. */
export interface CrossAttentionForwardOptions extends SelfAttentionForwardOptions {
  /** [B, S] bool, true = real memory token. */
  memoryKeyMask?: Tensor | null;
}

/** The accepted-keys records for `checkOptions`. */
export const SELF_ATTENTION_KEYS: OptionKeys<SelfAttentionForwardOptions> = { keyMask: true, causal: true, needWeights: true };
export const CROSS_ATTENTION_KEYS: OptionKeys<CrossAttentionForwardOptions> = { ...SELF_ATTENTION_KEYS, memoryKeyMask: true };

/** `{ output }`, plus `weights` when asked for: the one place the "present iff needWeights" rule is written. */
export function attentionOutput<W>(output: Tensor, needWeights: boolean | undefined, weights: () => W): AttentionOutput<W> {
  return needWeights ? { output, weights: weights() } : { output };
}
