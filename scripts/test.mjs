// Runs every test file under test/ with Node's own test runner (tsx compiles TypeScript on the
// fly), once per backend: js (the reference), native (the C++ addon), wasm (the same C++ compiled
// to WebAssembly, its plain SIMD128 build) and wasm-rx (its relaxed-SIMD build, ATTNKIT_WASM_RELAXED=1,
// which turns Node 20's flag on), except the files of ONCE below, which run once, in the native pass,
// where a preload (scripts/kernel-audit.mjs) counts their kernel calls to check the reason ONCE gives.
// ATTNKIT_BACKEND=js|native|wasm|wasm-rx picks one pass (wasm as ATTNKIT_WASM_RELAXED says: unset, the
// build the engine supports); arguments filter test files by substring.
//
//   node scripts/test.mjs [filter…] [--jobs N]   N files at a time (default: the machine's cores,
//                                                 or ATTNKIT_TEST_JOBS); each file is its own process
//   node scripts/test.mjs --audit-once [filter…] ONCE's files alone, on the native backend
//
// Each file's spec output is printed when it ends, with its time; the slowest files and the time
// per backend come last.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Test files whose result cannot depend on the backend of the pass, so running them three times
 * checks nothing more. The first word says why, and their run in the native pass checks it:
 * 'none': no call into a kernel, in the test or any process it starts, and the file never names a
 * backend (backendName, useBackend, ATTNKIT_BACKEND…); 'own': it selects its backends itself, so
 * no call reaches the pass's kernels; 'setup': kernels run only to train the run whose other
 * behaviour the file tests (files, servers, exported code), while each backend's kernels are
 * checked against js by test/backend/native.test.ts and by every file not listed here.
 * A file that tests values computed by the pass's kernels does not belong here.
 */
const ONCE = {
  'test/arch/imports.test.ts': ['none', 'lints src/ with ESLint (layering and no-cycles rules)'],
  'test/arch/layers.test.ts': ['none', 'lints code snippets with ESLint'],
  'test/arch/browser.test.ts': ['none', 'bundles src/index.ts with esbuild and runs it in a bare VM context, on the bundle\'s own js kernels'],
  'test/arch/tsconfig.test.ts': ['none', 'compares the exclude lists of two tsconfig files'],
  'test/cli/encodeInterrupt.test.ts': ['setup', 'attnkit encode stopped by a signal leaves no temporary folder; a linear run is trained as input'],
  'test/errors.test.ts': ['none', 'bounded previews of hostile values in error messages'],
  'test/data/fieldKinds.test.ts': ['none', 'reads the source tree: one file and one table entry per field kind'],
  'test/data/readers.test.ts': ['none', 'CSV/JSONL file readers: text in, records or typed errors out'],
  'test/train/safetensors.test.ts': ['none', 'the safetensors byte format: encoding, decoding and its validation rules'],
  'test/backend/selection.test.ts': ['own', 'starts its own processes from a copy of the package without the addon; each selects its backend itself'],
  'test/browser/training.test.ts': ['own', 'picks its backends itself: wasm (or js) in chromium, js and wasm in Node, whatever the pass'],
  'test/viz/charts.test.ts': ['none', 'the viewer\'s line chart drawn in chromium from src/viz/svg.ts alone (no model)'],
  'test/viz/page.test.ts': ['none', 'the viewer\'s page HTML alone in chromium, on a bare static server (no model)'],
  'test/viz/search.test.ts': ['none', 'the viewer\'s row search over plain records (no model)'],
  'test/viz/viewer.test.ts': ['setup', 'the page runs the model in chromium on its own backend; Node trains the runs and serves them'],
  'test/cli/inspectHost.test.ts': ['setup', 'the viewer server\'s Host checks and Ctrl-C exit; one small run trained as input'],
  'test/cli/runDir.test.ts': ['setup', 'crash-safe file writes of a run directory; bitwise resume on each backend is test/train/trainer.test.ts and test/cli/cli.test.ts'],
  'test/cli/init.test.ts': ['setup', 'schema inference from CSV/JSONL files and the config text; the written config is trained for one epoch as a smoke test'],
  'test/cli/pytorch.test.ts': ['setup', 'the generated model.py run by PyTorch against attnkit\'s outputs; the runs are trained as input'],
  'test/cli/pytorchDdp.test.ts': ['setup', 'train.py under torchrun and the weights imported back; the run is trained as input'],
};

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const all = find('test').sort();
const stale = Object.keys(ONCE).filter((f) => !all.includes(f));
if (stale.length > 0) {
  console.error(`scripts/test.mjs: ONCE names files that do not exist: ${stale.join(', ')}`);
  process.exit(1);
}

const args = process.argv.slice(2);
let jobs = Number(process.env.ATTNKIT_TEST_JOBS) || availableParallelism();
const audit = args.includes('--audit-once');
const filter = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--jobs') jobs = Number(args[++i]);
  else if (args[i] !== '--audit-once') filter.push(args[i]);
}
if (!Number.isInteger(jobs) || jobs < 1) {
  console.error(`scripts/test.mjs: --jobs must be a positive integer, got ${jobs}`);
  process.exit(1);
}
const files = all.filter((f) => (!audit || f in ONCE) && (filter.length === 0 || filter.some((s) => f.includes(s))));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

