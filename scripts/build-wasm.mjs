// Builds the WebAssembly backend from the native C++ kernels (native/src, without the N-API files and
// the x86-only ones) with Debian's or any emscripten ≥ 3.1.6 into wasm/:
//   attnkit-st.mjs / .wasm                       single-threaded, SIMD128
//   attnkit-mt.mjs / .wasm / attnkit-mt.worker.js   pthreads (worker_threads in Node, Web Workers in pages)
//   attnkit-st-rx.*, attnkit-mt-rx.*             the same with relaxed SIMD's fused multiply-add (f32x4.relaxed_madd),
//                                                loaded where the engine has relaxed SIMD (Chromium ≥ 114, Node ≥ 22)
// The kernels' exports come from the kernel table (native/src/generated/wasm_exports.cc, written by
// scripts/gen-kernels.mjs). Run by `npm run build:wasm` and by `prepare`:
//   --if-possible  (prepare) without emscripten, say so and exit 0 (unless CI or ATTNKIT_REQUIRE_WASM is
//                  set: .ci/run sets it), so installing from git never needs the toolchain; the packed
//                  package ships wasm/ built, and installing it runs no prepare
// Debian's emscripten brings its system libraries prebuilt (a frozen cache); another install compiles them
// into its cache (EM_CACHE) on the first build.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { finalizeRelaxedSimd } from './wasm-relaxed.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(root, 'native/src');
const OUT = join(root, 'wasm');
const OBJ = join(root, 'build/wasm');
const env = {
  ...process.env,
  NODE_PATH: [process.env.NODE_PATH, '/usr/share/nodejs'].filter(Boolean).join(':'),  // Debian's emscripten finds acorn there
};

// every kernel source but the N-API binding (addon.cc) and the x86 files, which need AVX2/AVX-512
const SOURCES = ['cpu.cc', 'threadpool.cc', 'gemm.cc', 'gemm_simd128.cc', 'elementwise.cc', 'rows.cc', 'conv.cc', 'attention.cc',
  'attention_avx2.cc', 'vmath_avx2.cc', 'wasm_main.cc', 'generated/wasm_exports.cc'];
// ATTNKIT_WASM_MAXR=2: the fused attention's micro-kernel takes 2 rows × 16 lanes (8 v128 accumulators, 4 B
// vectors, a broadcast: 13 live values, what V8 keeps in xmm registers); 3 rows (17) spilled. bench:browser,
// B8 H8 L512 D64, 2 threads, same runs' jax-wasm ÷ attnkit-wasm (load
// average 16–28): fwd 2.33 → 3.49, fwd+bwd 1.18 → 1.49
const CFLAGS = ['-std=c++17', '-O3', '-msimd128', '-fno-math-errno', '-DATTNKIT_WASM_MAXR=2', `-I${SRC}`];
const LDFLAGS = [
  '-O3', '-msimd128', '-sMODULARIZE=1', '-sEXPORT_ES6=1', '-sEXPORT_NAME=attnkitWasm', '-sENVIRONMENT=web,worker,node',
  '-sALLOW_MEMORY_GROWTH=1', '-sMAXIMUM_MEMORY=4GB', '-sINITIAL_MEMORY=32MB', '-sFILESYSTEM=0', '-sEXIT_RUNTIME=0',
  // a library must not install process-wide uncaughtException / unhandledRejection handlers (emscripten's
  // rethrow them, so any error of the host program ended in exit code 7)
  '-sNODEJS_CATCH_EXIT=0', '-sNODEJS_CATCH_REJECTION=0',
  '-sEXPORTED_FUNCTIONS=_malloc,_free,_memset', '-sEXPORTED_RUNTIME_METHODS=[]', '-sINCOMING_MODULE_JS_API=[wasmBinary,attnkitPool,print,printErr]',
];
// workers are started when the module is made (Module.attnkitPool of them: the loader passes threads − 1)
const PTHREADS = { cflags: ['-pthread'], ldflags: ['-pthread', "-sPTHREAD_POOL_SIZE=Module['attnkitPool']", '-sPTHREAD_POOL_SIZE_STRICT=0'] };
// -mrelaxed-simd: wasm_madd.h's multiply-adds become f32x4.relaxed_madd (see scripts/wasm-relaxed.mjs). The attention
// micro-tile stays 2 rows: with fused multiply-adds 3 rows (12 accumulators) still spill in Node 20 (forward
// B8 H8 L512 D64, 2 threads: 73 ms against 44 ms with 2 rows)
const RELAXED = ['-mrelaxed-simd'];
const BUILDS = {
  st: { cflags: [], ldflags: [] },
  mt: PTHREADS,
  'st-rx': { cflags: RELAXED, ldflags: RELAXED, relaxed: true },
  'mt-rx': { cflags: [...PTHREADS.cflags, ...RELAXED], ldflags: [...PTHREADS.ldflags, ...RELAXED], relaxed: true },
};

