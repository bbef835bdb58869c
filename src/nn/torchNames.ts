/**
 * The mapping between PyTorch parameter names and attnkit's, one dotted segment at a time:
 *
 * | PyTorch segment | attnkit segment | rule |
 * | --- | --- | --- |
 * | `multihead_attn` (TransformerDecoderLayer) | `crossAttn` | renamed: it is the cross-attention |
 * | anything else, e.g. `in_proj_weight`, `self_attn`, `out_proj`, `q_proj_weight`, `linear1`, `layers`, `0` | `inProjWeight`, `selfAttn`, `outProj`, `qProjWeight`, `linear1`, `layers`, `0` | snake_case ↔ camelCase |
 *
 * Tensor layouts are PyTorch's (Linear weights [out, in], packed `in_proj_weight` [3C, C]), so
 * values copy over unchanged.
 *
 * @example
 * mha.loadStateDict(fromTorchStateDict(torchState));   // 'in_proj_weight' → 'inProjWeight', …
 * const back = toTorchStateDict(mha.stateDict());       // 'outProj.bias' → 'out_proj.bias', …
 */
import { ValueError } from '../errors.js';

const RENAMED: Record<string, string> = { multihead_attn: 'crossAttn' };
const RENAMED_BACK: Record<string, string> = Object.fromEntries(Object.entries(RENAMED).map(([a, b]) => [b, a]));

/** One PyTorch name segment → attnkit's. */
export function torchSegmentToAttnkit(segment: string): string {
  return RENAMED[segment] ?? segment.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** One attnkit name segment → PyTorch's. */
export function attnkitSegmentToTorch(segment: string): string {
  return RENAMED_BACK[segment] ?? segment.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function mapKeys<T>(state: Record<string, T>, map: (segment: string) => string, fn: string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [name, value] of Object.entries(state)) {
    const mapped = name.split('.').map(map).join('.');
    if (mapped in out) throw new ValueError(`${fn}: '${name}' and another name both map to '${mapped}'`);
    out[mapped] = value;
  }
  return out;
}

/** Renames a PyTorch state dict's keys to attnkit's (values untouched). */
export function fromTorchStateDict<T>(state: Record<string, T>): Record<string, T> {
  return mapKeys(state, torchSegmentToAttnkit, 'fromTorchStateDict');
}

/** Renames attnkit parameter paths to PyTorch's (values untouched). */
export function toTorchStateDict<T>(state: Record<string, T>): Record<string, T> {
  return mapKeys(state, attnkitSegmentToTorch, 'toTorchStateDict');
}
