/**
 * `attnkit predict` never answers silently from input it cannot use: a value beyond float32 is
 * an error naming the line and field (it used to predict null with exit 0); a model field absent
 * from every row (a renamed column) or a column the model does not know is a warning on stderr,
 * and with --strict an error (exit 2) naming the fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator } from '../../src/node.js';
import { trainCommand } from '../../src/cli/commands.js';

const dir = mkdtempSync(join(tmpdir(), 'attnkit-predict-'));
const run = join(dir, 'run');
const cli = (args: string[]): { code: number; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env: process.env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};
const file = (name: string, text: string): string => { const p = join(dir, name); writeFileSync(p, text); return p; };
/** A run config over the columns a (numeric), kind (categorical) → label (binary), with this data section. */
const config = (name: string, data: string): string => `name: ${name}
data: ${data}
schema:
  fields: [{ name: a, kind: numeric }, { name: kind, kind: categorical }]
  targets: [{ name: label, task: binary }]
model: { type: fusion, dim: 8, heads: 2, layers: 1 }
train: { epochs: 1, lr: 0.01 }
`;

test('setup: a small trained run', async () => {
  const rng = new Generator(5);
  const rows = Array.from({ length: 200 }, (_, i) => { const a = rng.normal(); return `${a.toFixed(3)},${['x', 'y'][i % 2]},${a > 0 ? 'yes' : 'no'}`; });
  file('d.csv', `a,kind,label\n${rows.join('\n')}\n`);
  file('c.yaml', config('predict-test', '{ path: d.csv }'));
  assert.equal(await trainCommand(join(dir, 'c.yaml'), { out: run, quiet: true, json: true }), 0);
});

test('a value beyond float32 is an error naming the line and field, not a prediction of null', () => {
  const csv = cli(['predict', run, file('huge.csv', 'a,kind\n0.5,x\n1e42,y\n')]);
  assert.equal(csv.code, 1, csv.stderr);
  assert.match(csv.stderr, /DataError: .*huge\.csv:3: field 'a': "1e42" is beyond the float32 range/);
  assert.equal(csv.stdout, '');
  const jsonl = cli(['predict', run, file('huge.jsonl', '{"a": 0.5, "kind": "x"}\n{"a": -2e39, "kind": "y"}\n')]);
  assert.equal(jsonl.code, 1, jsonl.stderr);
  assert.match(jsonl.stderr, /huge\.jsonl:2: field 'a': -2e\+39 is beyond the float32 range/);
});

test('a model field absent from every row, or an unknown column, is a warning; --strict makes it an error (exit 2)', () => {
  const ok = cli(['predict', run, file('ok.csv', 'a,kind,label\n0.5,x,yes\n-1,y,no\n')]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stderr, '', 'a target column is not unknown, and nothing is absent');
  assert.equal(ok.stdout.trim().split('\n').length, 2);

  const renamed = file('renamed.csv', 'alpha,kind,colour\n0.5,x,red\n-1,y,blue\n');
  const warn = cli(['predict', run, renamed]);
  assert.equal(warn.code, 0, warn.stderr);
  assert.match(warn.stderr, /warning: .*field 'a' is absent from every row of .*renamed\.csv/);
  assert.match(warn.stderr, /column(s)? 'alpha', 'colour' (is|are) not .*field/);
  assert.match(warn.stderr, /--strict/);
  assert.equal(warn.stdout.trim().split('\n').length, 2, 'predictions still made');

  const strict = cli(['predict', run, renamed, '--strict']);
  assert.equal(strict.code, 2, strict.stderr);
  assert.match(strict.stderr, /field 'a' is absent from every row/);
  assert.match(strict.stderr, /'alpha', 'colour'/);
  assert.equal(strict.stdout, '');
  // --strict passes a file that has every field
  assert.equal(cli(['predict', run, join(dir, 'ok.csv'), '--strict']).code, 0);
});

