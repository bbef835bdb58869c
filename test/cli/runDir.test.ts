/**
 * Crash-safe run directories: a `attnkit train` killed at any of its file writes leaves a
 * directory that `--resume` (when the run got as far as saving its config) or a rerun with the
 * same `--out` (when it did not) turns into the run an uninterrupted process would have made.
 * The kill comes from the test preload crashHook.ts (ATTNKIT_CRASH_AT_WRITE=N: SIGKILL at the Nth
 * write, after its temp file and before its rename), which hooks writeFileAtomic; the CLI alone
 * has no such hook.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, train } from '../../src/node.js';
import { removeStaleTemps } from '../../src/cli/runDir.js';

const dir = mkdtempSync(join(tmpdir(), 'attnkit-rundir-'));
const rng = new Generator(2);
const rows = Array.from({ length: 80 }, (_, i) => {
  const a = rng.normal(), b = rng.normal();
  return `${a.toFixed(4)},${b.toFixed(4)},${'xyz'[i % 3]},${a * b > 0 ? 'yes' : 'no'}`;
});
writeFileSync(join(dir, 'data.csv'), `a,b,kind,label\n${rows.join('\n')}\n`);
const cfg = join(dir, 'run.yaml');
// a fusion model, so every epoch also writes entropy.jsonl; dropout, so resumed generators matter
writeFileSync(cfg, `seed: 3
data: { path: data.csv }
schema:
  fields: [{ name: a, kind: numeric }, { name: b, kind: numeric }, { name: kind, kind: categorical }]
  targets: [{ name: label, task: binary }]
model: { type: fusion, dim: 8, heads: 2, layers: 1, dropout: 0.1 }
train: { epochs: 2, batchSize: 16, schedule: { type: plateau, patience: 1 } }
`);

interface Exit { code: number | null; signal: NodeJS.Signals | null; stderr: string }
function cli(args: string[], env: Record<string, string> = {}, preload = ['--import', './test/cli/crashHook.ts']): Promise<Exit> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...preload, 'src/cli/main.ts', ...args, '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  return new Promise((res) => child.on('close', (code, signal) => res({ code, signal, stderr })));
}

/** What must match an uninterrupted run: files compared by content, with wall-clock seconds and the run path left out. */
function finalState(run: string): Record<string, unknown> {
  const lines = (f: string): unknown[] => readFileSync(join(run, f), 'utf8').trim().split('\n').map((l) => ({ ...JSON.parse(l), seconds: 0 }));
  const tensors = (f: string): Record<string, number[]> => Object.fromEntries(Object.entries(train.decodeSafetensors(readFileSync(join(run, f)), f).tensors).map(([k, t]) => [k, Array.from(t.data)]));
  const result = JSON.parse(readFileSync(join(run, 'result.json'), 'utf8')) as Record<string, unknown>;
  const report = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8')) as Record<string, unknown>;
  return {
    files: readdirSync(run).sort(),
    config: JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')),
    preprocessor: readFileSync(join(run, 'preprocessor.json'), 'utf8'),
    split: readFileSync(join(run, 'split.json'), 'utf8'),
    best: readFileSync(join(run, 'model.safetensors')).toString('base64'),
    last: tensors('last.safetensors'),
    metrics: lines('metrics.jsonl'),
    entropy: lines('entropy.jsonl'),
    result: { ...result, run: '' },
    reportKeys: Object.keys(report).sort(),
  };
}

let finished = '';   // a complete run, from the first test

