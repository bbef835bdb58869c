/**
 * A binary target without `positive` reads 'positive' / 'negative' as 1 / 0, as it reads yes / no:
 * a run trained on the `sentiment` dataset while its labels were 0 / 1 (its saved schema names no
 * positive class) still encodes the dataset's records now that they say 'negative' / 'positive'
 * (attnkit inspect, evaluate and predict on such a run).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { data } from '../../src/index.js';
import { DataError } from '../../src/errors.js';

test('binary target without positive: positive / negative (and pos / neg) read as 1 / 0', () => {
  const schema: data.Schema = { fields: [{ name: 'text', kind: 'text', minCount: 1 }], targets: [{ name: 'label', task: 'binary' }] };
  const old = data.Preprocessor.fit(schema, [{ text: 'good', label: 1 }, { text: 'bad', label: 0 }]);
  const again = data.Preprocessor.fromState(JSON.parse(JSON.stringify(old.state())));
  const rows = [{ text: 'good', label: 'positive' }, { text: 'bad', label: 'negative' }, { text: 'good', label: 'POS' }, { text: 'bad', label: 'neg' }];
  assert.deepEqual(Array.from(again.encode(rows).dataset.batch([0, 1, 2, 3]).targets.label.data), [1, 0, 1, 0]);
  const named = data.Preprocessor.fit(schema, rows.slice(0, 2));
  assert.deepEqual(named.targetInfo()[0].classes, ['negative', 'positive'], 'the class names as the rows spell them');
});

test('Preprocessor.fit checks class targets: unreadable binary labels and a single class are DataErrors naming the row or class; loss is for regression only', () => {
  const schema: data.Schema = { fields: [{ name: 'a', kind: 'numeric' }], targets: [{ name: 'y', task: 'binary' }] };
  // 'M' / 'B' name no side without `positive`: fit refused them at encode only, after making up classes ['0', '1']
  assert.throws(() => data.Preprocessor.fit(schema, [{ a: 1, y: 'B' }, { a: 2, y: 'M' }]),
    (e: Error) => e instanceof DataError && /Preprocessor\.fit: records:row 1: target 'y': a binary target needs 0\/1.*set 'positive'.*"B"/.test(e.message));
  assert.deepEqual(data.Preprocessor.fit({ ...schema, targets: [{ name: 'y', task: 'binary', positive: 'M' }] }, [{ a: 1, y: 'B' }, { a: 2, y: 'M' }]).targetInfo()[0].classes, ['B', 'M']);
  // onError 'skip' (prepareRun's pass that finds bad rows) leaves an unreadable label out; encode then drops its row
  const skipped = data.Preprocessor.fit(schema, [{ a: 1, y: 'no' }, { a: 2, y: 'maybe' }, { a: 3, y: 'yes' }], { onError: 'skip' });
  assert.deepEqual(skipped.encode([{ a: 1, y: 'no' }, { a: 2, y: 'maybe' }], { onError: 'skip' }).skipped.map((s) => s.index), [1]);
  // one class in the training rows would train a constant (classes were ['0', 'yes'])
  assert.throws(() => data.Preprocessor.fit(schema, [{ a: 1, y: 'yes' }, { a: 2, y: 'yes' }]),
    (e: Error) => e instanceof DataError && /binary target 'y' has one class in the training rows \(only 'yes', 2 rows\)/.test(e.message));
  assert.throws(() => data.Preprocessor.fit({ ...schema, targets: [{ name: 'y', task: 'multiclass' }] }, [{ a: 1, y: 'x' }, { a: 2, y: 'x' }, { a: 3, y: null }]),
    (e: Error) => e instanceof DataError && /multiclass target 'y' has one class in the training rows \(only 'x', 2 rows\)/.test(e.message));
  const both = data.Preprocessor.fit({ ...schema, targets: [{ name: 'y', task: 'binary' }, { name: 'v', task: 'regression', loss: 'huber' }, { name: 'w', task: 'regression' }] },
    [{ a: 1, y: 'no', v: 1, w: 2 }, { a: 2, y: 'yes', v: 3, w: 5 }]);
  assert.deepEqual(both.targetInfo().map((t) => t.loss), [undefined, 'huber', 'mse']);
  assert.ok(!('loss' in both.targetInfo()[0]), 'no loss key on a class target');
});
