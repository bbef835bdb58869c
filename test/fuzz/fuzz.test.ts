/**
 * Every fuzz target in test/fuzz/targets/ (a new file there is picked up automatically), seeded,
 * with its `ciCount` inputs (about 2 s each): only the library's typed errors may escape, no
 * input over 1 s or growing memory absurdly. `npm run fuzz` runs the same targets with ≥ 100,000.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runTarget, type FuzzTarget } from './harness.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'targets');
const files = readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();

test('the fuzz targets directory is not empty', () => {
  assert.ok(files.length > 0, 'no fuzz targets found');
});

for (const file of files) {
  test(`fuzz ${file}: only typed errors escape, every input is cheap`, async () => {
    const target = (await import(pathToFileURL(join(dir, file)).href)).default as FuzzTarget<unknown>;
    assert.ok(target && typeof target.generate === 'function' && typeof target.run === 'function', `${file} must default-export a FuzzTarget`);
    const report = runTarget(target, { count: target.ciCount ?? 2000, seed: 19 });
    // the generators must reach both sides: inputs that load and inputs that are refused
    assert.ok(report.accepted > 0, `${target.name}: no input was accepted (${JSON.stringify(report.errors)})`);
    assert.ok(Object.keys(report.errors).length > 0, `${target.name}: no input was refused`);
  });
}
