/**
 * The viewer's row search (src/viz/search.ts `recordMatches`): it looks in the record's input
 * fields only, so a word that is a class name (the target's value, or a column such as the
 * SpamAssassin `group` that names the class) does not list every row of that class.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordMatches } from '../../src/viz/search.js';

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
