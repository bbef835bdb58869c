/**
 * The attnkit command line as a user runs it: a child process per command. Kill-and-resume
 * reaches the same final weights as an uninterrupted run; config and usage errors exit 2;
 * malformed checkpoints are refused with a clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, data, train } from '../../src/node.js';
import { readRun } from '../../src/cli/runDir.js';

const dir = mkdtempSync(join(tmpdir(), 'attnkit-cli-'));
const cli = (args: string[]): { code: number; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env: process.env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};

const rng = new Generator(11);
const rows = Array.from({ length: 3000 }, (_, i) => {
  const a = rng.normal(), b = rng.normal();
  return `${a.toFixed(4)},${b.toFixed(4)},${['x', 'y', 'z'][i % 3]},${a * b + (i % 3 === 0 ? 0.5 : 0) > 0 ? 'yes' : 'no'}`;
});
writeFileSync(join(dir, 'data.csv'), `a,b,kind,label\n${rows.join('\n')}\n`);
const cfg = join(dir, 'run.yaml');
writeFileSync(cfg, `name: cli-test
seed: 3
data: { path: data.csv }
schema:
  fields: [{ name: a, kind: numeric }, { name: b, kind: numeric }, { name: kind, kind: categorical }]
  targets: [{ name: label, task: binary }]
model: { type: fusion, dim: 16, heads: 2, layers: 2, dropout: 0.1 }
train: { epochs: 6, batchSize: 16, lr: 0.003, schedule: { type: cosine, warmup: 0.1 } }
`);

function checkpointEpoch(path: string): number {
  try { return JSON.parse(train.decodeSafetensors(readFileSync(path)).metadata.trainer).epoch as number; } catch { return 0; }
}

test('train → eval → predict through the CLI, with the run directory it promises', () => {
  const out = join(dir, 'quick');
  const r = cli(['train', cfg, '--out', out, '--set', 'train.epochs=2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(summary.epochs, 2);
  assert.ok(summary.test.label.accuracy > 0.5);
  for (const f of ['config.json', 'preprocessor.json', 'split.json', 'model.safetensors', 'last.safetensors', 'metrics.jsonl', 'result.json']) assert.ok(existsSync(join(out, f)), f);
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.epoch ?? 'test'), [1, 2, 'test']);
  const ev = cli(['eval', out, '--json']);
  assert.equal(ev.code, 0, ev.stderr);
  assert.deepEqual(JSON.parse(ev.stdout), summary.test);
  writeFileSync(join(dir, 'new.jsonl'), '{"a": 1.5, "b": 2, "kind": "x"}\n{"a": -1, "b": 2, "kind": "unseen"}\n');
  const pr = cli(['predict', out, join(dir, 'new.jsonl')]);
  assert.equal(pr.code, 0, pr.stderr);
  const preds = pr.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(preds.length, 2);
  assert.ok(preds.every((p) => p.label.probability >= 0 && p.label.probability <= 1 && (p.label.label === 'no' || p.label.label === 'yes') && p.label.positive === 'yes'));
  assert.equal(preds[1].line, 2);
  const v = cli(['--version']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  const ds = cli(['datasets', '--json']);
  assert.deepEqual(JSON.parse(ds.stdout).map((d: { name: string }) => d.name), Object.keys(data.DATASETS));
});

test('a split without test rows trains, says so and reports no test metrics; one without training rows is a DataError', () => {
  const out = join(dir, 'no-test');
  const r = cli(['train', cfg, '--out', out, '--set', 'train.epochs=1', '--set', 'split.test=0', '--set', 'data.limit=200']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /no test rows: the run will report no test metrics/);
  assert.match(r.stdout, /no test rows, so no test metrics/);
  assert.equal(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).test, null);
  assert.ok(existsSync(join(out, 'report.json')));   // its samples come from the validation rows
  const view = join(dir, 'no-test-view');
  assert.equal(cli(['inspect', out, '--export', view]).code, 0);
  const records = JSON.parse(readFileSync(join(view, 'runs', '0', 'records.json'), 'utf8'));
  assert.equal(records.split, 'valid');   // the viewer names them validation rows
  assert.deepEqual(records.rows, JSON.parse(readFileSync(join(out, 'split.json'), 'utf8')).valid);
  const ev = cli(['eval', out]);
  assert.equal(ev.code, 2);
  assert.match(ev.stderr, /eval: .* has no test rows .*--data/);
  writeFileSync(join(dir, 'two.csv'), 'a,b,kind,label\n1,2,x,yes\n2,1,y,no\n');
  const tiny = join(dir, 'tiny.yaml');
  writeFileSync(tiny, readFileSync(cfg, 'utf8').replace('data.csv', 'two.csv'));
  const t = cli(['train', tiny, '--out', join(dir, 'tiny'), '--set', 'split.valid=0.4', '--set', 'split.test=0.4', '--set', 'split.stratify=false']);
  assert.equal(t.code, 1);
  assert.match(t.stderr, /DataError: prepareRun: the split leaves no training rows \(2 rows: 1 valid, 1 test\)/);
});

test('a built-in dataset\'s data.limit is saved with how it took its rows; a run saved without limitBy reopens onto its first rows', () => {
  const out = join(dir, 'limited');
  const c = join(dir, 'penguins-limit.yaml');
  writeFileSync(c, 'data: { dataset: penguins, limit: 90 }\nmodel: { type: linear }\ntrain: { epochs: 1 }\n');
  assert.equal(cli(['train', c, '--out', out, '--quiet']).code, 0);
  const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(saved.data.limitBy, 'stratified');
  delete saved.data.limitBy;   // as a run saved before limitBy
  writeFileSync(join(out, 'config.json'), JSON.stringify(saved));
  assert.equal(readRun(out).config.data.limitBy, 'first');
});

test('a run killed mid-training and resumed ends with exactly the weights of an uninterrupted run', async () => {
  const whole = join(dir, 'whole'), killed = join(dir, 'killed');
  assert.equal(cli(['train', cfg, '--out', whole, '--quiet']).code, 0);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', cfg, '--out', killed, '--quiet'], { stdio: 'ignore', env: process.env });
  const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  let done = false;
  void exited.then(() => { done = true; });
  while (!done && checkpointEpoch(join(killed, 'last.safetensors')) < 2) await new Promise((r) => setTimeout(r, 20));
  assert.ok(!done, 'the run finished before it could be killed; make its epochs longer');
  child.kill('SIGKILL');
  await exited;
  const at = checkpointEpoch(join(killed, 'last.safetensors'));
  assert.ok(at >= 2 && at < 6, `killed after epoch ${at}`);
  const r = cli(['train', '--resume', killed, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stderr === '' || !/Error/.test(r.stderr), r.stderr);
  const a = train.decodeSafetensors(readFileSync(join(whole, 'model.safetensors'))).tensors;
  const b = train.decodeSafetensors(readFileSync(join(killed, 'model.safetensors'))).tensors;
  assert.deepEqual(Object.keys(b), Object.keys(a));
  for (const k of Object.keys(a)) assert.deepEqual(Array.from(b[k].data), Array.from(a[k].data), `best weights '${k}'`);
  const la = train.decodeSafetensors(readFileSync(join(whole, 'last.safetensors'))).tensors;
  const lb = train.decodeSafetensors(readFileSync(join(killed, 'last.safetensors'))).tensors;
  for (const k of Object.keys(la)) assert.deepEqual(Array.from(lb[k].data), Array.from(la[k].data), `last state '${k}'`);
  const strip = (p: string): string[] => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.stringify({ ...JSON.parse(l), seconds: 0 }));
  assert.deepEqual(strip(join(killed, 'metrics.jsonl')), strip(join(whole, 'metrics.jsonl')));
});

test('config and usage errors exit 2 with the field path; runtime failures exit 1', () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, readFileSync(cfg, 'utf8').replace('batchSize: 16', 'batchsize: 16'));
  const r = cli(['train', bad, '--out', join(dir, 'bad')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /ConfigError: run config: invalid config — train\.batchsize: unknown key/);
  assert.equal(cli(['train']).code, 2);
  assert.equal(cli(['frobnicate']).code, 2);
  assert.equal(cli(['train', cfg, '--set', 'model.dim=abc']).code, 2);
  assert.equal(cli(['eval', join(dir, 'nowhere')]).code, 2);
  const missingData = join(dir, 'nodata.yaml');
  writeFileSync(missingData, readFileSync(cfg, 'utf8').replace('data.csv', 'missing.csv'));
  const m = cli(['train', missingData, '--out', join(dir, 'nodata')]);
  assert.equal(m.code, 1);
  assert.match(m.stderr, /DataError: readRecords: no such file/);
});

test('a malformed checkpoint is refused with a CheckpointError naming the file', () => {
  const out = join(dir, 'corrupt');
  assert.equal(cli(['train', cfg, '--out', out, '--quiet', '--set', 'train.epochs=1']).code, 0);
  const last = join(out, 'last.safetensors');
  const bytes = readFileSync(last);
  writeFileSync(last, bytes.subarray(0, bytes.length - 10));
  const r = cli(['train', '--resume', out]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /CheckpointError: .*last\.safetensors: tensor data ends at \d+, past the \d+ data bytes/);
  writeFileSync(join(out, 'model.safetensors'), 'garbage!');
  const e = cli(['eval', out]);
  assert.equal(e.code, 1);
  assert.match(e.stderr, /CheckpointError: .*model\.safetensors/);
});
