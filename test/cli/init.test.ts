/**
 * `attnkit init` (issue 24, part 4): columns typed from a CSV and a JSONL file — numeric with
 * missing markers, integer codes, categorical, text, key–value, time series, ID columns left out
 * — the task from the target; the config it writes trains as is; typed errors.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, ConfigError, DataError, data } from '../../src/node.js';

const dir = mkdtempSync(join(tmpdir(), 'attnkit-init-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cli = (args: string[]): { code: number; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env: process.env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};

const g = new Generator(5);
const words = ['quick', 'service', 'slow', 'friendly', 'cold', 'food', 'great', 'never', 'again', 'staff', 'lovely', 'room'];
const csvRows = Array.from({ length: 80 }, (_, i) => {
  const x = g.normal();
  const age = i % 13 === 3 ? '?' : i % 17 === 5 ? '' : i % 19 === 7 ? 'NA' : (40 + 10 * x).toFixed(1);
  const review = Array.from({ length: 4 + (i % 5) }, (_, k) => words[(i * 7 + k * 3 + (x > 0 ? 1 : 0)) % words.length]).join(' ') + ` #${i}`;
  const tags = `color=${['red', 'blue'][i % 2]};size=${i % 4}`;
  const signal = Array.from({ length: 12 }, (_, k) => (Math.sin(k + i) + x).toFixed(3)).join(' ');
  const joined = `2021-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + Math.floor(i / 3)).padStart(2, '0')}`;
  return [i + 1, age, 1 + (i % 4), ['Oslo', 'Lima', 'Pune'][i % 3], `"${review}"`, tags, `"${signal}"`, `user${i * 37}`, joined, `Movie ${i % 78}`, x > 0 ? 'yes' : 'no'].join(',');
});
const csv = join(dir, 'people.csv');
writeFileSync(csv, `id,age,grade,city,review,tags,signal,login,joined,title,churn\n${csvRows.join('\n')}\n`);

const jsonl = join(dir, 'events.jsonl');
writeFileSync(jsonl, Array.from({ length: 40 }, (_, i) => JSON.stringify({
  meta: { channel: ['web', 'app'][i % 2], tier: String(i % 3) },
  series: Array.from({ length: 8 }, (_, k) => k * (i % 5)),
  flag: i % 3 === 0,
  x: i % 9 === 4 ? null : i * 0.37,
  kind: ['alpha', 'beta', 'gamma'][i % 3],
  amount: 10 + i * 1.5,
})).join('\n') + '\n');

const kinds = (s: data.InferredSchema): Record<string, string> => Object.fromEntries(s.fields.map((f) => [f.name, f.spec?.kind ?? 'excluded']));

test('inferSchema types each column of a CSV: numeric with its missing markers, integer codes, categorical, text, key–value, series; IDs excluded', async () => {
  const { records } = await import('../../src/data/node/readers.js').then((m) => m.readRecords(csv));
  const s = data.inferSchema(records, 'churn');
  assert.deepEqual(kinds(s), {
    id: 'excluded', age: 'numeric', grade: 'categorical', city: 'categorical', review: 'text', tags: 'keyValue', signal: 'timeSeries', login: 'excluded', joined: 'excluded', title: 'excluded',
  });
  assert.match(s.fields.find((f) => f.name === 'joined')!.reason, /^excluded: dates \(80 cells like '2021-01-01'\); there is no date kind/);
  assert.match(s.fields.find((f) => f.name === 'title')!.reason, /^excluded: nearly every value distinct \(78 of 80/);
  const age = s.fields.find((f) => f.name === 'age')!;
  assert.equal((age.spec as { missing?: string[] }).missing, undefined, "'?', '' and 'NA' are default markers: no list");
  assert.match(age.reason, /missing: \d+ '\?', \d+ 'NA', \d+ empty|missing: .*'\?'.*/);
  assert.match(s.fields.find((f) => f.name === 'grade')!.reason, /integer codes with 4 distinct values \(≤ 10/);
  assert.match(s.fields.find((f) => f.name === 'id')!.reason, /row ID \(80 distinct integers in 80 rows/);
  assert.deepEqual(s.target.spec, { name: 'churn', task: 'binary', positive: 'yes' });
  // the k=v cells parse as pairs, so the field trains
  assert.deepEqual(data.parsePairs('color=red;size=3', 'x'), [['color', 'red'], ['size', '3']]);
});

