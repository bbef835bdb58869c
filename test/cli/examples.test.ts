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

test('data.limit of a built-in dataset keeps each class\'s share (limitBy stratified, the default): MNIST\'s first 160 rows were all zeros', async () => {
  const config = loadRunConfig(join(dir, 'mnist-cnn2d.yaml'), ['data.limit=160']);
  const { records } = await loadRecords(config);
  const all = (await loadRecords({ ...config, data: { ...config.data, limit: undefined } })).records;
  const count = (rs: typeof records): Map<string, number> => {
    const m = new Map<string, number>();
    for (const r of rs) m.set(String(r.label), (m.get(String(r.label)) ?? 0) + 1);
    return m;
  };
  const share = count(all), got = count(records);
  assert.equal(records.length, 160);
  assert.equal(got.size, 10);
  for (const [k, c] of share) assert.ok(Math.abs(got.get(k)! - (160 * c) / all.length) < 1, `class ${k}: ${got.get(k)} of 160 for ${c} of ${all.length}`);
  const first = (await loadRecords({ ...config, data: { ...config.data, limitBy: 'first' } })).records;
  assert.deepEqual([...count(first).keys()], ['0'], 'limitBy first: the adapter\'s first rows');
  const schema = { fields: [], targets: [{ name: 'y', task: 'binary' as const }] };
  const rows = ['a1', 'a2', 'a3', 'a4', 'b1'].map((id) => ({ id, y: id[0] === 'a' ? 0 : 1 }));
  assert.deepEqual(limitRows(rows, schema, 3).map((r) => r.id), ['a1', 'a2', 'b1'], 'shares 2.4 and 0.6 → 2 and 1, in the adapter\'s order');
  assert.deepEqual(limitRows(rows, { ...schema, targets: [{ name: 'y', task: 'regression' as const }] }, 3).map((r) => r.id), ['a1', 'a2', 'a3'], 'regression: the first n');
  assert.throws(() => loadRunConfig(join(dir, 'wages.yaml'), ['data.limitBy=stratified']), /limitBy 'stratified' is for a built-in dataset/);
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
