/**
 * A binary target without `positive` reads 'positive' / 'negative' as 1 / 0, as it reads yes / no:
 * a run trained on the `sentiment` dataset while its labels were 0 / 1 (its saved schema names no
 * positive class) still encodes the dataset's records now that they say 'negative' / 'positive'
 * (attnkit inspect, evaluate and predict on such a run).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { data } from '../../src/index.js';

test('binary target without positive: positive / negative (and pos / neg) read as 1 / 0', () => {
  const schema: data.Schema = { fields: [{ name: 'text', kind: 'text', minCount: 1 }], targets: [{ name: 'label', task: 'binary' }] };
  const old = data.Preprocessor.fit(schema, [{ text: 'good', label: 1 }, { text: 'bad', label: 0 }]);
  const again = data.Preprocessor.fromState(JSON.parse(JSON.stringify(old.state())));
  const rows = [{ text: 'good', label: 'positive' }, { text: 'bad', label: 'negative' }, { text: 'good', label: 'POS' }, { text: 'bad', label: 'neg' }];
  assert.deepEqual(Array.from(again.encode(rows).dataset.batch([0, 1, 2, 3]).targets.label.data), [1, 0, 1, 0]);
  const named = data.Preprocessor.fit(schema, rows.slice(0, 2));
  assert.deepEqual(named.targetInfo()[0].classes, ['negative', 'positive'], 'the class names as the rows spell them');
});
