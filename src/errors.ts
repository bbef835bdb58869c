/**
 * Typed errors. Every error names the function, the argument and what was
 * expected versus what came, so users can fix their input rather than our code.
 */

/** Base class of every error attnkit throws on purpose. */
export class AttnkitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together (mismatched dims, bad reshape, broadcast failure). */
export class ShapeError extends AttnkitError {}

/** A tensor of the wrong dtype (e.g. float indices, int32 where float32 is needed). */
export class DTypeError extends AttnkitError {}

/** An index or dimension outside its valid range. */
export class IndexError extends AttnkitError {}

/** An argument with an invalid value (negative size, NaN seed, probability outside [0, 1)…). */
export class ValueError extends AttnkitError {}

/** A configuration object that does not validate. */
export class ConfigError extends AttnkitError {}

/** Input data that cannot be read or does not match its schema. */
export class DataError extends AttnkitError {}

/** Formats a shape for messages: `[2,7,48]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
