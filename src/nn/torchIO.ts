/**
 * PyTorch weights in and out through safetensors: `loadTorchSafetensors(module, bytes)` reads
 * a file PyTorch wrote (names like `layers.0.self_attn.in_proj_weight`), maps every name
 * segment to attnkit's (see torchNames.ts: snake → camel, `multihead_attn` → `crossAttn`) and
 * loads it strictly; `torchSafetensors(module)` writes the module's weights in PyTorch's names.
 * Works for every module whose parameters follow PyTorch's layout: Linear, LayerNorm,
 * Embedding, Conv1d/2d, MultiHeadAttention, the Transformer layers and stacks, GRU.
 */
import { decodeSafetensors, encodeSafetensors, CheckpointError } from '../tensor/safetensors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from './module.js';
import { fromTorchStateDict, toTorchStateDict } from './torchNames.js';
import { checkOptions } from '../config.js';

/**
 * @example
 * const layer = new nn.TransformerEncoderLayer({ embedDim: 64, numHeads: 4, dimFeedforward: 128, rng });
 * nn.loadTorchSafetensors(layer, readFileSync('encoder_layer.safetensors'), 'encoder_layer.safetensors');
 */
export function loadTorchSafetensors(module: Module, bytes: Uint8Array, where = 'safetensors', options: { strict?: boolean } = {}): void {
  checkOptions('loadTorchSafetensors', options, { strict: true });
  const { tensors } = decodeSafetensors(bytes, where);
  // PyTorch keeps non-parameter buffers (e.g. BatchNorm's num_batches_tracked) in state dicts; none of ours have them
  const state: Record<string, Tensor> = fromTorchStateDict(tensors);
  try {
    module.loadStateDict(state, options);
  } catch (e) {
    throw new CheckpointError(`${where}: the weights do not fit ${module.constructor.name} (${(e as Error).message})`);
  }
}

/** The module's weights as a safetensors file in PyTorch's names (torch's `load_file` reads it). */
export function torchSafetensors(module: Module, metadata: Record<string, string> = { format: 'pt' }): Uint8Array {
  return encodeSafetensors(toTorchStateDict(module.stateDict()), metadata);
}
