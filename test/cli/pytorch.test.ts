/**
 * `attnkit export --format pytorch` + `attnkit encode`: for every model type the CLI trains and
 * every fusion strategy, the generated model.py run by PyTorch on the encoded file gives
 * attnkit's outputs (≤ 1e-5) for every target; what the export cannot express is a ConfigError
 * naming the option. Skips (saying why) where /usr/bin/python3 has no torch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '../../src/autograd/tape.js';
import { readRecords } from '../../src/data/node/readers.js';
import { loadRunModel, readRun } from '../../src/cli/runDir.js';
import { exportPytorch } from '../../src/cli/pytorch/export.js';
import { encodeRun } from '../../src/cli/pytorch/encode.js';
import { ConfigError } from '../../src/errors.js';
import type { FusionModel } from '../../src/models/fusion.js';
import { FIXTURE, SCHEMA, python, skipTorch, tinyRun, tmp } from './pytorchSetup.js';

const dir = tmp('pytorch');

/** model.py's outputs on every row of the encoded file, as {target: flat list}. */
const FORWARD_PY = `
import json, sys, torch
from model import Model
from safetensors_io import load_file
torch.set_num_threads(1)
model = Model()
model.load_state_dict(load_file("model.safetensors")[0], strict=True)
model.eval()
batch, _ = load_file(sys.argv[1])
with torch.no_grad():
    out = model(batch)
print(json.dumps({k: v.double().flatten().tolist() for k, v in out.items()}))
`;

const MODELS: Record<string, string> = {
  'fusion early': '{ type: fusion, strategy: early, dim: 8, heads: 2, layers: 2, dropout: 0 }',
  'fusion crossModal': '{ type: fusion, strategy: crossModal, dim: 8, heads: 2, layers: 1, dropout: 0 }',
  'fusion latent': '{ type: fusion, strategy: latent, dim: 8, heads: 2, layers: 1, numLatents: 3, dropout: 0 }',
  'fusion of one source (crossModal attends to itself)': '{ type: fusion, strategy: crossModal, dim: 8, heads: 2, layers: 1, sources: [doc] }',
  'fusion early with a parallel block (causal selfAttention ‖ conv, attention merge)':
    '{ type: fusion, dim: 8, layers: 2, block: { type: parallel, merge: attention, branches: [{ type: selfAttention, numHeads: 2, causal: true }, { type: conv, kernelSize: 3 }] } }',
  'fusion early with a serial block (transformer → feedForward, post-norm)':
    '{ type: fusion, dim: 8, layers: 1, block: { type: serial, norm: post, layers: [{ type: transformer, numHeads: 2 }, { type: feedForward, activation: relu }] } }',
  'fusion early with a fusion block (local ‖ linear attention, token gates)':
    '{ type: fusion, dim: 8, layers: 1, block: { type: fusion, gate: token, mechanisms: [{ type: localAttention, numHeads: 2, window: 1 }, { type: linearAttention, numHeads: 2 }] } }',
  'fusion early with nested blocks (gated parallel of a causal conv and a static-gate fusion of concat parallel)':
    '{ type: fusion, dim: 8, layers: 1, block: { type: parallel, merge: gated, branches: [{ type: conv, kernelSize: 2, causal: true }, { type: fusion, mechanisms: [{ type: parallel, merge: concat, branches: [{ type: feedForward }, { type: selfAttention, numHeads: 2 }] }, { type: serial, residual: false, norm: none, layers: [{ type: conv, kernelSize: 3, dilation: 2 }] }] }] } }',
  'fusion early, 3 independent members': '{ type: fusion, strategy: early, dim: 8, heads: 2, layers: 1, dropout: 0, ensemble: 3, ensembleMode: independent }',
  'fusion latent, 2 independent members': '{ type: fusion, strategy: latent, dim: 8, heads: 2, layers: 1, numLatents: 3, dropout: 0, ensemble: 2, ensembleMode: independent }',
  mlp: '{ type: mlp, width: 4, hidden: [8], dropout: 0.1 }',
  linear: '{ type: linear }',
  'textCnn (text)': '{ type: textCnn, field: text, dim: 8, channels: 4, kernelSizes: [2, 3] }',
  'textCnn (keyValue)': '{ type: textCnn, field: hdr, dim: 8, channels: 4, kernelSizes: [3] }',
  'textCnn (timeSeries)': '{ type: textCnn, field: series, dim: 8, channels: 4, kernelSizes: [3] }',
  'tcn (timeSeries)': '{ type: tcn, field: series, dim: 8, levels: 2, kernelSize: 2 }',
  cnn2d: '{ type: cnn2d, field: img, height: 4, width: 4, patchSize: 2, filters: [4, 4] }',
};