// a pass: its name, the ATTNKIT_BACKEND it sets and any other environment
const PASSES = {
  js: { backend: 'js' },
  native: { backend: 'native' },
  wasm: { backend: 'wasm', env: { ATTNKIT_WASM_RELAXED: '0' } },
  'wasm-rx': { backend: 'wasm', env: { ATTNKIT_WASM_RELAXED: '1' } },
};
const backends = audit ? ['native'] : process.env.ATTNKIT_BACKEND ? [process.env.ATTNKIT_BACKEND] : Object.keys(PASSES);
// a once-only file runs in the native pass, where its kernel calls are counted, else in the first
const onceIn = backends.includes('native') ? 'native' : backends[0];
// backend-major, so a pass's output reads in order
const queue = backends.flatMap((backend) => files.filter((f) => backend === onceIn || !(f in ONCE)).map((file) => ({ backend, file })));

const SELECTS = /\b(backendName|useBackend|ATTNKIT_BACKEND|initBackend|selectBackendFromEnv|nativeInfo|wasmInfo|loadWasmBackend|setNumThreads|setNativeIsa)\b/;
const auditDir = mkdtempSync(join(tmpdir(), 'attnkit-audit-'));
const audited = ({ backend, file }) => backend === 'native' && file in ONCE;
/** The audit of a once-only file's native run: its kernel calls and whether ONCE's reason holds. */
function auditOf(file) {
  const calls = {};
  const path = join(auditDir, file.replaceAll('/', '_') + '.jsonl');
  if (existsSync(path)) {
    for (const line of readFileSync(path, 'utf8').trim().split('\n')) {
      for (const [k, n] of Object.entries(JSON.parse(line).calls)) calls[k] = (calls[k] ?? 0) + n;
    }
  }
  const total = Object.values(calls).reduce((s, n) => s + n, 0);
  const [why] = ONCE[file];
  const names = why === 'none' ? SELECTS.exec(readFileSync(file, 'utf8'))?.[0] : undefined;
  const wrong = names ? `it names a backend (${names}), so it is not 'none'` : why !== 'setup' && total > 0 ? 'it called the pass\'s kernels' : '';
  return { total, calls, wrong, line: `${wrong ? 'WRONG' : 'ok   '} ${file} (${why}): ${total} kernel calls${total ? ' ' + JSON.stringify(calls) : ''}${wrong ? ': ' + wrong : ''}` };
}
function run({ backend, file }) {
  // a pass named by ATTNKIT_BACKEND keeps the caller's environment (ATTNKIT_WASM_RELAXED included), but
  // ATTNKIT_BACKEND=wasm-rx, which names a pass, not a backend
  const pass = process.env.ATTNKIT_BACKEND && backend !== 'wasm-rx' ? { backend } : PASSES[backend];
  const env = { ...process.env, ...pass.env, ATTNKIT_BACKEND: pass.backend };
  if (audited({ backend, file })) {
    env.ATTNKIT_KERNEL_AUDIT = join(auditDir, file.replaceAll('/', '_') + '.jsonl');
    env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(resolve('scripts/kernel-audit.mjs')).href}`;
  }
  const t0 = performance.now();
  return new Promise((done) => {
    // the file is the process (no --test parent): node:test runs its tests and reports them
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/setup.ts', '--test-reporter=spec', file], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('close', (code, signal) => done({ backend, file, code: code ?? 1, signal, out, seconds: (performance.now() - t0) / 1000 }));
  });
}

const results = [];
let next = 0;
async function worker() {
  while (next < queue.length) {
    const r = await run(queue[next++]);
    const pass = [...r.out.matchAll(/^ℹ pass (\d+)$/gm)].reduce((s, m) => s + Number(m[1]), 0);
    const fail = [...r.out.matchAll(/^ℹ fail (\d+)$/gm)].reduce((s, m) => s + Number(m[1]), 0);
    const check = audited(r) ? auditOf(r.file) : undefined;
    results.push({ ...r, pass, fail, audit: check });
    const ok = r.code === 0 && fail === 0;
    process.stdout.write(`\n── ${r.backend} ${r.file} (${r.seconds.toFixed(1)} s${ok ? '' : `, FAILED: exit ${r.signal ?? r.code}`}) ──\n${r.out}${check ? `audit: ${check.line}\n` : ''}`);
  }
}
const t0 = performance.now();
await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, worker));
const wall = (performance.now() - t0) / 1000;
const audits = results.filter((r) => r.audit);
rmSync(auditDir, { recursive: true, force: true });

const failedFiles = results.filter((r) => r.code !== 0 || r.fail > 0);
const passed = results.reduce((s, r) => s + r.pass, 0), failed = results.reduce((s, r) => s + r.fail, 0);
const sum = (rs) => rs.reduce((s, r) => s + r.seconds, 0);
console.log('\n── slowest files ──');
for (const r of [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 12)) console.log(`${r.seconds.toFixed(1).padStart(7)} s  ${r.backend.padEnd(7)} ${r.file}`);
console.log(`\n── time per backend (sum of its files' times; ${jobs} at a time) ──`);
for (const b of backends) console.log(`${sum(results.filter((r) => r.backend === b)).toFixed(1).padStart(7)} s  ${b}`);
const once = backends.length > 1 ? files.filter((f) => f in ONCE).length : 0;
console.log(`${wall.toFixed(1).padStart(7)} s  wall: ${files.length} files, ${results.length} runs${once ? ` (${once} files only in the ${onceIn} pass)` : ''}`);

if (audits.length > 0) {
  console.log(`\n── once-only files: kernel calls in their ${onceIn} run (every process they started) ──`);
  for (const r of audits) console.log(`${r.audit.line}\n      ${ONCE[r.file][1]}`);
}
const wrong = audits.filter((r) => r.audit.wrong);
for (const r of failedFiles) console.log(`FAILED: ${r.backend} ${r.file}`);
for (const r of wrong) console.log(`WRONG: ${r.file} is in ONCE (scripts/test.mjs) as '${ONCE[r.file][0]}', but ${r.audit.wrong}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failedFiles.length > 0 || wrong.length > 0 ? 1 : 0);
