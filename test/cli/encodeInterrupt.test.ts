/**
 * `attnkit encode` interrupted (Ctrl-C / SIGTERM) leaves nothing behind: its temporary column
 * folder (which can hold gigabytes) is removed, and no partial output is written.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE, tinyRun, tmp } from './pytorchSetup.js';

const dir = tmp('encode-int');
after(() => rmSync(dir, { recursive: true, force: true }));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`encode stopped by ${signal} removes its temporary folder and writes no output`, async () => {
    const run = await tinyRun(dir, `run-${signal}`, '{ type: linear }', '{ epochs: 1, lr: 0.01, batchSize: 16, optimizer: adamw }');
    // many records, one at a time, so the signal arrives mid-encode
    const lines = readFileSync(FIXTURE, 'utf8').trim().split('\n');
    const data = join(dir, `big-${signal}.jsonl`);
    writeFileSync(data, Array.from({ length: 200 }, () => lines.join('\n')).join('\n') + '\n');
    const outDir = join(dir, `out-${signal}`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'encode', run, data, join(outDir, 'x.safetensors'), '--chunk', '1'], { stdio: 'ignore' });
    const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((res) => child.on('exit', (code, sig) => res({ code, sig })));
    const temps = (): string[] => (existsSync(outDir) ? readdirSync(outDir).filter((f) => f.startsWith('.encode-')) : []);
    for (let i = 0; i < 600 && temps().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(temps().length, 1, 'the encode started and made its temporary folder');
    await new Promise((r) => setTimeout(r, 300));
    child.kill(signal);
    const { code, sig } = await exited;
    assert.ok(sig === signal || code === 128 + (signal === 'SIGINT' ? 2 : 15), `stopped by the signal (code ${code}, signal ${sig})`);
    assert.deepEqual(readdirSync(outDir), [], 'no temporary folder and no partial output remain');
  });
}
