/** Config-driven runs: validation with paths, --set overrides, CSV/JSONL files with bad rows, model configs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataError, Generator, models, train } from '../../src/node.js';
import { applyOverride, loadRunConfig, trainFromConfigFile } from '../../src/cli/runFile.js';

const dir = mkdtempSync(join(tmpdir(), 'attnkit-run-'));
const rows = Array.from({ length: 80 }, (_, i) => {
  const x = ((i * 37) % 80) / 40 - 1;
  return { x: x.toFixed(3), colour: ['red', 'green', 'blue'][i % 3], note: i % 2 ? 'quite good' : 'rather bad', y: x + (i % 2 ? 0.5 : -0.5) > 0 ? 'yes' : 'no' };
});
const csv = join(dir, 'rows.csv');
writeFileSync(csv, 'x,colour,note,y\n' + rows.map((r, i) => (i === 10 ? `oops,${r.colour}\n` : `${r.x},${r.colour},"${r.note}",${r.y}\n`)).join(''));
const jsonl = join(dir, 'rows.jsonl');
writeFileSync(jsonl, rows.map((r) => JSON.stringify({ ...r, x: Number(r.x) })).join('\n') + '\n');
const schemaYaml = `schema:
  fields:
    - { name: x, kind: numeric }
    - { name: colour, kind: categorical }
    - { name: note, kind: text, minCount: 1 }
  targets:
    - { name: y, task: binary }
`;
function config(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
}

test('a YAML config over a CSV file trains a fusion model; malformed rows are skipped and reported, or named', async () => {
  const p = config('csv.yaml', `seed: 1\ndata: { path: rows.csv, onError: skip }\n${schemaYaml}model: { type: fusion, dim: 8, heads: 2, layers: 1 }\ntrain: { epochs: 3, lr: 0.01 }\n`);
  const run = await trainFromConfigFile(p);
  assert.equal(run.skipped.length, 1);
  assert.match(run.skipped[0].reason, /rows\.csv:12: Invalid Record Length/);
  assert.equal(run.split.train.length + run.split.valid.length + run.split.test.length, 79);
  assert.ok(run.metrics && run.metrics.y.accuracy >= 0 && run.metrics.y.accuracy <= 1);
  assert.equal(run.history.length, 3);
  const strict = config('csv-strict.yaml', `data: { path: rows.csv }\n${schemaYaml}model: { type: linear }\n`);
  await assert.rejects(trainFromConfigFile(strict), (e: Error) => e instanceof DataError && /rows\.csv:12:/.test(e.message));
});

test('a JSONL config with --set overrides; same seed, same metrics', async () => {
  const p = config('jsonl.yaml', `seed: 2\ndata: { path: rows.jsonl }\n${schemaYaml}model: { type: mlp }\ntrain: { epochs: 50 }\n`);
  const a = await trainFromConfigFile(p, { set: ['train.epochs=2', 'model.hidden=[8]', 'name=override'] });
  assert.equal(a.history.length, 2);
  assert.equal(a.config.name, 'override');
  assert.equal((a.model as models.MLPModel).hidden.length, 1);
  const b = await trainFromConfigFile(p, { set: ['train.epochs=2', 'model.hidden=[8]'] });
  assert.deepEqual(b.metrics, a.metrics);
});

test('config errors point at the field path; unknown keys are errors', () => {
  const bad = (name: string, body: string, re: RegExp): void => {
    assert.throws(() => loadRunConfig(config(name, body)), (e: Error) => e instanceof ConfigError && re.test(e.message), name);
  };
  bad('u.yaml', `data: { path: rows.csv }\n${schemaYaml}model: { type: fusion }\ntrain: { epoch: 3 }\n`, /train\.epoch: unknown key/);
  bad('m.yaml', `data: { path: rows.csv }\n${schemaYaml}model: { type: transformerish }\n`, /model\.type|model/);
  bad('both.yaml', 'data: { path: a.csv, dataset: penguins }\nmodel: { type: linear }\n', /exactly one of path/);
  bad('noschema.yaml', 'data: { path: a.csv }\nmodel: { type: linear }\n', /schema is required/);
  bad('yaml.yaml', 'data: [unclosed\n', /not valid YAML/);
  bad('list.yaml', '- 1\n- 2\n', /must be a mapping/);
  bad('lr.yaml', `data: { path: rows.csv }\n${schemaYaml}model: { type: linear }\ntrain: { lr: -1 }\n`, /train\.lr/);
  assert.throws(() => loadRunConfig(join(dir, 'missing.yaml')), /no such config file/);
});

test('applyOverride parses values as YAML and refuses to descend into scalars', () => {
  const c: Record<string, unknown> = { train: { epochs: 1 }, name: 'x' };
  applyOverride(c, 'train.lr=0.01');
  applyOverride(c, 'model.kernelSizes=[3, 5]');
  applyOverride(c, 'data.onError=skip');
  assert.deepEqual(c, { train: { epochs: 1, lr: 0.01 }, name: 'x', model: { kernelSizes: [3, 5] }, data: { onError: 'skip' } });
  assert.throws(() => applyOverride(c, 'name.first=1'), /'name' is not an object/);
  assert.throws(() => applyOverride(c, 'noequals'), /expected key=value/);
  assert.throws(() => applyOverride(c, `model.hidden=[${Array(10_000).fill(8).join(',')}]`), (e: Error) => e instanceof ConfigError && /an override is at most 16384/.test(e.message));
  assert.throws(() => applyOverride(c, `model.hidden=${'['.repeat(100)}${']'.repeat(100)}`), (e: Error) => e instanceof ConfigError && /nested deeper than 64/.test(e.message));
});

test('buildModel validates model configs and builds every type', () => {
  const pre = { fields: [{ name: 'x', kind: 'numeric' as const, source: 'x' }, { name: 't', kind: 'text' as const, source: 't', vocabSize: 10, maxLength: 8 }], targets: [{ name: 'y', task: 'binary' as const, outputs: 1, weight: 1, loss: 'mse' as const }] };
  const rng = new Generator(0);
  for (const c of [{ type: 'fusion', strategy: 'latent' }, { type: 'mlp' }, { type: 'linear' }, { type: 'textCnn', field: 't' }, { type: 'tcn', field: 't' }]) {
    assert.ok(models.buildModel(c, pre.fields, pre.targets, rng).numParameters() > 0, c.type);
  }
  assert.throws(() => models.buildModel({ type: 'textCnn' }, pre.fields, pre.targets, rng), (e: Error) => e instanceof ConfigError && /field/.test(e.message));
  assert.throws(() => models.buildModel({ type: 'mlp', hiden: [4] }, pre.fields, pre.targets, rng), /hiden: unknown key/);
  assert.throws(() => train.parseRunConfig({ data: { dataset: 'penguins' }, model: { type: 'fusion', dim: 0 } }), /model\.dim/);
});

test('configs that would overflow the stack or fail deep inside are ConfigErrors naming the key', async () => {
  const bad = (name: string, body: string, ...res: RegExp[]): void => {
    assert.throws(() => loadRunConfig(config(name, body)), (e: Error) => {
      assert.ok(e instanceof ConfigError, `${name}: got ${e.name}: ${e.message.slice(0, 200)}`);
      for (const re of res) assert.match(e.message, re, name);
      return true;
    });
  };
  const head = `data: { path: rows.csv }\n${schemaYaml}`;
  // a YAML alias inside its own anchor makes a cyclic object
  bad('self.yaml', `${head}model: { type: fusion, strategy: early, block: &b { type: serial, layers: [*b] } }\n`, /model\.block\.layers\[0\]/, /cycle/);
  bad('inf.yaml', `${head}model: { type: linear }\ntrain: { lr: .inf }\n`, /train\.lr/, /finite/);
  bad('nan.yaml', `${head}model: { type: fusion, dim: .nan }\n`, /model\.dim/, /finite/);
  // a YAML warning is a mistake too: an unknown tag would silently turn the value into a string
  bad('tag.yaml', `${head}model: { type: linear }\nname: !fancy run\n`, /not valid YAML\/JSON \(Unresolved tag: !fancy/);
  bad('split.yaml', `${head}model: { type: linear }\nsplit: { valid: .9, test: .9 }\n`, /split: valid \+ test/);
  bad('split1.yaml', `${head}model: { type: linear }\nsplit: { valid: .85 }\n`, /split: valid \+ test \(0\.85 \+ 0\.2\)/);
  // a huge wrong value or key is quoted clipped, not whole
  for (const c of [{ seed: 'a'.repeat(100_000) }, { ['k'.repeat(100_000)]: 1 }, { ['k'.repeat(100_000)]: Infinity }]) {
    assert.throws(() => train.parseRunConfig({ data: { dataset: 'penguins' }, model: { type: 'linear' }, ...c }),
      (e: Error) => e instanceof ConfigError && e.message.length < 400 && /(seed: Invalid type|kkkk.*…)/.test(e.message));
  }
  // nesting far deeper than any config: refused before validation recurses
  let deep: unknown = { type: 'attention' };
  for (let i = 0; i < 20_000; i++) deep = { type: 'serial', layers: [deep] };
  assert.throws(() => train.parseRunConfig({ data: { dataset: 'penguins' }, model: { type: 'fusion', strategy: 'early', block: deep } }),
    (e: Error) => e instanceof ConfigError && /nested deeper than 64/.test(e.message) && e.message.length < 600);
  // a file too big to be a config (the data file given by mistake) is refused before it is parsed
  const big = config('big.yaml', `${head}model: { type: linear }\n# ${'x'.repeat(2 ** 16)}\n`);
  assert.throws(() => loadRunConfig(big), (e: Error) => e instanceof ConfigError && /a config file is at most 65536 bytes/.test(e.message));
  // text nested deeper than any config is refused before the YAML parser recurses into it (slowly)
  for (const [name, text] of [['flow', `model: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`], ['dash', `${'- '.repeat(2000)}1\n`],
    ['indent', Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + ' 1\n']]) {
    assert.throws(() => loadRunConfig(config(`${name}.yaml`, text)), (e: Error) => e instanceof ConfigError && /nested deeper than 64 levels/.test(e.message), name);
  }
  // a directory where a file belongs
  assert.throws(() => loadRunConfig(dir), (e: Error) => e instanceof ConfigError && /is a directory, not a config file/.test(e.message));
  const sub = join(dir, 'adir.csv');
  mkdirSync(sub, { recursive: true });
  await assert.rejects(trainFromConfigFile(config('dirdata.yaml', `data: { path: adir.csv }\n${schemaYaml}model: { type: linear }\n`)),
    (e: Error) => e instanceof ConfigError && /data\.path/.test(e.message) && /is a directory/.test(e.message));
  // a missing data file stays a DataError (exit 1): the file may appear later
  await assert.rejects(trainFromConfigFile(config('nodata.yaml', `data: { path: missing.csv }\n${schemaYaml}model: { type: linear }\n`)),
    (e: Error) => e instanceof DataError && /no such file/.test(e.message));
});

test('the CLI exits 2 for config errors and names the key or flag', async () => {
  const { main } = await import('../../src/cli/main.js');
  const run = async (...argv: string[]): Promise<{ code: number; err: string }> => {
    let err = '';
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
    try { return { code: await main(argv), err }; } finally { process.stderr.write = write; }
  };
  const head = `data: { path: rows.jsonl }\n${schemaYaml}`;
  const self = config('cli-self.yaml', `${head}model: { type: fusion, strategy: early, block: &b { type: serial, layers: [*b] } }\n`);
  let r = await run('train', self, '--quiet');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /ConfigError: .*model\.block\.layers\[0\]/);
  r = await run('train', config('cli-inf.yaml', `${head}model: { type: linear }\ntrain: { lr: .inf }\n`), '--quiet');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /train\.lr/);
  r = await run('train', config('cli-split.yaml', `${head}model: { type: linear }\nsplit: { valid: .9, test: .9 }\n`), '--quiet');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /split: valid \+ test/);
  r = await run('train', dir, '--quiet');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /is a directory/);
  const afile = join(dir, 'afile');
  writeFileSync(afile, 'x');
  r = await run('train', config('cli-ok.yaml', `${head}model: { type: linear }\ntrain: { epochs: 1 }\n`), '--out', afile, '--quiet');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /ConfigError: .*--out .*afile.* is a file/);
});

test('--set cannot reach Object.prototype: __proto__, constructor and prototype are refused as keys', () => {
  for (const a of ['__proto__.polluted=1', 'constructor.prototype.polluted=1', 'train.__proto__.polluted=1', '__proto__={ polluted: 1 }']) {
    const c: Record<string, unknown> = { train: { epochs: 1 } };
    assert.throws(() => applyOverride(c, a), (e: Error) => e instanceof ConfigError && /cannot be a config key/.test(e.message), a);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, a);
    assert.equal(Object.getPrototypeOf(c), Object.prototype, a);
  }
  // inherited members are not config sections: toString.x=1 makes an own key (then an unknown-key error)
  const c: Record<string, unknown> = {};
  applyOverride(c, 'toString.x=1');
  assert.deepEqual(Object.entries(c), [['toString', { x: 1 }]]);
});
