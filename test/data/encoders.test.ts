/** Schema validation and every field encoder, with hand-computed expectations. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DataError, data } from '../../src/index.js';

const where = (i: number): string => `t.csv:${i + 2}: field 'f'`;

test('parseSchema accepts every kind and rejects unknown keys, bad kinds and duplicate names with paths', () => {
  const s = data.parseSchema({ fields: [
    { name: 'a', kind: 'numeric', normalize: 'quantile' }, { name: 'b', kind: 'categorical' }, { name: 'c', kind: 'text' },
    { name: 'd', kind: 'keyValue' }, { name: 'e', kind: 'timeSeries', patchSize: 4 }, { name: 'f', kind: 'image', height: 4, width: 4, patchSize: 2 },
  ], targets: [{ name: 'y', task: 'binary' }] });
  assert.equal(s.fields.length, 6);
  assert.throws(() => data.parseSchema({ fields: [{ name: 'a', kind: 'numeric', normalise: 'standard' }] }), (e: Error) => e instanceof ConfigError && /fields\[0\]\.normalise: unknown key/.test(e.message));
  assert.throws(() => data.parseSchema({ fields: [{ name: 'a', kind: 'number' }] }), (e: Error) => e instanceof ConfigError && /fields\[0\]/.test(e.message));
  assert.throws(() => data.parseSchema({ fields: [{ name: 'a', kind: 'timeSeries' }] }), (e: Error) => e instanceof ConfigError && /patchSize/.test(e.message));
  assert.throws(() => data.parseSchema({ fields: [{ name: 'a', kind: 'numeric' }], targets: [{ name: 'a', task: 'regression' }] }), /declared twice/);
  assert.throws(() => data.parseSchema({ fields: [] }), ConfigError);
});

test('NumericEncoder: standard scaling, log1p, missing values flagged, bad cells named', () => {
  const enc = new data.NumericEncoder({ name: 'f', kind: 'numeric' });
  enc.fit(['1', 2, '3', 'NA', '', null, 6], where);
  // present values 1, 2, 3, 6: mean 3, population std √(14/4)
  const std = Math.sqrt(14 / 4);
  assert.deepEqual(enc.encode('6', 'x'), { value: 3 / std, present: true });
  assert.deepEqual(enc.encode('NA', 'x'), { value: 0, present: false });
  assert.deepEqual(enc.encode(NaN, 'x'), { value: 0, present: false });
  assert.throws(() => enc.encode('abc', "t.csv:7: field 'f'"), (e: Error) => e instanceof DataError && e.message === 't.csv:7: field \'f\': expected a number, got "abc"');
  const log = new data.NumericEncoder({ name: 'f', kind: 'numeric', log: true, normalize: 'none' });
  log.fit([0, 1], where);
  assert.ok(Math.abs(log.encode(Math.E - 1, 'x').value - 1) < 1e-12);
  assert.throws(() => log.encode(-2, 'here'), /log1p needs values > −1/);
  assert.throws(() => new data.NumericEncoder({ name: 'f', kind: 'numeric' }).fit(['', 'NA'], where), /no present value/);
});

test('NumericEncoder quantile: monotone, the median maps to 0, outliers stay bounded', () => {
  const enc = new data.NumericEncoder({ name: 'f', kind: 'numeric', normalize: 'quantile' });
  const xs = Array.from({ length: 101 }, (_, i) => i ** 3);       // heavily skewed
  enc.fit(xs, where);
  const v = xs.map((x) => enc.encode(x, 'x').value);
  for (let i = 1; i < v.length; i++) assert.ok(v[i] > v[i - 1], `monotone at ${i}`);
  assert.ok(Math.abs(enc.encode(50 ** 3, 'x').value) < 1e-9, 'median → 0');
  assert.ok(enc.encode(1e12, 'x').value <= 5.2 && enc.encode(-1e12, 'x').value >= -5.2);
  assert.ok(Math.abs(data.normalQuantile(0.975) - 1.959963985) < 1e-8);
});

test('CategoricalEncoder: 0 missing, 1 unknown, frequency order, minCount and maxCategories', () => {
  const enc = new data.CategoricalEncoder({ name: 'f', kind: 'categorical', minCount: 2 });
  enc.fit(['b', 'a', 'b', 'c', 'a', 'b', 'NA', 'd']);
  assert.deepEqual(enc.state().categories, ['b', 'a']);               // c and d seen once
  assert.deepEqual(['b', 'a', 'c', 'zzz', '', null].map((v) => enc.encode(v)), [2, 3, 1, 1, 0, 0]);
  assert.equal(enc.size, 4);
  const top = new data.CategoricalEncoder({ name: 'f', kind: 'categorical', maxCategories: 1 });
  top.fit(['x', 'y', 'y']);
  assert.deepEqual(top.state().categories, ['y']);
  const restored = new data.CategoricalEncoder({ name: 'f', kind: 'categorical' }, enc.state());
  assert.equal(restored.encode('a'), 3);
});

test('text: tokenizer, fitted vocabulary with padding 0 / unknown 1, truncation', () => {
  assert.deepEqual(data.tokenize("Don't PANIC!! costs $5"), ["don't", 'panic', '!', '!', 'costs', '$', '5']);
  assert.deepEqual(data.tokenize('ab c', 'char'), ['a', 'b', ' ', 'c']);
  const enc = new data.TextFieldEncoder({ name: 'f', kind: 'text', maxLength: 3, minCount: 2 });
  enc.fit(['the cat', 'the dog', 'a cat sat'], where);
  // the and cat are seen twice each (a, dog, sat once): a frequency tie sorts by token, so cat = 2, the = 3
  assert.deepEqual(enc.state().vocabulary, ['cat', 'the']);
  assert.deepEqual(Array.from(enc.encode('the cat sat on the mat', 'x')), [3, 2, 1]);
  assert.deepEqual(Array.from(enc.encode('', 'x')), []);
  assert.throws(() => enc.encode({ a: 1 }, "f.jsonl:3: field 'f'"), /f\.jsonl:3: field 'f': expected text/);
});

test('key–value: header blocks with continuation lines, objects and pairs; key marker then value tokens', () => {
  const block = 'Subject: Win money\nReceived: from a\n\tby b\nX-Flag:\n';
  assert.deepEqual(data.parsePairs(block, 'x'), [['Subject', 'Win money'], ['Received', 'from a by b'], ['X-Flag', '']]);
  assert.deepEqual(data.parsePairs({ a: 1, b: null }, 'x'), [['a', '1'], ['b', '']]);
  assert.deepEqual(data.parsePairs([['k', 'v']], 'x'), [['k', 'v']]);
  assert.throws(() => data.parsePairs(42, 'here'), /here: expected key–value pairs/);
  const enc = new data.KeyValueEncoder({ name: 'h', kind: 'keyValue', minCount: 1, maxValueTokens: 2 });
  enc.fit([{ subject: 'win money now' }, { subject: 'hello', to: 'me' }], where);
  const cell = enc.encode({ Subject: 'win big money', cc: 'x' }, 'x');
  const kSub = enc.keyVocab!.id('subject');
  assert.ok(kSub >= 2);
  // subject → [marker, win, big(unknown)]; cc (unknown key) → [marker, x(unknown)]
  assert.deepEqual(Array.from(cell.ids), [data.KEY_MARKER_ID, enc.vocab!.id('win'), data.UNK_ID, data.KEY_MARKER_ID, data.UNK_ID]);
  assert.deepEqual(Array.from(cell.keys), [kSub, kSub, kSub, 1, 1]);
});

test('SeriesEncoder: last patches kept, short head left-padded, standard and instance normalisation', () => {
  const enc = new data.SeriesEncoder({ name: 's', kind: 'timeSeries', patchSize: 2, maxPatches: 2, normalize: 'none' });
  enc.fit([[1, 2, 3]], where);
  assert.deepEqual(enc.encode([1, 2, 3, 4, 5, 6, 7], 'x'), { patches: Float32Array.from([4, 5, 6, 7]), count: 2 });
  assert.deepEqual(enc.encode('1,2,3', 'x'), { patches: Float32Array.from([1, 1, 2, 3]), count: 2 });
  assert.equal(enc.encode('NA', 'x').count, 0);
  assert.throws(() => enc.encode([1, 'x'], 'here'), /here: element 1 is not a finite number/);
  const std = new data.SeriesEncoder({ name: 's', kind: 'timeSeries', patchSize: 2 });
  std.fit([[0, 2], [4, 6]], where);                              // mean 3, std √5
  assert.ok(Math.abs(std.encode([3, 3 + Math.sqrt(5)], 'x').patches[1] - 1) < 1e-6);
  const inst = new data.SeriesEncoder({ name: 's', kind: 'timeSeries', patchSize: 2, normalize: 'instance' });
  inst.fit([[0]], where);
  assert.deepEqual(Array.from(inst.encode([10, 12], 'x').patches), [-1, 1]);
});

test('ImageEncoder: row-major patches in raster order, scaled; wrong sizes are DataErrors', () => {
  const enc = new data.ImageEncoder({ name: 'i', kind: 'image', height: 2, width: 4, patchSize: 2, scale: 10 });
  // image rows: [0 1 2 3], [4 5 6 7] → patch 0 = (0,1,4,5), patch 1 = (2,3,6,7)
  assert.deepEqual(Array.from(enc.encode([0, 1, 2, 3, 4, 5, 6, 7], 'x')!), [0, 0.1, 0.4, 0.5, 0.2, 0.3, 0.6, 0.7].map(Math.fround));
  assert.equal(enc.encode(null, 'x'), null);
  assert.throws(() => enc.encode([1, 2, 3], 'img.jsonl:4: field \'i\''), /img\.jsonl:4: field 'i': an image of 2×4×1 needs 8 values, got 3/);
  assert.throws(() => new data.ImageEncoder({ name: 'i', kind: 'image', height: 3, width: 4, patchSize: 2 }), /must divide/);
});
