/**
 * Mask plumbing shared by the attention layers. One rule everywhere (DESIGN.md): a boolean
 * mask's `true` means "may attend" / "is a real token". Float masks are added to the scores.
 */
import { DTypeError, ShapeError, fmtShape } from '../../errors.js';
import { Tensor, type DType } from '../../tensor/tensor.js';
import { zeros } from '../../tensor/creation.js';
import { add, logicalAnd, toDtype, where } from '../../ops/elementwise.js';
import { reshape } from '../../ops/shape.js';

/** Checks a key mask [B, S] (bool, true = real token) and returns it as [B, 1, 1, S]. */
export function keyMask4d(fn: string, arg: string, mask: Tensor, B: number, S: number): Tensor {
  if (!(mask instanceof Tensor)) throw new DTypeError(`${fn}: ${arg} must be a bool Tensor [B, S], got ${typeof mask}`);
  if (mask.dtype !== 'bool') throw new DTypeError(`${fn}: ${arg} must be bool (true = real token), got ${mask.dtype}`);
  if (mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== S) {
    throw new ShapeError(`${fn}: ${arg} has shape ${fmtShape(mask.shape)}, expected [B, S] = ${fmtShape([B, S])}`);
  }
  return reshape(mask, [B, 1, 1, S]);
}

/**
 * Checks an attention mask — [T, S], [B, T, S], [B·H, T, S] or a 4-d mask broadcastable to
 * [B, H, T, S]; bool (true = may attend) or float32 (added to the scores) — and returns it 4-d.
 */
export function attnMask4d(fn: string, arg: string, mask: Tensor, B: number, H: number, T: number, S: number): Tensor {
  if (!(mask instanceof Tensor)) throw new DTypeError(`${fn}: ${arg} must be a Tensor, got ${typeof mask}`);
  if (mask.dtype !== 'bool' && mask.dtype !== 'float32' && mask.dtype !== 'float64') {
    throw new DTypeError(`${fn}: ${arg} must be bool (true = may attend) or float (additive), got ${mask.dtype}`);
  }
  const s = mask.shape;
  const bad = (): ShapeError => new ShapeError(
    `${fn}: ${arg} has shape ${fmtShape(s)}; expected [T, S], [B, T, S], [B·H, T, S] or 4-d broadcastable to [B, H, T, S] = ${fmtShape([B, H, T, S])}`,
  );
  if (s[s.length - 2] !== T || s[s.length - 1] !== S) throw bad();
  if (mask.ndim === 2) return reshape(mask, [1, 1, T, S]);
  if (mask.ndim === 3) {
    if (s[0] === B) return reshape(mask, [B, 1, T, S]);
    if (s[0] === B * H) return reshape(mask, [B, H, T, S]);
    if (s[0] === 1) return reshape(mask, [1, 1, T, S]);
    throw bad();
  }
  if (mask.ndim === 4 && (s[0] === 1 || s[0] === B) && (s[1] === 1 || s[1] === H)) return mask;
  throw bad();
}

/**
 * Combines masks: all bool → logical and; any float → bools become 0/−∞ and everything adds,
 * in `dtype` (the scores' float type).
 */
export function combineMasks(masks: (Tensor | null | undefined)[], dtype: DType = 'float32'): Tensor | null {
  const present = masks.filter((m): m is Tensor => m instanceof Tensor);
  if (present.length === 0) return null;
  if (present.every((m) => m.dtype === 'bool')) return present.reduce((a, b) => logicalAnd(a, b));
  return present
    .map((m) => (m.dtype === 'bool' ? where(m, zeros(m.shape, { dtype }), -Infinity) : toDtype(m, dtype)))
    .reduce((a, b) => add(a, b));
}