function hasEmcc() {
  return spawnSync('em++', ['--version'], { env, stdio: 'ignore' }).status === 0;
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`))));
  });
}

/** Runs the jobs `width` at a time. */
async function pool(jobs, width) {
  const queue = [...jobs];
  await Promise.all(Array.from({ length: width }, async () => {
    while (queue.length) await queue.shift()();
  }));
}

const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);
const headers = ['aligned.h', 'attention.h', 'avx2_wasm.h', 'cpu.h', 'gemm.h', 'kernel_util.h', 'kernels.h', 'simd.h', 'threadpool.h',
  'vmath.h', 'vmath_avx2.h', 'wasm_madd.h', 'generated/kernels.gen.h'].map((h) => join(SRC, h));

/**
 * Emscripten 3.1.6's ES-module output calls require() and reads __dirname under Node, which an ES module
 * lacks: give it both (process.getBuiltinModule where Node has it, else module.createRequire, imported by a
 * name bundlers leave alone), and nothing in a browser.
 */
const NODE_PRELUDE = `// attnkit: require and __dirname for emscripten's Node branch (absent in an ES module; unused in browsers)
// the same test as emscripten's ENVIRONMENT_IS_NODE (a global window, as jsdom test environments define, does not change it)
const __akNode = typeof process == 'object' && process.versions != null && typeof process.versions.node == 'string';
const require = !__akNode ? undefined : typeof process.getBuiltinModule == 'function' ? (m) => process.getBuiltinModule(m)
  : (await import(['node', 'module'].join(':'))).createRequire(import.meta.url);
const __dirname = __akNode ? require('path').dirname(require('url').fileURLToPath(import.meta.url)) : '';
`;

/**
 * Checks that a relaxed build validates where relaxed SIMD is on: in this Node (≥ 22 has it), else in a Node
 * started with --experimental-wasm-relaxed-simd (Node 20 has it behind the flag; Node ≥ 22 refuses the flag,
 * so there a failed check here is the module's). A module that still held a prototype opcode, or one the
 * rewrite missed, fails here rather than in a user's page.
 */
function validateRelaxed(file, bytes) {
  if (WebAssembly.validate(bytes)) return;
  const probe = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '-e',
    'process.exit(WebAssembly.validate(require("fs").readFileSync(process.argv[1])) ? 0 : 3)', file], { encoding: 'utf8' });
  if (probe.status === 0) return;
  throw new Error(`build-wasm: ${file} does not validate with relaxed SIMD on${probe.status === 3 ? '' : ` (${probe.stderr.trim().split('\n')[0]})`}`);
}

async function build(name, { cflags, ldflags, relaxed = false }) {
  const objDir = join(OBJ, name);
  mkdirSync(join(objDir, 'generated'), { recursive: true });
  // this script holds the flags: a change to it recompiles everything
  const newestHeader = Math.max(...headers.map(mtime), mtime(fileURLToPath(import.meta.url)));
  const jobs = SOURCES.map((src) => {
    const o = join(objDir, src.replace(/\.cc$/, '.o'));
    const stale = mtime(o) < Math.max(mtime(join(SRC, src)), newestHeader);
    return stale ? () => run('em++', [...CFLAGS, ...cflags, '-c', join(SRC, src), '-o', o]) : null;
  }).filter(Boolean);
  await pool(jobs, 2);
  const js = join(OUT, `attnkit-${name}.mjs`);
  const objects = SOURCES.map((s) => join(objDir, s.replace(/\.cc$/, '.o')));
  // linking runs binaryen's optimiser (tens of seconds): skip it when the outputs are newer than every input
  // and the loader was finished (a run stopped between the link and the rewrite below leaves it without
  // the prelude, and newer than its objects)
  // the relaxed builds' opcode rewrite is an input too (a fix to it must rewrite them)
  const newestInput = Math.max(...objects.map(mtime), mtime(fileURLToPath(import.meta.url)), relaxed ? mtime(join(root, 'scripts/wasm-relaxed.mjs')) : 0);
  const finished = existsSync(js) && readFileSync(js, 'utf8').startsWith(NODE_PRELUDE);
  if (jobs.length === 0 && finished && Math.min(mtime(js), mtime(join(OUT, `attnkit-${name}.wasm`))) > newestInput) return;
  await run('em++', [...LDFLAGS, ...ldflags, ...objects, '-o', js]);
  if (relaxed) {
    const file = join(OUT, `attnkit-${name}.wasm`);
    const bytes = new Uint8Array(readFileSync(file));
    const n = finalizeRelaxedSimd(bytes);
    if (n === 0) throw new Error(`build-wasm: ${name} has no f32x4.relaxed_madd: the compiler did not take -mrelaxed-simd`);
    writeFileSync(`${file}.tmp`, bytes);
    renameSync(`${file}.tmp`, file);
    validateRelaxed(file, bytes);
    console.log(`build-wasm: ${name}: ${n} multiply-adds written as f32x4.relaxed_madd`);
  }
  let text = NODE_PRELUDE + readFileSync(js, 'utf8');
  if (name.startsWith('mt')) {
    // Node keeps a process alive while a worker is referenced: the loader unrefs the pool's workers once
    // they have loaded (Module.attnkitWorkers), so a script using the backend still exits when it is done
    const hook = 'worker.on("detachedExit",function(){})';
    if (!text.includes(hook)) throw new Error(`build-wasm: emscripten's pthread code changed (no '${hook}'): update the worker hook`);
    text = text.replace(hook, `${hook};(Module["attnkitWorkers"]=Module["attnkitWorkers"]||[]).push(worker)`);
    // a worker inherits the process's execArgv (--import hooks, --test): pthread workers start bare
    const ctor = 'global.Worker=nodeWorkerThreads.Worker';
    if (!text.includes(ctor)) throw new Error(`build-wasm: emscripten's Node shell changed (no '${ctor}'): update the worker options`);
    text = text.replace(ctor, 'global.Worker=class extends nodeWorkerThreads.Worker{constructor(u,o){super(u,Object.assign({execArgv:[]},o))}}');
  }
  writeFileSync(`${js}.tmp`, text);
  renameSync(`${js}.tmp`, js);
}

const ifPossible = process.argv.includes('--if-possible');
if (!hasEmcc()) {
  const msg = 'attnkit: emscripten (em++) was not found, so the WebAssembly backend (wasm/) was not built. '
    + 'Install it (Debian: apt-get install emscripten) and run `npm run build:wasm`.';
  if (ifPossible && !process.env.CI && !process.env.ATTNKIT_REQUIRE_WASM) {
    console.warn(msg);
    process.exit(0);
  }
  console.error(msg);
  process.exit(1);
}
const which = process.argv.slice(2).filter((a) => !a.startsWith('--'));
mkdirSync(OUT, { recursive: true });
// the pthread worker file is a classic script (CommonJS under Node): the package's "type": "module" must not reach it
writeFileSync(join(OUT, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
const t0 = Date.now();
for (const name of which.length ? which : Object.keys(BUILDS)) await build(name, BUILDS[name]);
console.log(`build-wasm: wrote ${OUT} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