test('a run killed at any of its writes is recovered by --resume or a rerun into the same --out, to the uninterrupted result', async () => {
  let next = 1, writes = Infinity;
  const recovered: { n: number; how: string; dir: string }[] = [];
  const problems: string[] = [];
  // two workers: kill the run at write n, then recover it; the first n past the last write runs to completion
  const worker = async (): Promise<void> => {
    while (next <= writes) {
      const n = next++;
      const out = join(dir, `kill-${n}`);
      const killed = await cli(['train', cfg, '--out', out], { ATTNKIT_CRASH_AT_WRITE: String(n) });
      if (killed.code === 0) { writes = Math.min(writes, n - 1); continue; }
      if (killed.signal !== 'SIGKILL') { problems.push(`write ${n}: the run failed before the kill (${killed.code}): ${killed.stderr}`); continue; }
      const how = existsSync(join(out, 'config.json')) ? 'resume' : 'rerun';
      if (how === 'rerun') {
        // before its config is saved the directory holds no run yet, and --resume says to start it again
        const resume = await cli(['train', '--resume', out]);
        if (resume.code !== 2 || !/holds no run yet.*--out/.test(resume.stderr)) problems.push(`write ${n}: --resume of a run killed before its config said (${resume.code}) ${resume.stderr.trim()}`);
      }
      const r = how === 'resume' ? await cli(['train', '--resume', out]) : await cli(['train', cfg, '--out', out]);
      if (r.code !== 0) { problems.push(`write ${n}: ${how} exited ${r.code}: ${r.stderr.trim().split('\n').at(-1)}`); continue; }
      recovered.push({ n, how, dir: out });
    }
  };
  await Promise.all([worker(), worker()]);
  assert.deepEqual(problems, []);
  assert.ok(writes >= 12 && writes < Infinity, `a 2-epoch run makes at least 12 writes (3 to create the run, 4 per epoch, 3 at the end); counted ${writes}`);
  finished = join(dir, `kill-${writes + 1}`);
  const reference = finalState(finished);
  assert.ok(!(reference.files as string[]).some((f) => f.endsWith('.tmp')));
  recovered.sort((a, b) => a.n - b.n);
  assert.equal(recovered.length, writes, 'every kill was recovered');
  for (const r of recovered) assert.deepEqual(finalState(r.dir), reference, `killed at write ${r.n}, recovered by ${r.how}`);
  assert.deepEqual([...new Set(recovered.map((r) => r.how))].sort(), ['rerun', 'resume']);
});

test('--resume refuses a checkpoint whose trainer state is malformed, and names the field (it used to loop forever)', async () => {
  assert.ok(finished, 'needs the complete run of the first test');
  const last = join(finished, 'last.safetensors');
  const f = train.decodeSafetensors(readFileSync(last));
  writeFileSync(last, train.encodeSafetensors(f.tensors, { ...f.metadata, trainer: f.metadata.trainer.replace(/"epoch":2,/, '"epoch":"five",') }));
  const r = await cli(['train', '--resume', finished]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /CheckpointError: .*last\.safetensors: trainer state: epoch: expected a number, got "five"/);
});

test('removeStaleTemps removes only the temp files of the run\'s own writes: an unrelated dotfile ending in .tmp survives', () => {
  const d = mkdtempSync(join(tmpdir(), 'attnkit-temps-'));
  const ours = ['.last.safetensors.4242.0a1b2c3d.tmp', '.config.json.7.ffffffff.tmp', '.metrics.jsonl.123.00000000.tmp'];
  const theirs = ['.notes.tmp', '.config.json.tmp', '.last.safetensors.4242.tmp', '.mine.json.1.0a1b2c3d.tmp', 'last.safetensors.1.0a1b2c3d.tmp', '.last.safetensors.x.0a1b2c3d.tmp'];
  for (const f of [...ours, ...theirs]) writeFileSync(join(d, f), 'x');
  assert.equal(removeStaleTemps(d), ours.length);
  assert.deepEqual(readdirSync(d).sort(), [...theirs].sort());
});

test('the CLI itself has no crash hook: ATTNKIT_CRASH_AT_WRITE set without the test preload changes nothing', async () => {
  const r = await cli(['train', cfg, '--out', join(dir, 'no-hook')], { ATTNKIT_CRASH_AT_WRITE: '1' }, []);
  assert.equal(r.signal, null, 'not killed');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(dir, 'no-hook', 'result.json')));
});
