/**
 * The field-kind registry: every kind is one file in src/data/fields/ and one entry of the
 * `fieldKinds` table; nothing outside that folder dispatches on a field's kind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Generator, Tensor, data, models } from '../../src/index.js';
import { fieldKinds } from '../../src/data/fields/index.js';
import { FUSION_TEST_SCHEMA } from '../helpers.js';

const SRC = join(import.meta.dirname, '..', '..', 'src');
const KINDS = Object.keys(fieldKinds);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('the table holds every kind the schema accepts, each in its own file', () => {
  assert.deepEqual(KINDS, ['numeric', 'categorical', 'text', 'keyValue', 'timeSeries', 'image']);
  for (const k of KINDS) {
    assert.ok(statSync(join(SRC, 'data', 'fields', `${k}.ts`)).isFile(), `src/data/fields/${k}.ts`);
    assert.doesNotThrow(() => data.parseSchema({ fields: [{ name: 'f', kind: k, patchSize: 1, height: 1, width: 1 }].map((f) => (k === 'timeSeries' ? { name: 'f', kind: k, patchSize: 1 } : k === 'image' ? f : { name: 'f', kind: k })) }), k);
  }
  assert.throws(() => data.parseSchema({ fields: [{ name: 'f', kind: 'weird' }] }), /Expected \("numeric" \| "categorical" \| "text" \| "keyValue" \| "timeSeries" \| "image"\)/);
});

test('no switch, if-chain or instanceof on a field kind outside src/data/fields (a model that takes one kind may refuse others)', () => {
  const kind = KINDS.join('|');
  const dispatch = [
    new RegExp(`case '(${kind})'`),
    new RegExp(`kind === '(${kind})'`),
    new RegExp(`kind !== '(${kind})'(?!.*\\b(throw|return null)\\b)`),
    /instanceof (NumericEncoder|CategoricalEncoder|TextFieldEncoder|KeyValueEncoder|SeriesEncoder|ImageEncoder)\b/,
  ];
  const sites: string[] = [];
  for (const file of sources(SRC)) {
    const rel = relative(SRC, file).split('\\').join('/');
    if (rel.startsWith('data/fields/') || rel.startsWith('data/node/')) continue;
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => { if (dispatch.some((re) => re.test(line))) sites.push(`${rel}:${i + 1}`); });
  }
  assert.deepEqual(sites, []);
});

test('every kind names its ONNX inputs after tensors of its batch, and its tokenizer keeps its parameter names', () => {
  const rng = new Generator(1);
  const words = ['a', 'b'];
  const recs = Array.from({ length: 6 }, (_, i) => ({
    x1: i, x2: -i, x3: i % 3, cat: words[i % 2], text: `${words[i % 2]} c`, kv: { m: words[i % 2] }, series: [i, i + 1, i + 2], img: [1, 2, 3, i], y: i % 2, k: ['p', 'q'][i % 2], r: rng.normal(),
  }));
  const pre = data.Preprocessor.fit(FUSION_TEST_SCHEMA, recs);
  const batch = pre.encode(recs).dataset.batch([0, 1]);
  for (const info of pre.fieldInfo()) {
    const fb = batch.fields[info.name] as unknown as Record<string, unknown>;
    for (const input of fieldKinds[info.kind].onnx) assert.ok(fb[input.key] instanceof Tensor, `${info.kind}: ${input.key}`);
  }
  const m = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 4, heads: 1, layers: 1 }, new Generator(2));
  assert.deepEqual(m.tokenizers.map((t) => t.namedParameters().map(([n]) => n).join(' ')), [
    'fieldEmbedding proj.weight proj.bias', 'fieldEmbedding proj.weight proj.bias frequencies', 'fieldEmbedding weight bias', 'fieldEmbedding embedding.weight',
    'fieldEmbedding embedding.weight position.weight', 'fieldEmbedding embedding.weight keyEmbedding.weight',
    'fieldEmbedding position.weight proj.weight proj.bias', 'fieldEmbedding position.weight proj.weight proj.bias',
  ]);
});
