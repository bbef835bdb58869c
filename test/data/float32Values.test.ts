/**
 * Values the model cannot compute with are refused where they enter: a number beyond float32
 * (∞ once stored) or one that normalises beyond it, and strings that are not decimal numbers
 * (NaN, blanks, hex) unless the field declares them missing. Before, they became ∞/NaN and a
 * prediction of null.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataError, data } from '../../src/index.js';

const throwsData = (f: () => unknown, message: RegExp): void => assert.throws(f, (e: Error) => {
  assert.ok(e instanceof DataError, `${e.name}: ${e.message}`);
  assert.match(e.message, message);
  return true;
});

const schema = {
  fields: [
    { name: 'x', kind: 'numeric' }, { name: 'q', kind: 'numeric', normalize: 'quantile', missing: ['?'] },
    { name: 's', kind: 'timeSeries', patchSize: 2 }, { name: 'img', kind: 'image', height: 2, width: 2, patchSize: 1, scale: 0.5 },
  ],
  targets: [{ name: 'y', task: 'binary' }],
};
const rows = [
  { x: 0, q: 1, s: [1, 2, 3], img: [0, 1, 2, 3], y: 1 },
  { x: 0.001, q: 2, s: '4 5', img: [3, 2, 1, 0], y: 0 },
];

test('numeric cells beyond float32, or normalising beyond it, are DataErrors naming the row and field', () => {
  const pre = data.Preprocessor.fit(schema, rows);
  assert.equal(pre.encode(rows).dataset.size, 2);
  // x: mean 5e-4, std 5e-4 → 1e36 normalises to 2e39
  throwsData(() => pre.encode([rows[0], { ...rows[1], x: 1e42 }]), /records:row 2: field 'x': 1e\+42 is beyond the float32 range/);
  throwsData(() => pre.encode([{ ...rows[1], x: '1e42' }]), /records:row 1: field 'x': "1e42" is beyond the float32 range/);
  throwsData(() => pre.encode([{ ...rows[1], x: 1e36 }]), /records:row 1: field 'x': 1e\+36 normalises to 2(\.0+)?e\+39, beyond the float32 range/);
  throwsData(() => pre.encode([{ ...rows[1], q: -3.5e38 }]), /field 'q': -3\.5e\+38 is beyond the float32 range/);
  // the largest float32 itself is fine (quantile and 'none' keep it finite)
  assert.equal(pre.encode([{ ...rows[1], q: 3.4e38 }]).dataset.size, 1);
  // with 'skip' the row is left out and listed, with the reason
  const { dataset, skipped } = pre.encode([rows[0], { ...rows[1], x: 1e42 }], { onError: 'skip' });
  assert.equal(dataset.size, 1);
  assert.match(skipped[0].reason, /field 'x': 1e\+42 is beyond/);
  // fitting on such a value fails too, instead of an infinite mean
  throwsData(() => data.Preprocessor.fit(schema, [rows[0], { ...rows[1], x: 1e39 }]), /row 2: field 'x': 1e\+39 is beyond the float32 range/);
});

test('strings that are not decimal numbers are refused unless declared missing', () => {
  const pre = data.Preprocessor.fit(schema, rows);
  // q declares only '?' missing: 'NaN', a blank and hex are not numbers to it
  for (const bad of ['NaN', '  ', '0x10', 'inf', '1,5', 'Infinity']) {
    throwsData(() => pre.encode([{ ...rows[1], q: bad }]), new RegExp(`field 'q': expected a (decimal )?number, got ${JSON.stringify(JSON.stringify(bad)).slice(1, -1)}`));
  }
  assert.equal(pre.encode([{ ...rows[1], q: '?' }]).dataset.size, 1);
  // x keeps the default missing strings: 'NaN' and '' are missing there
  const enc = pre.encode([{ ...rows[1], x: 'NaN' }, { ...rows[1], x: '' }, { ...rows[1], x: ' -1.5e3 ' }, { ...rows[1], x: '+.5' }]).dataset;
  assert.ok(enc.size === 4);
});

test('time series and image values beyond float32 are refused, after scaling too', () => {
  const pre = data.Preprocessor.fit(schema, rows);
  throwsData(() => pre.encode([{ ...rows[0], s: [1, 1e40] }]), /records:row 1: field 's': element 1 \(1e\+40\) is beyond the float32 range/);
  throwsData(() => pre.encode([{ ...rows[0], s: '1 2e39' }]), /field 's': element 1 \("2e39"\) is beyond the float32 range/);
  // img is divided by 0.5: 3e38 becomes 6e38
  throwsData(() => pre.encode([{ ...rows[0], img: [0, 0, 0, 3e38] }]), /field 'img': element 3 \(3e\+38\) scales to 6(\.0+)?e\+38, beyond the float32 range/);
});

test('validateRecords refuses numbers beyond float32 in requests, naming the path', () => {
  const pre = data.Preprocessor.fit(schema, rows);
  throwsData(() => data.validateRecords(pre.fieldInfo(), { records: [{ x: 1 }, { x: 1e42 }] }, { where: 'POST /predict' }),
    /POST \/predict: invalid request — records\[1\]\.x: 1e\+42 is beyond the float32 range/);
  throwsData(() => data.validateRecords(pre.fieldInfo(), { s: [0, -1e39] }, { where: 'POST /predict' }), /invalid request — s\[1\]: -1e\+39 is beyond the float32 range/);
  assert.deepEqual(data.validateRecords(pre.fieldInfo(), { x: 3.4e38 }), [{ x: 3.4e38 }]);
});

test('regression targets beyond float32 (or not decimal numbers) stay out of the fitted mean and are DataErrors naming the row', () => {
  const s = { fields: [{ name: 'x', kind: 'numeric' }], targets: [{ name: 'v', task: 'regression' }] };
  const good = [{ x: 1, v: 1 }, { x: 2, v: '3' }];
  const bad = [...good, { x: 3, v: 1e42 }, { x: 4, v: '0x10' }];
  const pre = data.Preprocessor.fit(s, bad);
  assert.deepEqual(pre.targetInfo()[0].mean, 2, 'the mean of 1 and 3 (1e42 would make it 3.3e41)');
  throwsData(() => pre.encode(bad), /records:row 3: target 'v': 1e\+42 is beyond the float32 range/);
  throwsData(() => pre.encode(bad.slice(3)), /records:row 1: target 'v': expected a number, got "0x10"/);
  throwsData(() => pre.encode([{ x: 1, v: '-5e38' }]), /records:row 1: target 'v': "-5e38" is beyond the float32 range/);
  const { dataset, skipped } = pre.encode(bad, { onError: 'skip' });
  assert.deepEqual(Array.from(dataset.targets.v.values), [-1, 1]);
  assert.deepEqual(skipped.map((k) => k.index), [2, 3]);
});

test('a value nested a million deep is a short DataError, not a RangeError from printing it', () => {
  const pre = data.Preprocessor.fit(schema, rows);
  let deep: unknown = 1;
  for (let i = 0; i < 1_000_000; i++) deep = [deep];
  for (const bad of [{ ...rows[0], x: deep }, { ...rows[0], s: deep }, { ...rows[0], img: deep }]) {
    assert.throws(() => pre.encode([bad]), (e: Error) => e instanceof DataError && e.message.length < 1000);
  }
});

test('a regression target with no decimal number within float32 is refused at fit, naming the target', () => {
  const reg = { fields: [{ name: 'x', kind: 'numeric' }], targets: [{ name: 'price', task: 'regression' }] };
  throwsData(() => data.Preprocessor.fit(reg, [{ x: 1, price: 'n/a' }, { x: 2, price: 1e42 }, { x: 3, price: '0x10' }]), /Preprocessor\.fit: target 'price'.*no decimal number within float32/);
  const ok = data.Preprocessor.fit(reg, [{ x: 1, price: 'n/a' }, { x: 2, price: 3 }]);
  assert.equal(ok.targetInfo()[0].mean, 3);
});

test('one rule for a numeric cell: a boolean is 0/1 in a numeric field, a regression target and a series alike', () => {
  // before, a numeric field took true as 1 while a regression target refused it (and fit left it out of its mean)
  const s = { fields: [{ name: 'x', kind: 'numeric', normalize: 'none' }, { name: 's', kind: 'timeSeries', patchSize: 2 }], targets: [{ name: 'v', task: 'regression' }] };
  const recs = [{ x: true, s: [true, 0], v: true }, { x: false, s: [1, 1], v: 3 }];
  const pre = data.Preprocessor.fit(s, recs);
  const { dataset } = pre.encode(recs);
  assert.equal(dataset.size, 2);
  // v's standardisation was fitted over both rows (mean 2), so the two targets are ∓1
  const y = Array.from(dataset.batch([0, 1]).targets.v.data as Float32Array);
  assert.deepEqual(y, [-1, 1]);
});
