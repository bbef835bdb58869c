/**
 * The Node entry's backend selection where the native addon is missing or broken, as a package
 * installed without a C++ compiler sees it: a copy of src/ and wasm/ in a folder without build/
 * (the addon is looked for beside the package). Not built, or built but not loadable: wasm, with one
 * notice per process saying why; ATTNKIT_BACKEND=wasm: no notice; ATTNKIT_BACKEND=native: an error, not a fallback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageCopy } from '../helpers.js';

const skip = !existsSync('wasm/attnkit-mt.wasm') && 'the wasm build is missing (npm run build:wasm)';

test('no addon or a broken one: wasm and one notice saying why; ATTNKIT_BACKEND=wasm: no notice; ATTNKIT_BACKEND=native: a ValueError', { skip }, () => {
  const pkg = packageCopy('attnkit-noaddon-');
  const probe = join(pkg, 'probe.mjs');
  writeFileSync(probe, "const ak = await import('./src/node.ts'); ak.softmax(ak.tensor([[1, 2]]), -1); console.log(ak.backendName());\n");
  const run = (env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } => {
    const e: Record<string, string | undefined> = { ...process.env, ...env };
    if (!('ATTNKIT_BACKEND' in env)) delete e.ATTNKIT_BACKEND;
    const r = spawnSync(process.execPath, ['--import', 'tsx', probe], { cwd: pkg, encoding: 'utf8', env: e });
    return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
  };
  const fallback = run();
  assert.equal(fallback.code, 0, fallback.stderr);
  assert.equal(fallback.stdout, 'wasm');
  assert.equal(fallback.stderr.match(/attnkit: running on the wasm backend: the native addon was not built at install .*ATTNKIT_BACKEND=wasm chooses it without this notice/g)?.length, 1, fallback.stderr);
  const chosen = run({ ATTNKIT_BACKEND: 'wasm' });
  assert.equal(chosen.stdout, 'wasm');
  assert.doesNotMatch(chosen.stderr, /attnkit:/, 'wasm chosen: no notice');
  const forced = run({ ATTNKIT_BACKEND: 'native' });
  assert.notEqual(forced.code, 0);
  assert.match(forced.stderr, /ValueError: ATTNKIT_BACKEND=native: the native addon was not built at install .*unset ATTNKIT_BACKEND to run on the wasm backend/);
  // selectBackendFromEnv forces it too (it is what initBackend applies)
  writeFileSync(join(pkg, 'select.mjs'), "const b = await import('./src/backend/native/index.ts'); try { b.selectBackendFromEnv({ ATTNKIT_BACKEND: 'native' }); console.log('fell back'); } catch (e) { console.log(e.name); }\n");
  assert.equal(spawnSync(process.execPath, ['--import', 'tsx', join(pkg, 'select.mjs')], { cwd: pkg, encoding: 'utf8' }).stdout.trim(), 'ValueError');
  mkdirSync(join(pkg, 'build', 'Release'), { recursive: true });
  writeFileSync(join(pkg, 'build', 'Release', 'attnkit_native.node'), 'not a shared object');
  const broken = run();
  assert.equal(broken.code, 0, broken.stderr);
  assert.equal(broken.stdout, 'wasm');
  assert.equal(broken.stderr.match(/attnkit: running on the wasm backend: the native addon does not load: /g)?.length, 1, broken.stderr);
  assert.match(run({ ATTNKIT_BACKEND: 'native' }).stderr, /ATTNKIT_BACKEND=native: the native addon does not load/);
});
