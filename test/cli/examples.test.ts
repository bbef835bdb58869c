/** Every example config validates, and each (but the SpamAssassin ones, whose corpus is large) trains one epoch on a slice of its data. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { limitRows, loadRecords, loadRunConfig, trainFromConfigFile } from '../../src/cli/runFile.js';

const dir = 'examples/configs';
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

test('the example configs cover every model family and validate', () => {
  const types = new Set(files.map((f) => loadRunConfig(join(dir, f)).model.type));
  assert.deepEqual([...types].sort(), ['cnn2d', 'fusion', 'linear', 'mlp', 'tcn', 'textCnn']);
  const strategies = new Set(files.map((f) => loadRunConfig(join(dir, f)).model).flatMap((m) => (m.type === 'fusion' ? [m.strategy ?? 'early'] : [])));
  assert.deepEqual([...strategies].sort(), ['crossModal', 'early', 'latent']);
});

test('data.limit of a built-in dataset takes its rows from each class in turn: MNIST\'s first 160 were all zeros', async () => {
  const { records } = await loadRecords({ ...loadRunConfig(join(dir, 'mnist-cnn2d.yaml'), ['data.limit=160']) });
  const counts = new Map<string, number>();
  for (const r of records) counts.set(String(r.label), (counts.get(String(r.label)) ?? 0) + 1);
  assert.equal(records.length, 160);
  assert.deepEqual([...counts.values()], new Array(10).fill(16));
  const schema = { fields: [], targets: [{ name: 'y', task: 'binary' as const }] };
  const rows = ['a1', 'a2', 'a3', 'a4', 'b1'].map((id) => ({ id, y: id[0] === 'a' ? 0 : 1 }));
  assert.deepEqual(limitRows(rows, schema, 3).map((r) => r.id), ['a1', 'b1', 'a2'], 'in turn, each class in the adapter\'s order');
  assert.deepEqual(limitRows(rows, { ...schema, targets: [{ name: 'y', task: 'regression' as const }] }, 3).map((r) => r.id), ['a1', 'a2', 'a3'], 'regression: the first n');
});

for (const f of files.filter((x) => !x.startsWith('spam'))) {
  test(`examples/configs/${f} trains one epoch on 160 rows`, async () => {
    const run = await trainFromConfigFile(join(dir, f), { set: ['train.epochs=1', 'data.limit=160', 'train.patience=1'] });
    assert.equal(run.history.length, 1);
    assert.ok(Number.isFinite(run.history[0].trainLoss));
    assert.ok(run.metrics, `${f}: test metrics`);
    for (const m of Object.values(run.metrics)) for (const [k, v] of Object.entries(m)) assert.ok(Number.isFinite(v) || k === 'auc', `${f}: ${k} = ${v}`);
  });
}