test('inferSchema on JSONL: objects → keyValue, number arrays → timeSeries, booleans → categorical, the task from the target (or --task)', async () => {
  const { records } = await import('../../src/data/node/readers.js').then((m) => m.readRecords(jsonl));
  const s = data.inferSchema(records, 'kind');
  assert.deepEqual(kinds(s), { meta: 'keyValue', series: 'timeSeries', flag: 'categorical', x: 'numeric', amount: 'numeric' });
  assert.deepEqual(s.target.spec, { name: 'kind', task: 'multiclass', classes: ['alpha', 'beta', 'gamma'] });
  assert.equal(data.inferSchema(records, 'amount').target.spec.task, 'regression');
  assert.throws(() => data.inferSchema(records, 'kind', { task: 'regression' }), (e) => e instanceof ConfigError && /not numeric/.test(e.message));
  assert.throws(() => data.inferSchema(records, 'nope'), (e) => e instanceof ConfigError && /no column 'nope'.*'meta', 'series'/.test(e.message));
  assert.throws(() => data.inferSchema([], 'kind'), DataError);
});

test('attnkit init writes a commented config that trains as is (1 epoch), predicts and evaluates with class names; refuses to overwrite', () => {
  const cfg = join(dir, 'people.yaml');
  const r = cli(['init', csv, '--target', 'churn']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /read 80 rows .*\ntarget churn: binary, positive class 'yes'\n6 fields: /);
  const text = readFileSync(cfg, 'utf8');
  assert.match(text, /# age: numeric: \d+ decimal numbers.*; missing: .*\n {4}- \{ name: age, kind: numeric \}/);
  assert.match(text, /# id: excluded: looks like a row ID/);
  assert.match(text, /train:\n {2}epochs: 60\n {2}batchSize: 32\n {2}lr: 0.003/);
  assert.match(text, /split: \{ valid: 0.1, test: 0.2, stratify: true \}/);

  const run = join(dir, 'run');
  const t = cli(['train', cfg, '--set', 'train.epochs=1', '--out', run]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stderr, /epoch 1\/1 {2}train loss \d\.\d{4} {2}valid loss \d\.\d{4} {2}valid accuracy \d\.\d{4} f1 \d\.\d{4} auc /);
  assert.match(t.stdout, /churn \(positive class 'yes'\): accuracy \d\.\d{4}, precision \d\.\d{4}, recall \d\.\d{4}, f1 \d\.\d{4}, macroF1 \d\.\d{4}, auc/);
  const epochs = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.epoch);
  assert.deepEqual(Object.keys(epochs[0].valid.churn), ['accuracy', 'precision', 'recall', 'f1', 'macroF1', 'auc']);
  assert.deepEqual(JSON.parse(readFileSync(join(run, 'result.json'), 'utf8')).classes, { churn: ['no', 'yes'] });

  const p = cli(['predict', run, csv]);
  assert.equal(p.code, 0, p.stderr);
  const preds = p.stdout.trim().split('\n').map((l) => JSON.parse(l).churn);
  assert.ok(preds.every((x) => (x.label === 'yes' || x.label === 'no') && x.positive === 'yes' && x.probability >= 0 && x.probability <= 1));
  const e = cli(['eval', run]);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^churn \(positive class 'yes'\): accuracy/);

  const again = cli(['init', csv, '--target', 'churn']);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /exists; pass --force/);
  assert.equal(cli(['init', csv, '--target', 'churn', '--force', '--task', 'binary']).code, 0);
});

