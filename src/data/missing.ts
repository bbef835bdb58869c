/** Values read as missing unless a field says otherwise. */
export const DEFAULT_MISSING = ['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', 'None', '?'];

/** The test a field uses for "missing": null, undefined, NaN, or one of its missing strings. */
export function missingTest(missing: readonly string[] | undefined): (value: unknown) => boolean {
  const set = new Set(missing ?? DEFAULT_MISSING);
  return (value) => value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))
    || (typeof value === 'string' && set.has(value.trim()));
}
