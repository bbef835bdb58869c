// Runs every test file under test/ with Node's own test runner (tsx compiles TypeScript on the
// fly), once per backend: js (the reference), native (the C++ addon) and wasm (the same C++ compiled
// to WebAssembly). ATTNKIT_BACKEND=js|native|wasm picks one; arguments filter test files by substring.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const filter = process.argv.slice(2);
const files = find('test').sort().filter((f) => filter.length === 0 || filter.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const backends = process.env.ATTNKIT_BACKEND ? [process.env.ATTNKIT_BACKEND] : ['js', 'native', 'wasm'];
let passed = 0, failed = 0, code = 0;
for (const backend of backends) {
  console.log(`\n── backend: ${backend} ──`);
  const status = await new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/setup.ts', '--test', '--test-reporter=spec', ...files], {
      stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ATTNKIT_BACKEND: backend },
    });
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      for (const m of chunk.toString().matchAll(/^ℹ (pass|fail) (\d+)$/gm)) {
        if (m[1] === 'pass') passed += Number(m[2]); else failed += Number(m[2]);
      }
    });
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (status !== 0) code = 1;
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(code);
