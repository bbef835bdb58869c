/** The README's code blocks are real code: extract them and run them against the sources. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Runs the first ts block under `heading`, exporting `names`; returns the module. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the block's exports are checked field by field below
async function runBlock(heading: string, names: string[], replace?: [string, string]): Promise<Record<string, any>> {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.split(heading)[1];
  const block = section && /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, `no ts block under '${heading}'`);
  assert.ok(!replace || block.includes(replace[0]), `the '${heading}' block has no ${replace?.[0]}`);
  const src = pathToFileURL(resolve('src/index.ts')).href;
  const dir = mkdtempSync(join(resolve('.'), '.readme-'));
  try {
    const file = join(dir, 'block.ts');
    const code = replace ? block.replace(replace[0], replace[1]) : block;
    writeFileSync(file, `${code.replace("from 'attnkit'", `from '${src}'`)}\nexport { ${names.join(', ')} };\n`);
    return await import(pathToFileURL(file).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const shape = (t: { shape: readonly number[] }): number[] => [...t.shape];

test('the README API tour runs', async () => {
  const mod = await runBlock('## A tour of the API', ['weights', 'loss', 'logits', 'proj']);
  assert.deepEqual(shape(mod.weights), [2, 4, 6]);
  assert.equal(mod.weights.data[4], 0, 'masked key must get zero weight');
  assert.ok(Number.isFinite(mod.loss.item()));
  assert.ok(mod.proj.weight.grad, 'backward filled the gradient');
  assert.deepEqual(shape(mod.logits), [2, 4, 3]);
});

test('the README attention-family example runs and gives the shapes it states', async () => {
  const m = await runBlock('## The attention family', [
    'ctx', 'sdpaWeights', 'merged', 'scoreWeights', 'attended', 'headWeights', 'crossOut', 'pooled', 'bag', 'fit',
    'encoded', 'layerWeights', 'decoded', 'pe', 'rotated', 'alibi', 'encoder',
  ]);
  assert.deepEqual(shape(m.ctx), [2, 4, 5, 8]);
  assert.deepEqual(shape(m.sdpaWeights), [2, 4, 5, 5]);
  assert.equal(m.sdpaWeights.data[(1 * 4 * 5 + 4) * 5 + 3], 0, 'padded key 3 of sample 1 gets no weight');
  assert.deepEqual(shape(m.merged), [2, 5, 16]);
  assert.deepEqual(shape(m.scoreWeights), [2, 5, 5]);
  assert.deepEqual(shape(m.attended), [2, 5, 16]);
  assert.deepEqual(shape(m.headWeights), [2, 4, 5, 5]);
  assert.deepEqual(shape(m.crossOut), [2, 5, 16]);
  assert.deepEqual(shape(m.pooled), [2, 16]);
  assert.deepEqual(shape(m.bag.output), [2, 16]);
  assert.deepEqual(shape(m.bag.weights), [2, 5]);
  assert.deepEqual(shape(m.fit), [1, 2]);
  assert.deepEqual(shape(m.encoded), [2, 5, 16]);
  assert.equal(m.layerWeights.length, 2);
  assert.deepEqual(shape(m.layerWeights[1]), [2, 4, 5, 5]);
  assert.deepEqual(shape(m.decoded), [2, 3, 16]);
  assert.deepEqual(shape(m.pe), [5, 16]);
  assert.deepEqual(shape(m.rotated), [2, 4, 5, 8]);
  assert.deepEqual(shape(m.alibi), [1, 4, 5, 5]);
  assert.ok(m.encoder.parameters().every((p: { grad: unknown }) => p.grad), 'backward reached every encoder parameter');
});

test('the README long-input / modality / hierarchy example runs and gives the shapes it states', async () => {
  const m = await runBlock('## Long inputs, modalities and hierarchy', [
    'local', 'sparseOut', 'lin', 'pOut', 'lOut', 'fused', 'crossWeights', 'latents', 'logits', 'wordWeights', 'sentenceWeights',
  ]);
  for (const name of ['local', 'lin']) assert.deepEqual(shape(m[name]), [2, 4, 256, 8], name);
  for (const name of ['sparseOut', 'pOut', 'lOut', 'fused']) assert.deepEqual(shape(m[name]), [2, 256, 32], name);
  assert.equal(m.crossWeights.length, 2);
  assert.deepEqual(shape(m.crossWeights[0]), [2, 4, 256, 50]);
  assert.deepEqual(shape(m.latents), [2, 8, 32]);
  assert.deepEqual(shape(m.logits), [1, 2]);
  assert.deepEqual(shape(m.wordWeights), [1, 2, 4]);
  assert.equal(m.wordWeights.data[3], 0, 'padding word gets no weight');
  assert.deepEqual(shape(m.sentenceWeights), [1, 2]);
});

test('the README fusion example runs: composite block, schema, preprocessing, fusion model, fit, gates', async () => {
  const m = await runBlock('## Heterogeneous data and fusion', ['mixed', 'batch', 'result', 'metrics', 'gates', 'model']);
  assert.deepEqual(shape(m.mixed), [2, 5, 16]);
  assert.equal(m.batch.fields.review.ids.shape[0], 3);
  assert.deepEqual(shape(m.batch.fields.review.mask), shape(m.batch.fields.review.ids));
  assert.ok(m.result.history.length >= 1);
  assert.ok(m.metrics.churn.accuracy > 0.9, `churn is a function of the review words: ${JSON.stringify(m.metrics)}`);
  assert.deepEqual(Object.keys(m.gates), ['blocks.layers.0']);
  assert.deepEqual(m.gates['blocks.layers.0'].names, ['selfAttention', 'conv']);
  const g = m.gates['blocks.layers.0'].values;
  assert.ok(Math.abs(g[0] + g[1] - 1) < 1e-6 && g[0] !== 0.5, 'static gates are a distribution that training moved');
});

test('the README PyTorch-weights example loads a PyTorch file and writes it back', async () => {
  // the example reads the file its Python snippet writes; here: the fixture PyTorch wrote from that same layer
  const fixture = resolve('test/fixtures/torch_safetensors/transformer_encoder_layer.safetensors');
  const m = await runBlock('## PyTorch weights in and out, ONNX out', ['y', 'bytes', 'layer'], ["'encoder_layer.safetensors'", JSON.stringify(fixture)]);
  assert.deepEqual(shape(m.y), [2, 5, 8]);
  assert.ok(m.bytes.length > 1000);
  assert.ok(Object.keys(m.layer.stateDict()).includes('selfAttn.inProjWeight'));
});

test('the README ONNX example exports a block stack and ONNX Runtime matches attnkit', async () => {
  const m = await runBlock('### ONNX out', ['y', 'expected', 'maxError']);
  assert.deepEqual([...m.y.dims], [2, 7, 16]);
  assert.deepEqual(shape(m.expected), [2, 7, 16]);
  assert.ok(m.maxError <= 1e-4 && m.maxError >= 0, `max error ${m.maxError}`);
});
