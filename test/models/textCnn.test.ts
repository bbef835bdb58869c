/**
 * TextCNN treats padding as zeros, so a row's output does not depend on the rows batched with it.
 * Before, padded positions held the embedding of id 0 (a trained row) or a time series' projection
 * of zeros (its bias), and a longer row in the batch changed a shorter row's convolutions near its end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, data, models } from '../../src/node.js';

test('TextCNN: a row gives the same output alone and beside a longer row (text and time series)', () => {
  const schema = {
    fields: [{ name: 't', kind: 'text' as const }, { name: 's', kind: 'timeSeries' as const, patchSize: 2 }],
    targets: [{ name: 'y', task: 'binary' as const }],
  };
  const records = [
    { t: 'a b', s: [1, 2, 3], y: 1 },
    { t: 'a b c d e f g', s: [1, 2, 3, 4, 5, 6, 7, 8, 9], y: 0 },
  ];
  const pre = data.Preprocessor.fit(schema, records);
  const { dataset } = pre.encode(records);
  for (const field of ['t', 's']) {
    const model = new models.TextCNN(pre.fieldInfo(), pre.targetInfo(), { field, dim: 4, channels: 3, kernelSizes: [3], rng: new Generator(1) });
    model.eval();
    // padding ids and padded patches must not count, whatever their embedding or projection
    if (model.input.embedding) model.input.embedding.weight.data.fill(0.5, 0, 4);
    if (model.input.proj) model.input.proj.bias!.data.fill(3);
    const alone = model.forward(dataset.batch([0])).outputs.y.data[0];
    const batched = model.forward(dataset.batch([0, 1])).outputs.y.data[0];
    assert.ok(Math.abs(alone - batched) <= 1e-6, `field ${field}: alone ${alone}, beside a longer row ${batched}`);
  }
});
