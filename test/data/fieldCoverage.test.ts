/** fieldCoverage: what `attnkit predict` warns about (or refuses with --strict). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { data } from '../../src/index.js';

test('fieldCoverage: fields no record has, and named keys that are neither fields nor targets', () => {
  const fields = [{ name: 'a' }, { name: 'b' }, { name: 'c' }];
  const records = [{ a: 1, zz: 2, '': '' }, { a: null, y: 1, b: undefined }];
  assert.deepEqual(data.fieldCoverage(fields, records, [{ name: 'y' }]), { absent: ['c'], unknown: ['zz'] });
  assert.deepEqual(data.fieldCoverage(fields, [{ a: 1, b: 2, c: 3 }]), { absent: [], unknown: [] });
});
