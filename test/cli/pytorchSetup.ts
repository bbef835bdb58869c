/**
 * Shared by the PyTorch export tests: whether /usr/bin/python3 has torch (else the tests skip,
 * saying why), tiny runs over test/fixtures/pytorch/mixed.jsonl (every field kind, a binary, a
 * multi-class and a regression target), and running Python on the exported project.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { trainCommand } from '../../src/cli/commands.js';

/** The Python the tests run (ATTNKIT_TEST_PYTHON overrides, e.g. to see the skip). */
export const PYTHON = process.env.ATTNKIT_TEST_PYTHON ?? '/usr/bin/python3';
export const FIXTURE = resolve('test/fixtures/pytorch/mixed.jsonl');

const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
/** false when torch is importable, else the reason to skip (printed once). */
export const skipTorch: false | string = probe.status === 0 ? false : `skipped: ${PYTHON} cannot import torch and numpy (apt-get install python3-torch): ${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()}`;
if (skipTorch) process.stdout.write(`# ${skipTorch}\n`);

/** Every field kind, three sources, three kinds of target. */
export const SCHEMA = `schema:
  fields:
    - { name: a, kind: numeric, source: tab }
    - { name: kind, kind: categorical, source: tab }
    - { name: text, kind: text, maxLength: 6, source: doc }
    - { name: hdr, kind: keyValue, maxPairs: 2, maxValueTokens: 2, source: doc }
    - { name: series, kind: timeSeries, patchSize: 4, maxPatches: 3, source: signal }
    - { name: img, kind: image, height: 4, width: 4, patchSize: 2, source: signal }
  targets:
    - { name: label, task: binary, classWeights: [1, 2] }
    - { name: cls, task: multiclass, classWeights: balanced }
    - { name: y, task: regression, loss: huber }
`;

export const tmp = (prefix: string): string => mkdtempSync(join(tmpdir(), `attnkit-${prefix}-`));

/** Trains a run (1 epoch unless `train` says otherwise) of `model` (YAML flow map) on the fixture; returns its directory. */
export async function tinyRun(dir: string, name: string, model: string, train = '{ epochs: 1, lr: 0.01, batchSize: 16, optimizer: adamw }', schema = SCHEMA): Promise<string> {
  const config = join(dir, `${name}.yaml`);
  writeFileSync(config, `name: ${name}\nseed: 3\ndata: { path: ${FIXTURE} }\n${schema}model: ${model}\ntrain: ${train}\nsplit: { valid: 0.2, test: 0.2 }\n`);
  const run = join(dir, name);
  const code = await trainCommand(config, { out: run, quiet: true, json: true });
  if (code !== 0) throw new Error(`training ${name} exited ${code}`);
  return run;
}

/** Runs Python code (cwd: `cwd`) and returns stdout; throws with stderr on failure. */
export function python(code: string, cwd: string, args: string[] = []): string {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { cwd, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  if (r.status !== 0) throw new Error(`python exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}
