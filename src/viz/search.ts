/** The row picker's search over test records (no DOM: the Node tests import it). */

/**
 * Whether the row picker's search `query` (lower case) finds a test record: in the values of
 * `fields` (the schema's input fields) only. The record's other columns (its target, and columns
 * such as a source group that name the class) are left out, or searching a word would list the
 * rows of one class.
 */
export function recordMatches(record: Record<string, unknown>, fields: readonly string[], query: string): boolean {
  if (!query) return true;
  return fields.some((f) => {
    const v = record[f];
    if (v === null || v === undefined) return false;
    return (typeof v === 'object' ? JSON.stringify(v) : String(v)).toLowerCase().includes(query);
  });
}
