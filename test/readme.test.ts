/**
 * The README's and docs/*.md's code blocks are real code: extract them and run them against the
 * sources. Every ts block is run by a test below, and every relative link and #anchor resolves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The Markdown files whose code blocks and links are checked. */
const DOCS = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

/** The sections (file, heading) whose ts block a test below runs; each holds exactly one ts block. */
const RUN: [string, string][] = [];

/** The text of `file` from the line `heading` to the next heading of the same or a higher level. */
function section(file: string, heading: string): string {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, (b) => b.replace(/^#/gm, '\u0000#'));
  const lines = text.split('\n');
  const start = lines.indexOf(heading);
  assert.ok(start >= 0, `${file}: no heading '${heading}'`);
  const level = /^#+/.exec(heading)![0].length;
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && /^#+/.exec(l)![0].length <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n').replace(/\u0000#/g, '#');
}

/** Runs the ts block under `heading` of `file` (importing 'attnkit' from the Node entry), exporting `names`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the block's exports are checked field by field below
async function runBlock(file: string, heading: string, names: string[], replace?: [string, string]): Promise<Record<string, any>> {
  RUN.push([file, heading]);
  const block = /```ts\n([\s\S]*?)```/.exec(section(file, heading))?.[1];
  assert.ok(block, `${file}: no ts block under '${heading}'`);
  assert.ok(!replace || block.includes(replace[0]), `the '${heading}' block has no ${replace?.[0]}`);
  const src = pathToFileURL(resolve('src/node.ts')).href;
  const dir = mkdtempSync(join(resolve('.'), '.readme-'));
  try {
    const out = join(dir, 'block.ts');
    const code = replace ? block.replace(replace[0], replace[1]) : block;
    writeFileSync(out, `${code.replace("from 'attnkit'", `from '${src}'`)}\nexport { ${names.join(', ')} };\n`);
    return await import(pathToFileURL(out).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const shape = (t: { shape: readonly number[] }): number[] => [...t.shape];

test('the README API tour runs', async () => {
  const mod = await runBlock('README.md', '## A tour of the API', ['weights', 'loss', 'logits', 'proj']);
  assert.deepEqual(shape(mod.weights), [2, 4, 6]);
  assert.equal(mod.weights.data[4], 0, 'masked key must get zero weight');
  assert.ok(Number.isFinite(mod.loss.item()));
  assert.ok(mod.proj.weight.grad, 'backward filled the gradient');
  assert.deepEqual(shape(mod.logits), [2, 4, 3]);
});

test('docs/attention.md: the attention-family example runs and gives the shapes it states', async () => {
  const m = await runBlock('docs/attention.md', '## The attention family', [
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

test('docs/attention.md: the long-input / modality / hierarchy example runs and gives the shapes it states', async () => {
  const m = await runBlock('docs/attention.md', '## Long inputs, modalities and hierarchy', [
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

test('docs/attention.md: the block-mask example runs, gives the shapes it states, and the window mask equals its predicate', async () => {
  const m = await runBlock('docs/attention.md', '## Block masks', ['out', 'alibi', 'local', 'pad', 'full', 'partial', 'total']);
  for (const name of ['out', 'alibi']) assert.deepEqual(shape(m[name]), [2, 4, 256, 8], name);
  assert.equal(m.local.allows(0, 0, 100, 116), true);
  assert.equal(m.local.allows(0, 0, 100, 117), false);
  assert.equal(m.pad.allows(1, 0, 0, 200), false, 'a padded key');
  assert.equal(m.total, 64, '8 × 8 tiles of 32');
  assert.ok(m.full + m.partial < m.total, 'BigBird skips tiles');
});

test('docs/data.md: the fusion example runs: composite block, schema, preprocessing, fusion model, fit, gates', async () => {
  const m = await runBlock('docs/data.md', '## Heterogeneous data and fusion', ['mixed', 'batch', 'result', 'metrics', 'gates', 'model']);
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

test('docs/interop.md: the PyTorch-weights example loads a PyTorch file and writes it back', async () => {
  // the example reads the file its Python snippet writes; here: the fixture PyTorch wrote from that same layer
  const fixture = resolve('test/fixtures/torch_safetensors/transformer_encoder_layer.safetensors');
  const m = await runBlock('docs/interop.md', '## PyTorch weights in and out', ['y', 'bytes', 'layer'], ["'encoder_layer.safetensors'", JSON.stringify(fixture)]);
  assert.deepEqual(shape(m.y), [2, 5, 8]);
  assert.ok(m.bytes.length > 1000);
  assert.ok(Object.keys(m.layer.stateDict()).includes('selfAttn.inProjWeight'));
});

test('docs/interop.md: the ONNX example exports a block stack and ONNX Runtime matches attnkit', async () => {
  const m = await runBlock('docs/interop.md', '## ONNX out', ['y', 'expected', 'maxError']);
  assert.deepEqual([...m.y.dims], [2, 7, 16]);
  assert.deepEqual(shape(m.expected), [2, 7, 16]);
  assert.ok(m.maxError <= 1e-4 && m.maxError >= 0, `max error ${m.maxError}`);
});

test('the README attention example: multi-head self-attention with a key mask, and an encoder', async () => {
  const m = await runBlock('README.md', '## The attention family', ['output', 'weights', 'encoded']);
  assert.deepEqual(shape(m.output), [2, 5, 16]);
  assert.deepEqual(shape(m.weights), [2, 4, 5, 5]);
  for (let h = 0; h < 4; h++) for (let t = 0; t < 5; t++) {
    assert.equal(m.weights.data[((4 + h) * 5 + t) * 5 + 4], 0, 'the padded key of sample 1 gets no weight');
  }
  assert.deepEqual(shape(m.encoded), [2, 5, 16]);
});

test('docs/attention.md: PyTorch names out and back', async () => {
  const m = await runBlock('docs/attention.md', '### PyTorch parameter names', ['torchState', 'mha']);
  assert.ok('in_proj_weight' in m.torchState && 'out_proj.bias' in m.torchState, Object.keys(m.torchState).join(', '));
  assert.equal(Object.keys(m.torchState).length, Object.keys(m.mha.stateDict()).length, 'one PyTorch name per parameter');
});

test('docs/api.md: the default generator is seeded by manualSeed, and an explicit rng is its own stream', async () => {
  const m = await runBlock('docs/api.md', '## Randomness', ['x', 'y', 'mha']);
  const { Generator, randn, manualSeed } = await import('../src/node.js');
  manualSeed(42);
  new m.mha.constructor({ embedDim: 64, numHeads: 8 });
  assert.deepEqual([...m.x.data], [...randn([2, 10, 64]).data], 'after manualSeed(42) the same draws in the same order');
  assert.deepEqual([...m.y.data], [...randn([2, 10, 64], { rng: new Generator(1) }).data]);
  assert.deepEqual(shape(m.mha.forward(m.x).output), [2, 10, 64]);
});

test('docs/backends.md: the native-backend example runs the fused kernel', async () => {
  const m = await runBlock('docs/backends.md', '## Backends', ['info', 'out']);
  assert.deepEqual(shape(m.out), [2, 4, 6, 8]);
  if (process.env.ATTNKIT_BACKEND === 'native') assert.ok(m.info && m.info.threads >= 1, JSON.stringify(m.info));
});

test('docs/backends.md: the dispose example reuses each disposed output', async () => {
  const before = (await import('../src/index.js')).bufferPoolStats();
  const m = await runBlock('docs/backends.md', '## Memory: `dispose()` and the buffer pool', ['kept', 'stats', 'previous']);
  assert.equal(m.kept.length, 3);
  assert.ok(m.kept.every((k: Float32Array) => k.length === 64 * 256 && k.some((v) => v !== 0)));
  assert.ok(m.stats.recycled >= before.recycled + 3, JSON.stringify(m.stats));
  assert.ok(m.stats.reused >= before.reused + 2, JSON.stringify(m.stats));
  assert.equal(m.previous, 256 * 1024 * 1024);
  (await import('../src/index.js')).setBufferPoolLimit(m.previous);
});

test('docs/backends.md: the wasm-memory example runs, and on the wasm pass its tensors live in wasm memory', async () => {
  const m = await runBlock('docs/backends.md', '### Tensors in wasm memory', ['q', 'out']);
  assert.deepEqual(shape(m.out), [2, 4, 128, 64]);
  assert.ok(Math.abs(m.out.data[0] - 0.5) < 1e-6);
  if (process.env.ATTNKIT_BACKEND === 'wasm') {
    assert.ok(m.q.data.buffer instanceof SharedArrayBuffer && m.out.data.buffer instanceof SharedArrayBuffer);
  } else {
    assert.ok(!(m.q.data.buffer instanceof SharedArrayBuffer), 'other backends keep tensors in ordinary arrays');
  }
});

test('every ts block of the README and docs/*.md is run by a test above (one per section)', () => {
  const run = new Set(RUN.map(([f, h]) => `${f}\t${h}`));
  for (const file of DOCS) {
    let heading = '(top)';
    let inBlock = false;
    const seen = new Map<string, number>();
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.startsWith('```')) {
        if (!inBlock && line === '```ts') seen.set(heading, (seen.get(heading) ?? 0) + 1);
        inBlock = !inBlock;
      } else if (!inBlock && /^#+ /.test(line)) heading = line;
    }
    for (const [h, n] of seen) {
      assert.ok(run.has(`${file}\t${h}`), `${file}: the ts block under '${h}' is run by no test`);
      assert.equal(n, 1, `${file}: '${h}' holds ${n} ts blocks; runBlock runs the first only`);
    }
  }
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, … */
function anchors(file: string): Set<string> {
  const out = new Set<string>();
  const count = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '').split('\n')) {
    const m = /^#{1,6} (.*)$/.exec(line);
    if (!m) continue;
    const base = m[1].trim().toLowerCase().replace(/[^\p{L}\p{N}\p{M} _-]/gu, '').replace(/ /g, '-');
    const n = count.get(base) ?? 0;
    count.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

test('every relative link and #anchor in the README and docs/*.md resolves', () => {
  let checked = 0;
  for (const file of DOCS) {
    const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target)) continue;
      const [path, anchor] = target.split('#');
      const dest = path ? join(dirname(file), path) : file;
      assert.ok(existsSync(dest), `${file}: link '${target}': ${dest} does not exist`);
      if (anchor !== undefined) {
        assert.ok(dest.endsWith('.md'), `${file}: link '${target}': an anchor into a file that is not Markdown`);
        assert.ok(anchors(dest).has(anchor), `${file}: link '${target}': ${dest} has no heading with anchor #${anchor}`);
      }
      checked++;
    }
  }
  assert.ok(checked > 10, `only ${checked} links found`);
});

test('the README is a front door: at most 300 lines, its quick start (attnkit init, then train), set-up and test commands', () => {
  const readme = readFileSync('README.md', 'utf8');
  const lines = readme.split('\n').length;
  assert.ok(lines <= 300, `README.md has ${lines} lines`);
  assert.ok(readme.includes('`npm ci` first') && /^npm start\b/m.test(readme), 'the set-up commands');
  assert.match(/```sh\n(.*)\n(.*)/.exec(readme)!.slice(1).join('\n'), /^attnkit init \S+ --target \S+ .*\nattnkit train /, 'the quick start begins with attnkit init, then attnkit train');
  assert.ok(/^npm test\b/m.test(readme), 'the test command CI runs');
  for (const doc of DOCS.slice(1)) assert.ok(readme.includes(`](${doc})`), `README.md links ${doc}`);
});