/** The numeric field's other embeddings (the schema's is 'linear'), in the early fusion model. */
const numericAs = (embedding: string): string => SCHEMA.replace('{ name: a, kind: numeric, source: tab }', `{ name: a, kind: numeric, source: tab, ${embedding} }`);
const CASES: [string, string, string][] = [
  ...Object.entries(MODELS).map(([n, m]): [string, string, string] => [n, m, SCHEMA]),
  ['fusion early, numeric embedding piecewise', MODELS['fusion early'], numericAs('embedding: piecewise, bins: 4')],
  ['fusion early, numeric embedding periodic (PLR)', MODELS['fusion early'], numericAs('embedding: periodic, frequencies: 3, sigma: 0.5')],
];

for (const [name, model, schema] of CASES) {
  test(`${name}: model.py on the encoded rows gives attnkit's outputs (≤ 1e-5)`, { skip: skipTorch }, async () => {
    const slug = name.replace(/\W+/g, '-');
    const run = await tinyRun(dir, slug, model, undefined, schema);
    const proj = join(dir, `${slug}-torch`);
    const r = exportPytorch(run, proj);
    for (const f of ['model.py', 'model.safetensors', 'train.py', 'safetensors_io.py', 'train_config.json', 'README.md']) assert.ok(existsSync(join(proj, f)), f);
    assert.deepEqual(r.files.sort(), ['README.md', 'model.py', 'model.safetensors', 'safetensors_io.py', 'train.py', 'train_config.json']);
    const enc = join(dir, `${slug}.safetensors`);
    const e = await encodeRun(run, FIXTURE, enc, { chunkRows: 40 });                    // 3 chunks
    assert.equal(e.rows, 96);
    assert.ok(e.targets);
    const got = JSON.parse(python(FORWARD_PY, proj, [enc])) as Record<string, number[]>;

    const saved = readRun(run);
    const m = loadRunModel(saved);
    const { records } = await readRecords(FIXTURE);
    const { dataset } = saved.preprocessor.encode(records);
    // attnkit pads each batch to its own longest row, encode to the fitted length: batches of 5 check that padding changes nothing
    const parts = noGrad(() => Array.from({ length: Math.ceil(dataset.size / 5) }, (_, b) => m.forward(dataset.batch(Array.from({ length: Math.min(5, dataset.size - 5 * b) }, (_, i) => 5 * b + i))).outputs));
    const expected = Object.fromEntries(Object.keys(parts[0]).map((t) => [t, { data: Float32Array.from(parts.flatMap((p) => Array.from(p[t].data as Float32Array))) }]));
    assert.deepEqual(Object.keys(got).sort(), Object.keys(expected).sort());
    for (const [t, x] of Object.entries(expected)) {
      const want = x.data as Float32Array;
      assert.equal(got[t].length, want.length, t);
      let worst = 0, at = 0;
      got[t].forEach((v, i) => { const d = Math.abs(v - want[i]); if (!(d <= worst)) { worst = d; at = i; } });
      assert.ok(worst <= 1e-5, `${name}, target ${t}: |torch − attnkit| = ${worst} at ${at} (torch ${got[t][at]}, attnkit ${want[at]})`);
    }
  });
}

