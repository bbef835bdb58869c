/**
 * `attnkit export --verify` checks every output of the graph against attnkit: the raw outputs
 * against the model's forward, and the probability / value outputs a server reads against what
 * `attnkit predict` gives for the same rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator } from '../../src/index.js';
import { exportRun, verifyError } from '../../src/cli/exportRun.js';

test('export --verify compares every graph output, the derived ones included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attnkit-export-'));
  const rng = new Generator(2);
  const rows = Array.from({ length: 80 }, (_, i) => {
    const a = rng.normal();
    return { a, kind: ['x', 'y', 'z'][i % 3], label: a > 0 ? 'yes' : 'no', score: 100 + 40 * a };
  });
  writeFileSync(join(dir, 'data.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(join(dir, 'run.yaml'), `name: export-test
seed: 1
data: { path: data.jsonl }
schema:
  fields: [{ name: a, kind: numeric }]
  targets: [{ name: label, task: binary, positive: 'yes' }, { name: kind, task: multiclass }, { name: score, task: regression }]
model: { type: fusion, dim: 8, heads: 2, layers: 1 }
train: { epochs: 1, batchSize: 16, lr: 0.003 }
`);
  const run = join(dir, 'run');
  const t = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', join(dir, 'run.yaml'), '--out', run, '--quiet'], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  const r = await exportRun(run, join(dir, 'model.onnx'), { verify: true });
  assert.ok(r.verified && r.verified.rows > 0 && r.verified.maxAbsError <= 1e-4, JSON.stringify(r));
  assert.deepEqual([...r.verified.outputs].sort(), ['kind', 'kind.probabilities', 'label', 'label.probability', 'score', 'score.value']);
});

test('--verify compares raw outputs (logits) absolutely; only values in target units relative to their size', () => {
  // a logit of 1000 off by 1e-3: 1e-6 relative, but an error of 1e-3 in the graph's raw output
  assert.equal(verifyError(Float32Array.from([1000.0009765625]), [1000], false), 0.0009765625);
  assert.ok(verifyError(Float32Array.from([1000.0009765625]), [1000], true) < 1e-6);
  // below 1 in size both are absolute
  assert.equal(verifyError(Float32Array.from([0.5]), [0.25], true), 0.25);
});
