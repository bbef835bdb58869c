/**
 * The viewer's row search (src/viz/search.ts `recordMatches`): it looks in the record's input
 * fields only, so a word that is a class name (the target's value, or a column such as the
 * SpamAssassin `group` that names the class) does not list every row of that class.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickerPage, recordMatches } from '../../src/viz/search.js';

test('recordMatches: searches the input fields, not the target or other columns', () => {
  const fields = ['subject', 'body', 'links'];
  const ham = { subject: 'Re: lunch', body: 'see you at noon', links: 3, group: 'easy_ham', label: 'ham' };
  assert.equal(recordMatches(ham, fields, 'ham'), false, 'the class name in label and group is not searched');
  assert.equal(recordMatches(ham, fields, 'lunch'), true);
  assert.equal(recordMatches(ham, fields, 'noon'), true);
  assert.equal(recordMatches(ham, fields, '3'), true, 'numbers are searched as text');
  assert.equal(recordMatches(ham, fields, ''), true, 'an empty query finds every row');
  const review = { text: 'Great phone', source: 'amazon', label: 1 };
  assert.equal(recordMatches(review, ['text', 'source'], '1'), false);
  assert.equal(recordMatches(review, ['text', 'source'], 'great'), true);
  assert.equal(recordMatches({ subject: null, body: 'x' }, fields, 'null'), false, 'a missing value is not the word null');
});

test('pickerPage: every row of a long list is reachable, a page at a time', () => {
  const idx = Array.from({ length: 1209 }, (_, i) => 1208 - i);
  const seen: number[] = [];
  const first = pickerPage(idx, 0);
  assert.equal(first.pages, Math.ceil(1209 / first.size));
  for (let p = 0; p < first.pages; p++) {
    const pg = pickerPage(idx, p);
    assert.equal(pg.page, p);
    assert.equal(pg.from, p * pg.size);
    seen.push(...pg.rows);
  }
  assert.deepEqual(seen, idx, 'the pages in order list every row once');
  assert.equal(pickerPage(idx, 99).page, first.pages - 1, 'a page past the end shows the last');
  assert.equal(pickerPage(idx, -3).page, 0);
  assert.deepEqual(pickerPage([], 2), { rows: [], page: 0, pages: 1, from: 0, size: first.size }, 'an empty list is one empty page');
});
