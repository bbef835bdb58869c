/** Every example config validates, and each (but the SpamAssassin ones, whose corpus is large) trains one epoch on a slice of its data. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadRunConfig, trainFromConfigFile } from '../../src/cli/runFile.js';

const dir = 'examples/configs';
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

test('the example configs cover every model family and validate', () => {
  const types = new Set(files.map((f) => loadRunConfig(join(dir, f)).model.type));
  assert.deepEqual([...types].sort(), ['cnn2d', 'fusion', 'linear', 'mlp', 'tcn', 'textCnn']);
  const strategies = new Set(files.map((f) => loadRunConfig(join(dir, f)).model).flatMap((m) => (m.type === 'fusion' ? [m.strategy ?? 'early'] : [])));
  assert.deepEqual([...strategies].sort(), ['crossModal', 'early', 'latent']);
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
