/**
 * Config validation shared by every layer that builds things from JSON/YAML (composite blocks,
 * data schemas, models, training): a valibot schema checks the object, and a failure becomes a
 * ConfigError naming the caller, the field path and what was expected.
 */
import * as v from 'valibot';
import { ConfigError, ValueError, clipText } from './errors.js';

/** Formats a valibot issue path as `layers[1].merge` (root: '(root)'). */
export function pathOf(issue: v.BaseIssue<unknown>): string {
  let out = '';
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key;
    out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  }
  return out || '(root)';
}

/** Deepest nesting a config may have (a valid one needs a handful of levels). */
export const MAX_CONFIG_DEPTH = 64;
/** Most values a config may hold, counted as walked (YAML aliases expand). */
const MAX_CONFIG_VALUES = 10_000_000;

/**
 * The shape checks no schema can make, before the schema recurses: no cycles (a YAML alias inside
 * its own anchor), nesting at most MAX_CONFIG_DEPTH, a bounded number of values, and only finite
 * numbers (configs are JSON: NaN and ±Infinity cannot be saved, and `.inf` as a learning rate is
 * a mistake). Returns the problem as `<path>: <message>`, or null.
 */
function shapeProblem(input: unknown): string | null {
  const ancestors: object[] = [], paths: string[] = [];
  let values = 0;
  const at = (path: string): string => clipText(path || '(root)', 160, 50);   // a long path (64 levels, a 100 KB key) by its start and end
  const walk = (x: unknown, path: string): string | null => {
    if (++values > MAX_CONFIG_VALUES) return `${at(path)}: more than ${MAX_CONFIG_VALUES} values (do YAML aliases expand it?)`;
    if (typeof x === 'number') return Number.isFinite(x) ? null : `${at(path)}: must be a finite number, got ${x}`;
    if (x === null || typeof x !== 'object') return null;
    const i = ancestors.indexOf(x);
    if (i >= 0) return `${at(path)}: refers back to ${at(paths[i])}, a cycle (a YAML alias inside its own anchor?)`;
    if (ancestors.length >= MAX_CONFIG_DEPTH) return `${at(path)}: nested deeper than ${MAX_CONFIG_DEPTH} levels`;
    ancestors.push(x); paths.push(path);
    try {
      if (Array.isArray(x)) {
        for (let i = 0; i < x.length; i++) { const p = walk(x[i], `${path}[${i}]`); if (p) return p; }
      } else if (!ArrayBuffer.isView(x)) {
        for (const [k, val] of Object.entries(x)) { const p = walk(val, path ? `${path}.${k}` : k); if (p) return p; }
      }
      return null;
    } finally { ancestors.pop(); paths.pop(); }
  };
  return walk(input, '');
}

/**
 * Validates `input` against `schema`; returns the typed output or throws ConfigError listing
 * every problem as `where: <path>: <message>`. Unknown keys are errors where the schema is a
 * strictObject (all of ours are). Cycles, nesting deeper than MAX_CONFIG_DEPTH and non-finite
 * numbers are refused first, naming the path.
 */
export function validateConfig<S extends v.GenericSchema>(
  schema: S, input: unknown, where: string, options: { noun?: string; error?: new (message: string) => Error; unknownKey?: string } = {},
): v.InferOutput<S> {
  const noun = options.noun ?? 'config';
  const shape = shapeProblem(input);
  if (shape) throw new (options.error ?? ConfigError)(`${where}: invalid ${noun} — ${shape}`);
  const r = v.safeParse(schema, input);
  if (r.success) return r.output;
  const lines = r.issues.slice(0, 8).map((i) => {
    // a nested union reports its own sub-issues; the most specific one says the most
    const deepest = (i.issues?.length ? i.issues[0] : i) as v.BaseIssue<unknown>;
    const message = deepest.type === 'strict_object' ? options.unknownKey ?? `unknown key (not part of this ${noun})` : deepest.message;
    // valibot quotes the value it received, which can be megabytes; keep each problem readable
    return `${clipText(pathOf(deepest.path ? deepest : i), 160, 50)}: ${clipText(message, 200)}`;
  });
  throw new (options.error ?? ConfigError)(`${where}: invalid ${noun} — ${lines.join('; ')}`);
}

/**
 * Every key of an options type as a record, `{ mask: true, causal: true }`: the compiler demands each
 * key of `T` exactly once, so a key added to an options interface cannot be forgotten here.
 */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: true };

/**
 * Refuses keys an options object does not define: a misspelt or renamed option (`keyMask` where the
 * function calls it `mask`) would otherwise be ignored and give a silently wrong result. Throws
 * ValueError `where: unknown option 'keyMask' (accepted: mask, causal)`. `options` null/undefined
 * passes (every option defaulted); anything but a plain object is refused.
 *
 * @example
 * checkOptions('GatedAttentionPooling.forward', options, { mask: true, keyMask: true });
 */
export function checkOptions<T extends object>(where: string, options: T | null | undefined, accepted: NoInfer<OptionKeys<T>>): void {
  if (options == null) return;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new ValueError(`${where}: options must be an object, got ${Array.isArray(options) ? 'an array' : typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (!Object.prototype.hasOwnProperty.call(accepted, key)) {
      throw new ValueError(`${where}: unknown option '${clipText(key)}' (accepted: ${Object.keys(accepted).join(', ') || 'none'})`);
    }
  }
}

/** checkOptions for an options argument that is required (a constructor's): a missing one is a ValueError naming the keys, not a TypeError on its first read. */
export function checkRequiredOptions<T extends object>(where: string, options: T | null | undefined, accepted: NoInfer<OptionKeys<T>>): void {
  if (options == null) throw new ValueError(`${where}: give its options object (accepted keys: ${Object.keys(accepted).join(', ')})`);
  checkOptions(where, options, accepted);
}

/** A config number that must be positive and finite (a learning rate, a scale): YAML's .inf would train to NaN. */
export const positiveNumber = v.pipe(v.number(), v.finite((i) => `must be a finite number, got ${String(i.input)}`), v.gtValue(0, (i) => `must be a positive number, got ${String(i.input)}`));

export { v };