test('attnkit init on JSONL trains too (key–value, series, booleans, a missing number)', () => {
  const cfg = join(dir, 'kind.yaml');
  const r = cli(['init', jsonl, '--target', 'kind', '--out', cfg]);
  assert.equal(r.code, 0, r.stderr);
  const t = cli(['train', cfg, '--set', 'train.epochs=1', '--out', join(dir, 'run2'), '--quiet']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /kind \(classes 'alpha', 'beta', 'gamma'\): accuracy \d\.\d{4}, macroPrecision/);
  // a bounded sample, and said so
  const j = cli(['init', jsonl, '--target', 'amount', '--out', join(dir, 'amount.yaml'), '--sample', '12', '--json']);
  assert.equal(j.code, 0, j.stderr);
  const res = JSON.parse(j.stdout);
  assert.equal(res.rows, 12);
  assert.equal(res.sampled, true);
  assert.deepEqual(res.target, { name: 'amount', task: 'regression' });
  assert.match(readFileSync(join(dir, 'amount.yaml'), 'utf8'), /^# Written by `attnkit init events.jsonl --target amount` from the first 12 rows of events.jsonl/);
});

test('attnkit init: typed errors for a missing target (columns listed), an empty file, a missing file, a target unfit for --task', () => {
  const r = cli(['init', csv, '--target', 'churned', '--out', join(dir, 'x.yaml')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /ConfigError: init: no column 'churned' to predict; the columns are \['id', 'age', 'grade'/);
  writeFileSync(join(dir, 'empty.csv'), 'a,b\n');
  const e = cli(['init', join(dir, 'empty.csv'), '--target', 'b']);
  assert.equal(e.code, 1);
  assert.match(e.stderr, /DataError: init: .*holds no records/);
  const m = cli(['init', join(dir, 'nope.csv'), '--target', 'b']);
  assert.equal(m.code, 1);
  assert.match(m.stderr, /no such data file/);
  const b = cli(['init', csv, '--target', 'city', '--task', 'binary', '--out', join(dir, 'y.yaml')]);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /--task binary needs a target with 2 distinct values; 'city' has 3/);
  writeFileSync(join(dir, 'taken.yaml'), '# a config already there\n');
  const taken = cli(['init', csv, '--target', 'churned', '--out', join(dir, 'taken.yaml')]);
  assert.equal(taken.code, 2);
  assert.match(taken.stderr, /no column 'churned' to predict/, 'the wrong target is named before the existing file');
  assert.equal(readFileSync(join(dir, 'taken.yaml'), 'utf8'), '# a config already there\n');
  writeFileSync(join(dir, 'one.csv'), 'a,b\n1,yes\n2,yes\n3,yes\n');
  const one = cli(['init', join(dir, 'one.csv'), '--target', 'b', '--out', join(dir, 'z.yaml')]);
  assert.equal(one.code, 2, 'a single class was typed "multiclass with 1 classes" and written');
  assert.match(one.stderr, /init: target 'b' has one value \('yes'\) in all 3 rows: a classifier needs two classes or more/);
  // sorted by the target: the sample's one class is not the file's
  writeFileSync(join(dir, 'sorted.csv'), `a,b\n${[1, 2, 3, 4].map((i) => `${i}.5,yes`).join('\n')}\n5.5,no\n`);
  const sorted = cli(['init', join(dir, 'sorted.csv'), '--target', 'b', '--sample', '3', '--out', join(dir, 'z.yaml')]);
  assert.equal(sorted.code, 2);
  assert.match(sorted.stderr, /one value \('yes'\) in the first 3 rows \(the --sample read.*pass a larger --sample/);
  assert.ok(!existsSync(join(dir, 'x.yaml')) && !existsSync(join(dir, 'y.yaml')) && !existsSync(join(dir, 'z.yaml')), 'nothing written on an error');
  assert.equal(cli(['init', csv]).code, 2, 'no --target');
});

test('inferSchema: a target marker training does not skip is a class, said so (a binary positive would make it a negative)', () => {
  const recs = Array.from({ length: 60 }, (_, i) => ({ x: i * 0.5, y: i % 5 === 0 ? '-' : i % 2 ? 'M' : 'B' }));
  const s = data.inferSchema(recs, 'y');
  // with positive 'M', training would read '-' as B (only empty/NA/…/? rows are skipped): the
  // config must not call those rows skipped (before: binary, positive 'M', "12 rows … skipped")
  assert.deepEqual(s.target.spec, { name: 'y', task: 'multiclass', classes: ['-', 'B', 'M'] });
  assert.equal(s.target.missing, 0);
  assert.match(s.target.reason, /'-' 12 is a class here: a binary target's rows are skipped only when it is empty, NA/);
  // a multi-class or regression target's '-' fails its encoding, so onError: skip does skip it
  const reg = data.inferSchema(recs.map((r, i) => ({ ...r, y: r.y === '-' ? '-' : String(i * 1.5) })), 'y');
  assert.deepEqual([reg.target.spec.task, reg.target.missing], ['regression', 12]);
  const na = data.inferSchema(recs.map((r) => ({ ...r, y: r.y === '-' ? 'NA' : r.y })), 'y');
  assert.deepEqual(na.target.spec, { name: 'y', task: 'binary', positive: 'M' });
  assert.equal(na.target.missing, 12);
});

test('initConfigText: a column name with a line break stays inside its comment (the YAML parses); the optimiser is left to the model', async () => {
  const { initConfigText } = await import('../../src/cli/init.js');
  const { parse } = await import('yaml');
  const recs = Array.from({ length: 30 }, (_, i) => ({ 'note:\nmulti': ['p', 'q', 'r'][i % 3], x: i * 0.25, y: i % 2 ? 'yes' : 'no' }));
  const text = initConfigText(data.inferSchema(recs, 'y'), { dataPath: 'd.csv', name: 'd', command: 'attnkit init d.csv --target y', sampled: false, file: 'd.csv', onError: false });
  const cfg = parse(text) as { schema: { fields: { name: string }[] }; train: Record<string, unknown> };
  assert.deepEqual(cfg.schema.fields.map((f) => f.name), ['note:\nmulti', 'x']);
  // model: linear trains by L-BFGS unless train.optimizer says otherwise: the starter config must not pin AdamW
  assert.equal(cfg.train.optimizer, undefined);
  assert.equal(cfg.train.weightDecay, undefined);
  assert.match(text, /\n {2}# optimizer: adamw .*model: linear defaults to lbfgs/);
});

test('initConfig writes into a folder --out names that does not exist yet (was ENOENT naming its temp file)', async () => {
  const { initConfig } = await import('../../src/cli/init.js');
  const out = join(dir, 'configs', 'new', 'people.yaml');
  const r = await initConfig(csv, { target: 'churn', out });
  assert.equal(r.config, out);
  assert.match(readFileSync(out, 'utf8'), /\n {2}path: "\.\.\/\.\.\/people\.csv" /, 'the data path relative to the new folder');
});

test('inferSchema: a field\'s missing list keeps the default markers (a list of the ones seen would drop NA, null… for the rows after the sample)', () => {
  const recs = Array.from({ length: 30 }, (_, i) => ({ a: i % 7 === 0 ? '?' : i % 11 === 0 ? '.' : String(i * 0.5), b: i % 5 === 0 ? 'NA' : String(i * 0.25), y: i % 2 ? 'yes' : 'no' }));
  const s = data.inferSchema(recs, 'y');
  const a = s.fields.find((f) => f.name === 'a')!.spec as { missing?: string[] };
  assert.deepEqual(a.missing, [...data.DEFAULT_MISSING, '.'], "'.' is not a default marker: the defaults and it");
  assert.equal((s.fields.find((f) => f.name === 'b')!.spec as { missing?: string[] }).missing, undefined, 'only default markers: the default list, not written');
  // the field then reads a default marker it did not see in the sample (before: DataError, expected a number, got "NA")
  const more = [...recs, { a: 'NA', b: 'null', y: 'no' }];
  assert.doesNotThrow(() => data.Preprocessor.fit({ fields: s.fields.flatMap((f) => (f.spec ? [f.spec] : [])), targets: [s.target.spec] }, more));
});

test('inferSchema: integer class names are listed in numeric order (1, 2, 3, 10, not 1, 10, 2, 3)', () => {
  const recs = Array.from({ length: 40 }, (_, i) => ({ x: i * 0.5, y: String([1, 2, 3, 10][i % 4]) }));
  assert.deepEqual(data.inferSchema(recs, 'y').target.spec, { name: 'y', task: 'multiclass', classes: ['1', '2', '3', '10'] });
  assert.deepEqual(data.inferSchema(recs.map((r, i) => ({ ...r, y: ['b', 'a', 'c'][i % 3] })), 'y').target.spec.classes, ['a', 'b', 'c']);
});

test('the config\'s first line is a command that runs: a target with spaces or quotes is quoted for the shell', async () => {
  const { initConfig } = await import('../../src/cli/init.js');
  const file = join(dir, 'beaks.csv');
  writeFileSync(file, `Island,Beak Length (mm)\n${Array.from({ length: 12 }, (_, i) => `${['a', 'b'][i % 2]},${30 + i}.5`).join('\n')}\n`);
  const r = await initConfig(file, { target: 'Beak Length (mm)', out: join(dir, 'beaks.yaml') });
  assert.match(r.text, /^# Written by `attnkit init beaks\.csv --target 'Beak Length \(mm\)'` from all 12 rows/);
});

test('inferSchema: a column of distinct years (one row per year) is numeric, not a row ID; a distinct 1…n index still is an ID', () => {
  const recs = Array.from({ length: 60 }, (_, i) => ({ year: 1961 + i, n: i + 1, rainfall: 700 + 50 * Math.sin(i), y: i % 3 === 0 ? 'wet' : 'dry' }));
  const s = data.inferSchema(recs, 'y');
  assert.equal(kinds(s).year, 'numeric', s.fields.find((f) => f.name === 'year')!.reason);
  assert.equal(kinds(s).n, 'excluded');
  // named like a year but holding a 1…n index: still numeric (the name says it is a quantity of time)
  const s2 = data.inferSchema(recs.map((r, i) => ({ ...r, year: i })), 'y');
  assert.equal(kinds(s2).year, 'numeric');
});

test('initConfigText: a small table read whole gets a 3-member independent ensemble; a larger or sampled one a single model', async () => {
  const { initConfigText, INIT_ENSEMBLE_MAX_ROWS } = await import('../../src/cli/init.js');
  const { parse } = await import('yaml');
  const rows = (n: number): Record<string, unknown>[] => Array.from({ length: n }, (_, i) => ({ x: (i * 7919) % 1000 / 10, c: ['p', 'q', 'r'][i % 3], y: i % 2 ? 'yes' : 'no' }));
  const model = (n: number, sampled: boolean): Record<string, unknown> =>
    (parse(initConfigText(data.inferSchema(rows(n), 'y'), { dataPath: 'd.csv', name: 'd', command: 'attnkit init d.csv --target y', sampled, file: 'd.csv', onError: false })) as { model: Record<string, unknown> }).model;
  assert.deepEqual(model(300, false), { type: 'fusion', strategy: 'early', ensemble: 3, ensembleMode: 'independent' });
  assert.deepEqual(model(INIT_ENSEMBLE_MAX_ROWS, false), { type: 'fusion', strategy: 'early', ensemble: 3, ensembleMode: 'independent' });
  assert.deepEqual(model(INIT_ENSEMBLE_MAX_ROWS + 1, false), { type: 'fusion', strategy: 'early' });
  assert.deepEqual(model(300, true), { type: 'fusion', strategy: 'early' }, 'a sample of a larger file');
});