test('--strict is a usage error formatted by main (ConfigError, exit 2); the warning lists at most a few columns, however many are unknown', () => {
  const cols = Array.from({ length: 5000 }, (_, i) => `${'c'.repeat(300)}${i}`);
  const wide = file('wide.csv', `a,kind,${cols.join(',')}\n0.5,x,${cols.map(() => '1').join(',')}\n`);
  const warn = cli(['predict', run, wide]);
  assert.equal(warn.code, 0, warn.stderr.slice(0, 500));
  assert.ok(warn.stderr.length < 1000, `a warning of ${warn.stderr.length} characters`);
  assert.match(warn.stderr, /… and 4995 more/);
  const strict = cli(['predict', run, wide, '--strict']);
  assert.equal(strict.code, 2, strict.stderr.slice(0, 500));
  assert.match(strict.stderr, /^attnkit: ConfigError: predict --strict: columns 'c+…', /);
  assert.ok(strict.stderr.length < 1000, `an error of ${strict.stderr.length} characters`);
});

test('a Latin-1 file is refused as UTF-8, and read with --encoding latin1 or the run config\'s data.encoding', async () => {
  // 'é' as Latin-1 is the byte 0xe9, which cannot start a UTF-8 sequence followed by ','
  const latin = join(dir, 'latin.csv');
  writeFileSync(latin, Buffer.concat([Buffer.from('a,kind\n0.5,caf'), Buffer.from([0xe9]), Buffer.from('\n-1,y\n')]));
  const refused = cli(['predict', run, latin]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /latin\.csv:2: not valid UTF-8 .*--encoding latin1/);
  const read = cli(['predict', run, latin, '--encoding', 'latin1']);
  assert.equal(read.code, 0, read.stderr);
  assert.equal(read.stdout.trim().split('\n').length, 2);
  assert.equal(cli(['predict', run, latin, '--encoding', 'utf-16']).code, 2, 'an unknown encoding is a usage error');
  // a run trained from a Latin-1 file with data.encoding: latin1
  const rows = Array.from({ length: 40 }, (_, i) => `${(i % 7) - 3},caf${i % 2 ? 'é' : 'e'},${i % 7 > 3 ? 'yes' : 'no'}`);
  writeFileSync(join(dir, 'l1.csv'), Buffer.from(`a,kind,label\n${rows.join('\n')}\n`, 'latin1'));
  file('l1.yaml', config('latin', '{ path: l1.csv, encoding: latin1 }'));
  const run2 = join(dir, 'run-latin');
  assert.equal(await trainCommand(join(dir, 'l1.yaml'), { out: run2, quiet: true, json: true }), 0);
  const again = cli(['predict', run2, latin]);
  assert.equal(again.code, 0, again.stderr);
});

test('eval --data checks the file\'s columns as predict does: a warning, and with --strict an error (exit 2)', () => {
  const noKind = file('nokind.csv', 'a,label\n0.5,yes\n-1,no\n0.2,yes\n');
  const warn = cli(['eval', run, '--data', noKind]);
  assert.equal(warn.code, 0, warn.stderr);
  assert.match(warn.stderr, /attnkit eval: warning: the model's field 'kind' is absent from every row of .*nokind\.csv \(evaluated as missing\); --strict/);
  const strict = cli(['eval', run, '--data', noKind, '--strict']);
  assert.equal(strict.code, 2, strict.stderr);
  assert.match(strict.stderr, /eval --strict: the model's field 'kind' is absent/);
  assert.equal(strict.stdout, '');
  const ok = cli(['eval', run, '--data', join(dir, 'ok.csv'), '--strict']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stderr, '');
});

test('a folder of runs given as a run names its runs (it said to train into the folder); a run without attention maps is not offered "its attention"', () => {
  const parent = cli(['eval', dir]);
  assert.equal(parent.code, 2, parent.stderr);
  assert.match(parent.stderr, /is a folder of runs, not a run: give one of them \('.*run'/);
  assert.doesNotMatch(parent.stderr, /attnkit train/);
  file('lin.yaml', config('predict-linear', '{ path: d.csv }').replace('model: { type: fusion, dim: 8, heads: 2, layers: 1 }', 'model: { type: linear }'));
  const lin = cli(['train', join(dir, 'lin.yaml'), '--out', join(dir, 'lin-run'), '--quiet']);
  assert.equal(lin.code, 0, lin.stderr);
  assert.match(lin.stdout, /look at its predictions: /);
  assert.doesNotMatch(lin.stdout, /attention/);
});