test('the export refuses what it cannot express, naming the option (ConfigError)', { skip: skipTorch }, async () => {
  const sigma = await tinyRun(dir, 'sigma', '{ type: fusion, dim: 8, heads: 2, layers: 1, sigmaReparam: true }');
  assert.throws(() => exportPytorch(sigma, join(dir, 'sigma-torch')), (e: Error) => e instanceof ConfigError && /model\.sigmaReparam/.test(e.message));
  const performer = await tinyRun(dir, 'performer', '{ type: fusion, dim: 8, layers: 1, block: { type: linearAttention, numHeads: 2, kernel: performer } }');
  assert.throws(() => exportPytorch(performer, join(dir, 'performer-torch')), (e: Error) => e instanceof ConfigError && /model\.block's linearAttention kernel 'performer'/.test(e.message));
  const remedies = await tinyRun(dir, 'remedies', '{ type: fusion, dim: 8, heads: 2, layers: 1 }', '{ epochs: 1, remedies: { entropy: { weight: 0.1 } } }');
  assert.throws(() => exportPytorch(remedies, join(dir, 'remedies-torch')), (e: Error) => e instanceof ConfigError && /train\.remedies/.test(e.message));
});

test('a wide run loads with its wide part; the export refuses it (model.wide), naming the option (ConfigError; no torch needed)', async () => {
  const wide = await tinyRun(dir, 'wide', '{ type: fusion, dim: 8, heads: 2, layers: 1, wide: true }');
  // the run's config names it, so a loaded run (predict, the viewer) has the wide part
  const config = readRun(wide).config.model;
  assert.ok(config.type === 'fusion' && config.wide === true, JSON.stringify(config));
  assert.ok((loadRunModel(readRun(wide)) as { wide?: unknown }).wide);
  assert.throws(() => exportPytorch(wide, join(dir, 'wide-torch')), (e: Error) => e instanceof ConfigError && /model\.wide/.test(e.message));
});

test('a TabM-style (shared) ensemble run loads whole; the export refuses it (model.ensemble), naming the mode (ConfigError; no torch needed)', async () => {
  const run = await tinyRun(dir, 'shared', '{ type: fusion, dim: 8, heads: 2, layers: 1, ensemble: 2 }');
  assert.equal((loadRunModel(readRun(run)) as FusionModel).ensembleScale?.shape[0], 2);
  assert.throws(() => exportPytorch(run, join(dir, 'shared-torch')), (e: Error) => e instanceof ConfigError && /model\.ensemble 2 \(TabM-style members sharing one backbone/.test(e.message));
});

test('encode --shards splits the rows into contiguous files that together equal the single file', { skip: skipTorch }, async () => {
  const run = await tinyRun(dir, 'shards', '{ type: linear }');
  const proj = exportPytorch(run, join(dir, 'shards-torch')).dir;
  const one = await encodeRun(run, FIXTURE, join(dir, 'all.safetensors'));
  const three = await encodeRun(run, FIXTURE, join(dir, 'part.safetensors'), { shards: 3, chunkRows: 7 });
  assert.deepEqual(three.rowsPerShard, [32, 32, 32]);
  assert.deepEqual(three.files.map((f) => f.slice(dir.length + 1)), ['part-00000-of-00003.safetensors', 'part-00001-of-00003.safetensors', 'part-00002-of-00003.safetensors']);
  const same = python(`
import sys, torch
from safetensors_io import load_file
one = load_file(sys.argv[1])[0]
parts = [load_file(p)[0] for p in sys.argv[2:]]
assert set(one) == set(parts[0]), (sorted(one), sorted(parts[0]))
for k in one:
    assert torch.equal(one[k], torch.cat([p[k] for p in parts])), k
print("same")
`, proj, [one.files[0], ...three.files]);
  assert.equal(same.trim(), 'same');
  assert.equal(readFileSync(one.files[0]).subarray(0, 8).readBigUInt64LE() % 8n, 0n, 'the header keeps tensor data 8-byte aligned');
  // the project's README lists every tensor encode writes, targets included, with its dtype
  const readme = readFileSync(join(proj, 'README.md'), 'utf8');
  const DTYPE: Record<string, string> = { F32: 'float32', I32: 'int32', BOOL: 'bool' };
  for (const [name, t] of Object.entries(one.tensors)) assert.ok(readme.includes(`| \`${name}\` | ${DTYPE[t.dtype]} |`), `README.md's row of ${name} (${DTYPE[t.dtype]})`);
  // an output folder that does not exist yet is created (was: ENOENT from mkdtemp on a temporary name)
  const nested = await encodeRun(run, 'run:test', join(dir, 'new', 'folder', 'test.safetensors'));
  assert.ok(existsSync(nested.files[0]));
});
