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

/** Rows the picker lists on one page (a long list is paged, so every row can be reached). */
export const PICKER_PAGE = 200;

/**
 * Page `page` (clamped to the pages there are) of the picker's filtered, ordered row list `idx`:
 * its rows, the page, the number of pages (at least 1), the position of its first row and the page size.
 */
export function pickerPage(idx: readonly number[], page: number, size = PICKER_PAGE): { rows: number[]; page: number; pages: number; from: number; size: number } {
  const pages = Math.max(1, Math.ceil(idx.length / size));
  const p = Math.min(pages - 1, Math.max(0, Math.floor(page)));
  return { rows: idx.slice(p * size, (p + 1) * size), page: p, pages, from: p * size, size };
}
