/**
 * The interop path a user takes: `attnkit train` a fusion model, `attnkit export --verify` it,
 * serve it with the ONNX Runtime example server, and get the same predictions as
 * `attnkit predict`; bad requests get clear 4xx errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator } from '../../src/index.js';
import { startPredictionServer } from '../../examples/onnxServer.js';
import { httpGet } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'attnkit-serve-'));
const cli = (args: string[]): { code: number; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env: process.env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};

const rng = new Generator(4);
const words = ['cheap', 'offer', 'meeting', 'lunch', 'free', 'report'];
const rows = Array.from({ length: 300 }, (_, i) => {
  const a = rng.normal(), w = words[rng.int(0, 6)];
  return { size: i % 9 === 0 ? null : a, kind: ['x', 'y', 'z'][i % 3], note: `${w} ${words[rng.int(0, 6)]}`, label: a + (w === 'free' ? 1 : 0) > 0.3 ? 'spam' : 'ham', score: 2 * a + 1 };
});
writeFileSync(join(dir, 'data.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
writeFileSync(join(dir, 'run.yaml'), `name: serve-test
seed: 1
data: { path: data.jsonl }
schema:
  fields: [{ name: size, kind: numeric, source: table }, { name: kind, kind: categorical, source: table }, { name: note, kind: text, minCount: 1, source: text }]
  targets: [{ name: label, task: binary, positive: spam }, { name: score, task: regression }]
model: { type: fusion, strategy: crossModal, dim: 16, heads: 2, layers: 1 }
train: { epochs: 2, batchSize: 32, lr: 0.003 }
`);

test('train → export --verify → serve with ONNX Runtime gives the predictions attnkit predict gives; bad requests get 4xx', async () => {
  const run = join(dir, 'run');
  const t = cli(['train', join(dir, 'run.yaml'), '--out', run, '--quiet']);
  assert.equal(t.code, 0, t.stderr);
  const onnx = join(dir, 'model.onnx');
  const ex = cli(['export', run, onnx, '--verify', '--json']);
  assert.equal(ex.code, 0, ex.stderr);
  const r = JSON.parse(ex.stdout);
  assert.ok(existsSync(onnx) && existsSync(join(dir, 'model.attnkit.json')), 'model.onnx and model.attnkit.json written');
  assert.ok(r.verified.rows > 0 && r.verified.maxAbsError <= 1e-4, JSON.stringify(r));

  const requests = [{ size: 1.2, kind: 'y', note: 'free lunch' }, { kind: 'unseen', note: 'report' }, { size: '0.5', note: '' }];
  writeFileSync(join(dir, 'new.jsonl'), requests.map((x) => JSON.stringify(x)).join('\n') + '\n');
  const pr = cli(['predict', run, join(dir, 'new.jsonl')]);
  assert.equal(pr.code, 0, pr.stderr);
  const expected = pr.stdout.trim().split('\n').map((l) => JSON.parse(l));

  const s = await startPredictionServer(onnx, { port: 0 });
  try {
    const post = (body: string, type = 'application/json'): Promise<Response> => fetch(`${s.url}/predict`, { method: 'POST', headers: { 'content-type': type }, body });
    const ok = await post(JSON.stringify({ records: requests }));
    assert.equal(ok.status, 200);
    const { predictions } = await ok.json() as { predictions: { label: { probability: number; label: string; positive: string }; score: number }[] };
    assert.equal(predictions.length, requests.length);
    predictions.forEach((p, i) => {
      assert.ok(Math.abs(p.label.probability - expected[i].label.probability) <= 2e-5, `row ${i}: served ${p.label.probability}, predict ${expected[i].label.probability}`);
      assert.equal(p.label.label, expected[i].label.label);
      assert.ok(Math.abs(p.score - expected[i].score) <= 1e-3 * Math.max(1, Math.abs(expected[i].score)), `row ${i} score: served ${p.score}, predict ${expected[i].score}`);
    });
    const single = await post(JSON.stringify(requests[0]));
    assert.deepEqual((await single.json() as { predictions: unknown[] }).predictions, [predictions[0]]);
    const info = await (await fetch(s.url)).json() as { fields: { name: string }[]; targets: { name: string }[] };
    assert.deepEqual(info.fields.map((f) => f.name), ['size', 'kind', 'note']);
    assert.deepEqual(info.targets.map((x) => x.name), ['label', 'score']);

    const bad: [string, Promise<Response>, number, RegExp][] = [
      ['invalid JSON', post('{"records": ['), 400, /not valid JSON/],
      ['unknown field', post(JSON.stringify({ records: [{ size: 1, colour: 'red' }] })), 400, /records\[0\]\.colour: unknown field \(the model's fields: size, kind, note\)/],
      ['wrong type', post(JSON.stringify({ size: [1, 2] })), 400, /size: /],
      ['unencodable number', post(JSON.stringify({ records: [{ size: 1 }, { size: 'big' }] })), 400, /records\[1\]: field 'size': expected a number, got "big"/],
      // 1e42 is finite in JavaScript but ∞ in the float32 model: it used to predict null with 200
      ['number beyond float32', post(JSON.stringify({ records: [{ size: 1 }, { size: 1e42 }] })), 400, /records\[1\]\.size: 1e\+42 is beyond the float32 range/],
      ['numeric string beyond float32', post(JSON.stringify({ size: '-1e39' })), 400, /records\[0\]: field 'size': "-1e39" is beyond the float32 range/],
      ['empty batch', post(JSON.stringify({ records: [] })), 400, /at least one record/],
      ['too many records', post(JSON.stringify({ records: Array.from({ length: 1001 }, () => ({})) })), 400, /at most 1000 records/],
      ['not JSON content', post('size=1', 'application/x-www-form-urlencoded'), 415, /takes application\/json/],
      ['too large', post(JSON.stringify({ note: 'x'.repeat(1 << 20) })), 413, /exceeds/],
      ['wrong method', fetch(`${s.url}/predict`), 405, /takes POST, got GET/],
      ['unknown path', fetch(`${s.url}/nope`), 404, /no route \/nope/],
    ];
    for (const [name, pending, status, message] of bad) {
      const res = await pending;
      assert.equal(res.status, status, name);
      const body = await res.json() as { error: { message: string } };
      assert.match(body.error.message, message, name);
    }
    // DNS rebinding: only requests naming the server (127.0.0.1 or localhost, with its port) are answered
    const { port } = new URL(s.url);
    for (const [host, status] of [['evil.example', 403], [`evil.example:${port}`, 403], [`127.0.0.1.evil.example:${port}`, 403], [`localhost:${port}`, 200], [`127.0.0.1:${port}`, 200]] as const) {
      const r = await httpGet({ host: '127.0.0.1', port: Number(port), path: '/health', headers: { host } });
      assert.equal(r.status, status, `Host: ${host}`);
      if (status === 403) assert.match(JSON.parse(r.body).error.message, /only answers requests for 127\.0\.0\.1:\d+ or localhost:\d+/);
    }
    assert.equal((await fetch(`${s.url}/health`)).status, 200, 'the server still serves after bad requests');
  } finally {
    await s.close();
  }
  // a baseline model cannot be exported, and says so
  const lin = join(dir, 'lin');
  assert.equal(cli(['train', join(dir, 'run.yaml'), '--out', lin, '--quiet', '--set', 'model={type: linear}', '--set', 'train.epochs=1']).code, 0);
  const refused = cli(['export', lin, join(dir, 'lin.onnx')]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /the run's model is a LinearModel; ONNX export covers the fusion model/);
  assert.ok(!existsSync(join(dir, 'lin.onnx')));
});
