/** Preprocessor fit/encode/state, batches and masks, splits, file readers and the dataset adapters. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataError, data } from '../../src/node.js';

const schema = {
  fields: [
    { name: 'age', kind: 'numeric' }, { name: 'city', kind: 'categorical' },
    { name: 'note', kind: 'text', minCount: 1 }, { name: 'hdr', kind: 'keyValue', minCount: 1 },
  ],
  targets: [{ name: 'y', task: 'binary', positive: 'spam' }, { name: 'k', task: 'multiclass' }, { name: 'v', task: 'regression' }],
};
const records = [
  { age: '30', city: 'Oslo', note: 'hello there', hdr: 'From: a\nTo: b', y: 'spam', k: 'x', v: '1' },
  { age: 'NA', city: 'Rome', note: 'hi', hdr: { from: 'c' }, y: 'ham', k: 'y', v: 3 },
  { age: 50, city: '', note: '', hdr: null, y: 'spam', k: 'z', v: '5' },
];

test('Preprocessor: encode, the state round-trips through JSON, targets are encoded per task', () => {
  const pre = data.Preprocessor.fit(schema, records);
  const { dataset } = pre.encode(records);
  const again = data.Preprocessor.fromState(JSON.parse(JSON.stringify(pre.state())));
  assert.deepEqual(again.encode(records).dataset, dataset);
  assert.deepEqual(Array.from(dataset.targets.y.values), [1, 0, 1]);
  assert.deepEqual(Array.from(dataset.targets.k.values), [0, 1, 2]);
  // regression standardised: mean 3, std √(8/3); denormalize maps back
  const v = Array.from(dataset.targets.v.values);
  assert.ok(Math.abs(v[0] + 2 / Math.sqrt(8 / 3)) < 1e-6);      // (1 − 3) / std
  assert.ok(Math.abs(pre.denormalize('v', v[2]) - 5) < 1e-5);
  const info = pre.targetInfo();
  assert.deepEqual(info.map((t) => [t.name, t.outputs]), [['y', 1], ['k', 3], ['v', 1]]);
  assert.deepEqual(pre.fieldInfo().map((f) => [f.name, f.kind, f.source]), [['age', 'numeric', 'age'], ['city', 'categorical', 'city'], ['note', 'text', 'note'], ['hdr', 'keyValue', 'hdr']]);
});

test('batches pad to the longest row and mask padding and missing values', () => {
  const pre = data.Preprocessor.fit(schema, records);
  const b = pre.encode(records).dataset.batch([2, 0]);
  assert.equal(b.size, 2);
  const age = b.fields.age, note = b.fields.note, hdr = b.fields.hdr, city = b.fields.city;
  assert.ok(age.kind === 'numeric' && note.kind === 'text' && hdr.kind === 'keyValue' && city.kind === 'categorical');
  assert.deepEqual(Array.from(age.present.data), [1, 1]);
  assert.deepEqual([...note.ids.shape], [2, 2]);
  assert.deepEqual(Array.from(note.mask.data), [0, 0, 1, 1]);
  assert.deepEqual(Array.from(city.ids.data), [0, 2 + ['Oslo', 'Rome'].indexOf('Oslo')]);
  assert.deepEqual([...hdr.ids.shape], [2, 4]);                    // From: a, To: b → 2 × (marker + 1 token)
  assert.deepEqual(Array.from(hdr.mask.data), [0, 0, 0, 0, 1, 1, 1, 1]);
  const missingAge = pre.encode(records).dataset.batch([1]).fields.age;
  assert.ok(missingAge.kind === 'numeric' && missingAge.present.data[0] === 0);
  assert.throws(() => pre.encode(records).dataset.batch([3]), /row 3 outside/);
});

test('encode errors name file, line and field; skip mode leaves bad rows out and lists them', () => {
  const pre = data.Preprocessor.fit(schema, records);
  const bad = [records[0], { ...records[1], age: 'forty' }, { ...records[2], k: 'unseen' }, records[1]];
  const origins = bad.map((_, i) => ({ file: 'people.csv', line: i + 2 }));
  assert.throws(() => pre.encode(bad, { origins }), (e: Error) => e instanceof DataError && e.message === 'people.csv:3: field \'age\': expected a number, got "forty"');
  const { dataset, skipped } = pre.encode(bad, { origins, onError: 'skip' });
  assert.equal(dataset.size, 2);
  assert.deepEqual(skipped.map((s) => s.origin), ['people.csv:3', 'people.csv:4']);
  assert.match(skipped[1].reason, /target 'k': class "unseen" is not one of the fitted classes \[x, y, z\]/);
  assert.throws(() => pre.encode([{ ...records[0], y: '' }]), /target 'y': missing/);
  // prediction inputs have no targets
  assert.equal(pre.encode([{ age: 1 }], { targets: false }).dataset.size, 1);
});

test('splitIndices: seeded, disjoint, complete, stratified by class', () => {
  const labels = Array.from({ length: 200 }, (_, i) => (i < 40 ? 1 : 0));
  const a = data.splitIndices(200, { seed: 3, valid: 0.1, test: 0.2, stratify: labels });
  const b = data.splitIndices(200, { seed: 3, valid: 0.1, test: 0.2, stratify: labels });
  assert.deepEqual(a, b);
  const all = [...a.train, ...a.valid, ...a.test].sort((x, y) => x - y);
  assert.deepEqual(all, Array.from({ length: 200 }, (_, i) => i));
  assert.equal(a.test.filter((i) => labels[i] === 1).length, 8);           // 20 % of the 40 positives
  assert.equal(a.valid.filter((i) => labels[i] === 1).length, 4);
  assert.notDeepEqual(data.splitIndices(200, { seed: 4 }).test, a.test);
  assert.throws(() => data.splitIndices(10, { seed: 0, valid: 0.5, test: 0.5 }), /sum below 1/);
});

test('readers: quoted CSV, TSV, JSONL, JSON arrays; malformed rows name file and line or are skipped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attnkit-data-'));
  const csv = join(dir, 'a.csv');
  writeFileSync(csv, '\uFEFFname,note\n"Smith, J","said ""hi""\nthen left"\nshort\nok,fine\n');
  await assert.rejects(data.readRecords(csv), (e: Error) => e instanceof DataError && e.message.startsWith(`${csv}:4:`) && /Record Length/.test(e.message));
  const r = await data.readRecords(csv, { onError: 'skip' });
  assert.deepEqual(r.records, [{ name: 'Smith, J', note: 'said "hi"\nthen left' }, { name: 'ok', note: 'fine' }]);
  assert.deepEqual(r.origins.map((o) => o.line), [3, 5]);
  assert.deepEqual(r.skipped.map((s) => s.origin), [`${csv}:4`]);
  const tsv = join(dir, 'b.tsv');
  writeFileSync(tsv, 'a\tb\n1\tx y\n');
  assert.deepEqual((await data.readRecords(tsv)).records, [{ a: '1', b: 'x y' }]);
  const jsonl = join(dir, 'c.jsonl');
  writeFileSync(jsonl, '{"a":1}\n\n{"a":\n[1]\n{"a":{"k":"v"}}\n');
  await assert.rejects(data.readRecords(jsonl), new RegExp(`${jsonl}:3: not valid JSON`));
  const j = await data.readRecords(jsonl, { onError: 'skip' });
  assert.deepEqual(j.records, [{ a: 1 }, { a: { k: 'v' } }]);
  assert.deepEqual(j.skipped.map((s) => s.origin), [`${jsonl}:3`, `${jsonl}:4`]);
  const json = join(dir, 'd.json');
  writeFileSync(json, '[{"a":1},{"a":2},{"a":3}]');
  assert.equal((await data.readRecords(json, { limit: 2 })).records.length, 2);
  writeFileSync(json, '{"a":1}');
  await assert.rejects(data.readRecords(json), /must hold an array/);
  await assert.rejects(data.readRecords(join(dir, 'none.csv')), /no such file/);
  assert.throws(() => data.formatOf('x.parquet'), /cannot tell the format/);
});

test('a CSV file read, fitted and encoded end to end reports bad cells by file, line and field', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attnkit-data-'));
  const csv = join(dir, 'w.csv');
  writeFileSync(csv, 'wage,sector\n5.1,manufacturing\n7,other\nabc,other\n');
  const { records: recs, origins } = await data.readRecords(csv);
  const pre = data.Preprocessor.fit({ fields: [{ name: 'sector', kind: 'categorical' }, { name: 'wage', kind: 'numeric' }] }, recs.slice(0, 2));
  assert.throws(() => pre.encode(recs, { origins }), (e: Error) => e.message === `${csv}:4: field 'wage': expected a number, got "abc"`);
});

test('dataset adapters load the real packages with schemas that fit', () => {
  const p = data.penguins();
  assert.equal(p.records.length, 344);
  const pp = data.Preprocessor.fit(p.schema, p.records);
  assert.deepEqual(pp.targetInfo()[0].classes, ['Adelie', 'Chinstrap', 'Gentoo']);
  const sex = pp.encode(p.records).dataset.columns.Sex;
  assert.ok(sex.kind === 'categorical' && Array.from(sex.ids).filter((v) => v === 0).length === 11, "10 nulls and one '.' are missing");
  const w = data.cpsWages();
  assert.equal(w.records.length, 534);
  assert.ok(Math.abs((w.records[0].logWage as number) - Math.log(5.1)) < 1e-12);
  const s = data.spamAssassin({ groups: ['spam-2'] });
  assert.ok(s.records.length > 1000 && s.records.every((r) => r.label === 'spam'));
  const first = s.records[0];
  assert.ok(typeof first.headers === 'string' && /^[A-Za-z-]+:/.test(first.headers as string), 'headers start with a header line (no mbox envelope)');
  assert.equal(typeof first.links, 'number');
});

test('splitEmail and messageStats on a hand-written message', () => {
  const raw = 'From x@y Mon\r\nSubject: Hi\r\nReceived: a\r\nReceived: b\r\n\r\nBUY now!! http://x.com <b>ok</b>';
  const { headers, body } = data.splitEmail(raw);
  assert.equal(headers, 'Subject: Hi\nReceived: a\nReceived: b');
  assert.equal(body, 'BUY now!! http://x.com <b>ok</b>');
  const st = data.messageStats(headers, body);
  assert.equal(st.links, 1); assert.equal(st.exclamations, 2); assert.equal(st.htmlTags, 1); assert.equal(st.received, 2); assert.equal(st.headerCount, 3);
  assert.ok(Math.abs(st.upperFraction - 3 / 18) < 1e-12);            // B U Y among 18 letters
});

test('every built-in adapter loads its package and its schema fits and encodes its records', () => {
  assert.deepEqual(Object.keys(data.DATASETS), ['spamAssassin', 'cpsWages', 'penguins', 'sotu', 'usBirths', 'mnist', 'seattleWeather', 'movies', 'co2', 'sentiment']);
  const expected: Record<string, number> = { sotu: 182, usBirths: 5479 - 28, seattleWeather: 1461, co2: 0, sentiment: 3000 };
  for (const name of ['sotu', 'usBirths', 'seattleWeather', 'movies', 'co2', 'sentiment']) {
    const d = data.DATASETS[name].load();
    if (expected[name]) assert.equal(d.records.length, expected[name], name);
    assert.ok(d.records.length > 100, name);
    const sample = d.records.filter((_, i) => i % Math.ceil(d.records.length / 80) === 0);
    const pre = data.Preprocessor.fit(d.schema, sample);
    assert.equal(pre.encode(sample).dataset.size, sample.length, name);
  }
  const m = data.mnist({ perClass: 3 });
  assert.equal(m.records.length, 30);
  assert.equal((m.records[0].pixels as number[]).length, 784);
  const mb = data.Preprocessor.fit(m.schema, m.records).encode(m.records).dataset.batch([0, 29]);
  const px = mb.fields.pixels;
  assert.ok(px.kind === 'image');
  assert.deepEqual([...px.patches.shape], [2, 49, 16]);
  assert.deepEqual(Array.from(mb.targets.label.data), [0, 9]);
  const births = data.usBirths({ window: 14 });
  assert.equal((births.records[0].history as number[]).length, 14);
});

test('sentiment: the classes are named negative / positive (the viewer and predict show names, not ids 0/1)', () => {
  const d = data.sentimentSentences();
  assert.deepEqual([...new Set(d.records.map((r) => r.label))].sort(), ['negative', 'positive']);
  const pre = data.Preprocessor.fit(d.schema, d.records.slice(0, 300));
  assert.deepEqual(pre.targetInfo()[0].classes, ['negative', 'positive']);
});

test('datasetPackageVersion: each built-in dataset\'s npm package and its installed version (vega-datasets exports no package.json; the viewer\'s cache is keyed by it)', () => {
  for (const name of Object.keys(data.DATASETS)) {
    const { package: pkg, version } = data.datasetPackageVersion(name);
    assert.equal(pkg, data.DATASETS[name].package, name);
    assert.match(version, /^\d+\.\d+\.\d+/, `${name}: ${pkg}@${version}`);
  }
  assert.throws(() => data.datasetPackageVersion('nope'), (e: Error) => e instanceof ConfigError && /datasetPackageVersion: no built-in dataset 'nope'/.test(e.message));
});

test('Preprocessor.fit: a field or target that is a column of no record is a DataError naming it, the likely column and the columns (it trained as all-missing)', () => {
  const recs = [{ region: 'n', Age: 1, churn: 'yes' }, { region: 's', Age: 2, churn: 'no' }];
  const fields = (name: string, kind: 'categorical' | 'numeric') => ({ fields: [{ name, kind }], targets: [{ name: 'churn', task: 'binary' as const }] });
  assert.throws(() => data.Preprocessor.fit(fields('Region', 'categorical'), recs), (e: Error) => e instanceof DataError && /field 'Region' is a column of no record; did you mean 'region'\? the records' columns: 'region', 'Age', 'churn'/.test(e.message));
  assert.throws(() => data.Preprocessor.fit(fields('age', 'numeric'), recs, { origins: [{ file: 'c.csv', line: 2 }, { file: 'c.csv', line: 3 }] }), (e: Error) => e instanceof DataError && /field 'age' is a column of no record in c\.csv; did you mean 'Age'\?/.test(e.message));
  assert.throws(() => data.Preprocessor.fit({ fields: [{ name: 'Age', kind: 'numeric' }], targets: [{ name: 'chrun', task: 'binary' }] }, recs), (e: Error) => e instanceof DataError && /target 'chrun' is a column of no record; the records' columns/.test(e.message));
  // present as a column with every cell empty: the old message, which is right there
  assert.throws(() => data.Preprocessor.fit({ fields: [{ name: 'Age', kind: 'numeric' }], targets: [{ name: 'churn', task: 'binary' }] }, recs.map((r) => ({ ...r, churn: '' }))), (e: Error) => e instanceof DataError && /target 'churn' has no value/.test(e.message));
});

test('binary target with a positive: a case twin of the positive is refused at fit; at encode a value that is neither fitted class is refused, unless the negatives were several (one against the rest)', () => {
  const schema = { fields: [{ name: 'x', kind: 'numeric' as const }], targets: [{ name: 'y', task: 'binary' as const, positive: 'yes' }] };
  const recs = (ys: string[]) => ys.map((y, i) => ({ x: i, y }));
  assert.throws(() => data.Preprocessor.fit(schema, recs(['yes', 'no', 'YES', 'no'])), (e: Error) => e instanceof DataError && /'YES' differs from the positive class 'yes' only in case/.test(e.message));
  const pre = data.Preprocessor.fit(schema, recs(['yes', 'no', 'no', 'yes']));
  assert.deepEqual(Array.from(pre.encode(recs(['no', 'yes'])).dataset.targets.y.values), [0, 1]);
  assert.throws(() => pre.encode(recs(['no', 'YES'])), (e: Error) => e instanceof DataError && /row 2: target 'y': "YES" is neither class the target was fitted with \('no', and the positive 'yes'\)/.test(e.message));
  // one against the rest: several negative spellings at fit, so any other value is a negative
  const rest = data.Preprocessor.fit(schema, recs(['yes', 'no', 'maybe', 'yes']));
  assert.deepEqual(rest.targetInfo()[0].classes, ['not yes', 'yes']);
  assert.deepEqual(Array.from(rest.encode(recs(['never', 'yes'])).dataset.targets.y.values), [0, 1]);
});
