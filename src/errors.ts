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

/** `s` cut to `max` characters with an ellipsis, keeping its last `tail` characters too (`head…tail`). */
export function clipText(s: string, max = 80, tail = 0): string {
  if (s.length <= max) return s;
  const t = Math.min(Math.max(0, tail), max);
  return `${s.slice(0, max - t)}…${t ? s.slice(-t) : ''}`;
}

/** What kind of value `x` is, for "got …" in messages: 'null', 'an array' or its typeof. */
export function kindOf(x: unknown): string {
  return x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
}

/**
 * Any value as messages show it, about `max` characters at most: strings quoted, numbers as
 * JavaScript prints them, BigInt as `8n`, arrays and objects JSON-like. Never throws and walks
 * only as deep (20 levels) and as far as it prints, so a huge, deeply nested or cyclic value
 * (or one with throwing getters) costs no more than a small one.
 */
export function preview(value: unknown, max = 80): string {
  let out = '';
  const put = (s: string): boolean => { out += s; return out.length < max; };
  const walk = (x: unknown, depth: number): boolean => {
    if (typeof x === 'string') return put(JSON.stringify(clipText(x, Math.max(8, max - out.length - 3))));   // the closing quote stays
    if (typeof x === 'bigint') return put(`${clipText(x.toString(), max)}n`);
    if (typeof x === 'symbol') return put(clipText(x.toString(), max));
    if (typeof x === 'function') return put('function');
    if (x === null || typeof x !== 'object') return put(String(x));
    if (depth > 20) return put('…');
    if (ArrayBuffer.isView(x)) return put(`${x.constructor.name}(${x instanceof DataView ? x.byteLength : (x as unknown as ArrayLike<unknown>).length})`);
    if (Array.isArray(x)) {
      if (!put('[')) return false;
      for (let i = 0; i < x.length; i++) if ((i && !put(',')) || !walk(x[i], depth + 1)) return false;
      return put(']');
    }
    if (!put('{')) return false;
    let i = 0;
    for (const k in x) {
      if (!Object.prototype.hasOwnProperty.call(x, k)) continue;
      if ((i++ && !put(',')) || !put(`${JSON.stringify(clipText(k, max))}:`) || !walk((x as Record<string, unknown>)[k], depth + 1)) return false;
    }
    return put('}');
  };
  try { walk(value, 0); } catch { out += '…'; }
  return clipText(out, max);
}

/** Up to `shown` items of a list (names as they are, clipped; other values through `preview`), then `… and N more`: `a, b, c, d, e … and 65531 more`. */
export function previewList(items: readonly unknown[], shown = 5, max = 80): string {
  const head = items.slice(0, shown).map((x) => (typeof x === 'string' ? clipText(x, max) : preview(x, max))).join(', ');
  return items.length > shown ? `${head} … and ${items.length - shown} more` : head;
}
