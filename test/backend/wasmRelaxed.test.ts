/**
 * The relaxed-SIMD wasm builds (attnkit-st-rx, attnkit-mt-rx): the opcode rewrite that makes emscripten
 * 3.1.6's output loadable (scripts/wasm-relaxed.mjs), which build loads by options.relaxed and
 * ATTNKIT_WASM_RELAXED, and the fallback when a served folder lacks the -rx files. The kernels' results on
 * the relaxed build are checked by the whole suite's wasm-rx pass (scripts/test.mjs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
// @ts-expect-error: a build script (plain JavaScript, no declarations)
import { finalizeRelaxedSimd, relaxedMaddCount } from '../../scripts/wasm-relaxed.mjs';
import { leb } from '../../bench/simd128_loops.js';
import { packageCopy } from '../helpers.js';
import { ValueError } from '../../src/errors.js';
import { initBackend } from '../../src/backend/native/index.js';
import { hasRelaxedSimd, loadWasmBackend, wasmInfo } from '../../src/backend/wasm/index.js';

const finalize = finalizeRelaxedSimd as (bytes: Uint8Array) => number;
const madds = relaxedMaddCount as (bytes: Uint8Array) => number;
/** Node 20 has relaxed SIMD behind this flag; Node ≥ 22 has it on and refuses the flag ("bad option"). */
const RELAXED_FLAG = Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-wasm-relaxed-simd'] : [];
/** Runs ES-module `code` in a Node with relaxed SIMD on (tsx loaded), in `cwd`, with `env` over this process's. */
function nodeEval(code: string, env: Record<string, string>, cwd?: string): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [...RELAXED_FLAG, '--import', 'tsx', '--input-type=module', '-e', code], { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, out: r.stdout.trim(), err: r.stderr };
}
/** A module of one () → v128 function with the given body (no locals) and a memory. */
function moduleOf(body: number[]): Uint8Array {
  const code = [0x00, ...body, 0x0b];
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
    0x03, 0x02, 0x01, 0x00,
    0x05, 0x03, 0x01, 0x00, 0x01,
    0x0a, ...leb(code.length + leb(code.length).length + 1), 0x01, ...leb(code.length), ...code]);
}
const v128 = (bytes: number[]): number[] => [0xfd, 0x0c, ...bytes, ...new Array<number>(16 - bytes.length).fill(0)];
const PROTO = [0xfd, 0xaf, 0x01], FINAL = [0xfd, 0x85, 0x02];

test('the rewrite turns every prototype f32x4.relaxed_fma into relaxed_madd and leaves the same bytes in constants and memory offsets alone', () => {
  // decoys: i32.const 22525 is 41 fd af 01; a v128.const holding fd af 01; a load whose offset is 22525 (fd af 01)
  const decoys = [0x41, 0xfd, 0xaf, 0x01, 0x1a, ...v128(PROTO), 0x1a, 0x41, 0x00, 0x28, 0x02, 0xfd, 0xaf, 0x01, 0x1a];
  // madd(madd(0, 0, 0), 0, 0): two relaxed multiply-adds on v128.const zeros, the function's result
  const z = v128([]);
  const body = [...decoys, ...z, ...z, ...z, ...PROTO, ...z, ...z, ...PROTO];
  const fixed = [...decoys, ...z, ...z, ...z, ...FINAL, ...z, ...z, ...FINAL];
  const bytes = moduleOf(body);
  assert.equal(finalize(bytes), 2);
  assert.deepEqual(Array.from(bytes), Array.from(moduleOf(fixed)));
  assert.equal(finalize(bytes), 0, 'a rewritten module has nothing left to rewrite');
  if (hasRelaxedSimd()) assert.equal(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>), true, 'the rewritten module validates where relaxed SIMD is on');
});

test('the rewrite refuses what it cannot decode, naming the byte', () => {
  assert.throws(() => finalize(new Uint8Array([1, 2, 3, 4, 1, 0, 0, 0])), /wasm-relaxed: not a wasm module/);
  assert.throws(() => finalize(moduleOf([0xc5])), /wasm-relaxed: unknown opcode 0xc5 at byte \d+/);
  // sub-opcodes past the ones it knows, rather than a guess at their immediates
  assert.throws(() => finalize(moduleOf([0xfc, 18])), /wasm-relaxed: unknown opcode 0xfc 18/);
  assert.throws(() => finalize(moduleOf([0xfe, 0x4f])), /wasm-relaxed: unknown opcode 0xfe 79/);
  assert.throws(() => finalize(moduleOf([0xfd, ...leb(0x114)])), /wasm-relaxed: unknown opcode 0xfd 276/);
});

test('the rewrite decodes the instructions with immediates emscripten emits: block types by index, br_table, try/catch, bulk memory, atomics, lane loads', () => {
  // each hides fd af 01 in an immediate where a byte search would see an opcode; the real one comes last
  const body = [
    0x02, 0x40, 0x41, 0x00, 0x0e, 0x02, 0x00, 0x00, 0x00, 0x0b,                 // block; i32.const 0; br_table [0 0] 0; end
    0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0a, 0x00, 0x00,                 // memory.copy 0 0
    0x41, 0x00, 0x41, 0x00, 0xfe, 0x1e, 0x02, 0xfd, 0xaf, 0x01, 0x1a,           // i32.atomic.rmw.add align 2, offset 22525 (fd af 01); drop
    0x41, 0x00, ...v128([]), 0xfd, 0x54, 0x00, 0xfd, 0xaf, 0x01, 0x00, 0x1a,    // v128.load8_lane offset 22525 lane 0; drop
    0xfd, 0xaf, 0x01,                                                           // the one relaxed fma (no operands needed to decode)
  ];
  const bytes = moduleOf(body);
  assert.equal(finalize(bytes), 1);
  assert.equal(madds(bytes), 1);
  assert.deepEqual(Array.from(bytes.subarray(bytes.length - 4, bytes.length - 1)), [0xfd, 0x85, 0x02]);
  assert.equal(bytes.filter((b, i) => b === 0xfd && bytes[i + 1] === 0xaf && bytes[i + 2] === 0x01).length, 2, 'the two in immediates are left');
  // a block typed by a type index (s33 LEB) and try/catch (exception handling)
  const typed = moduleOf([0x02, 0x00, 0x0b, 0x06, 0x40, 0x07, 0x00, 0x0b, ...v128([]), ...v128([]), ...v128([]), ...PROTO]);
  assert.equal(finalize(typed), 1);
});

test('the built relaxed modules hold relaxed_madd and no prototype opcode; the plain ones neither', { skip: !existsSync('wasm/attnkit-mt-rx.wasm') && 'the wasm build is missing (npm run build:wasm)' }, () => {
  for (const name of ['st', 'mt', 'st-rx', 'mt-rx']) {
    const bytes = new Uint8Array(readFileSync(`wasm/attnkit-${name}.wasm`));
    const copy = bytes.slice();
    assert.equal(finalize(copy), 0, `${name}: no prototype opcode left`);
    const n = madds(bytes);
    if (name.endsWith('-rx')) assert.ok(n >= 100, `${name}: ${n} relaxed_madd instructions`);
    else assert.equal(n, 0, `${name}: a plain build holds no relaxed_madd`);
    if (name.endsWith('-rx') && hasRelaxedSimd()) assert.equal(WebAssembly.validate(bytes), true, name);
    if (!name.endsWith('-rx')) assert.equal(WebAssembly.validate(bytes), true, `${name} validates without relaxed SIMD`);
  }
});

test('options.relaxed and ATTNKIT_WASM_RELAXED take a boolean / 0 or 1, else a ValueError naming them', async () => {
  await assert.rejects(loadWasmBackend({ relaxed: 'yes' as never }), (e: unknown) => e instanceof ValueError && /loadWasmBackend: options\.relaxed must be true or false, got "yes"/.test(e.message));
  await assert.rejects(initBackend({ ATTNKIT_WASM_RELAXED: 'true' }), (e: unknown) => e instanceof ValueError && /ATTNKIT_WASM_RELAXED must be '1' .* or '0' .*, got "true"/.test(e.message));
});

test('on a wasm pass: the build loaded is the one ATTNKIT_WASM_RELAXED asks for', { skip: process.env.ATTNKIT_BACKEND !== 'wasm' && 'wasm passes only' }, () => {
  const info = wasmInfo()!;
  const want = process.env.ATTNKIT_WASM_RELAXED;
  if (want === '1') assert.equal(info.relaxed, true);
  else if (want === '0') assert.equal(info.relaxed, false);
  else assert.equal(info.relaxed, hasRelaxedSimd());
});

test('a served folder without the -rx files: a warning and the plain build; relaxed: true there is an error; relaxed: false never looks for them', { skip: !existsSync('wasm/attnkit-mt.wasm') && 'the wasm build is missing (npm run build:wasm)' }, () => {
  const pkg = packageCopy('attnkit-norx-', false);
  const old = join(pkg, 'old-wasm');
  cpSync('wasm', old, { recursive: true, filter: (src) => !/-rx\./.test(src) });
  assert.ok(!readdirSync(old).some((f) => f.includes('-rx')));
  // relaxed SIMD on, as in Node 22 and Chromium; ATTNKIT_BACKEND=js: the Node entry loads no wasm build
  // itself, so the probe's load is the first
  const probe = (relaxed: string): { code: number | null; out: string; err: string } => {
    const r = nodeEval(`const ak = await import('./src/node.ts');
try { await ak.loadWasmBackend({ url: ${JSON.stringify(`file://${old}/`)}, threads: 2${relaxed === 'auto' ? '' : `, relaxed: ${relaxed}`} }); console.log(JSON.stringify(ak.wasmInfo())); }
catch (e) { console.log(e.name + ': ' + e.message); }`, { ATTNKIT_BACKEND: 'js', ATTNKIT_WASM_RELAXED: '' }, pkg);
    return { code: r.status, out: r.out, err: r.err };
  };
  const auto = probe('auto');
  assert.equal(auto.code, 0, auto.err);
  assert.equal(JSON.parse(auto.out).relaxed, false, auto.out);
  assert.match(auto.err, /attnkit: the relaxed-SIMD build attnkit-mt-rx was not found beside attnkit-mt in file:.*old-wasm\/ .*loading the plain SIMD128 build/);
  const required = probe('true');
  assert.match(required.out, /^Error: .*attnkit-mt-rx/, required.out);
  const plain = probe('false');
  assert.equal(JSON.parse(plain.out).relaxed, false);
  assert.doesNotMatch(plain.err, /attnkit:/);
  // no wasm folder at all: the plain build's error, without the warning about the -rx files
  rmSync(old, { recursive: true });
  const none = probe('auto');
  assert.match(none.out, /^Error: .*attnkit-mt\.(mjs|wasm)/, none.out);
  assert.doesNotMatch(none.err, /relaxed-SIMD build/);
});

test('loadWasmBackend({ relaxed }) after the other build loaded is a ValueError, not a silent success; ATTNKIT_WASM_RELAXED=1 where it cannot load is an error, not js', { skip: !existsSync('wasm/attnkit-mt.wasm') && 'the wasm build is missing (npm run build:wasm)' }, () => {
  const node = pathToFileURL(resolve('src/node.ts')).href;
  // the Node entry loaded the relaxed build at import (the engine has relaxed SIMD, with the flag on Node 20)
  const conflict = nodeEval(`const ak = await import(${JSON.stringify(node)}); await ak.loadWasmBackend({ relaxed: true }); try { await ak.loadWasmBackend({ relaxed: false }); console.log('ignored'); } catch (e) { console.log(e.name + ': ' + e.message); }`, { ATTNKIT_BACKEND: 'wasm', ATTNKIT_WASM_RELAXED: '' });
  assert.equal(conflict.status, 0, conflict.err);
  assert.match(conflict.out, /^ValueError: loadWasmBackend: options\.relaxed is false, but the wasm backend is already loaded with its relaxed-SIMD build .*attnkit\/core or with ATTNKIT_WASM_RELAXED/);
  // a copy of the package whose wasm/ lacks the -rx files, without the addon: ATTNKIT_WASM_RELAXED=1 fails the import
  const pkg = packageCopy('attnkit-rx-required-', (src) => !/-rx\./.test(src));
  const r = nodeEval(`await import(${JSON.stringify(pathToFileURL(join(pkg, 'src/node.ts')).href)}); console.log('loaded');`, { ATTNKIT_BACKEND: '', ATTNKIT_WASM_RELAXED: '1' }, pkg);
  assert.notEqual(r.status, 0, r.out);
  assert.match(r.err, /attnkit-mt-rx/);
  assert.doesNotMatch(r.out, /loaded/);
});

test('attnkit/core loads nothing at import, so a page can choose the plain build; attnkit/browser loads the engine\'s at import', { skip: !existsSync('wasm/attnkit-mt.wasm') && 'the wasm build is missing (npm run build:wasm)' }, () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, { import: string }>; sideEffects: string[] };
  assert.equal(pkg.exports['./core']?.import, './dist/core.js');
  assert.ok(!pkg.sideEffects.includes('./dist/core.js'), 'core has no side effects');
  // the browser-side entries in Node, as a page would run them (ATTNKIT_BACKEND does not reach them)
  const run = (code: string): string => {
    const r = nodeEval(code, { ATTNKIT_BACKEND: '', ATTNKIT_WASM_RELAXED: '' });
    assert.equal(r.status, 0, r.err);
    return r.out;
  };
  const core = pathToFileURL(resolve('src/core.ts')).href, browser = pathToFileURL(resolve('src/browser.ts')).href;
  assert.equal(run(`const ak = await import(${JSON.stringify(core)}); console.log(ak.backendName(), ak.wasmInfo());`), 'js null');
  const chosen = JSON.parse(run(`const ak = await import(${JSON.stringify(core)}); await ak.loadWasmBackend({ relaxed: false, threads: 2 }); ak.useBackend('wasm'); console.log(JSON.stringify({ b: ak.backendName(), ...ak.wasmInfo() }));`)) as { b: string; relaxed: boolean };
  assert.deepEqual([chosen.b, chosen.relaxed], ['wasm', false]);
  const auto = JSON.parse(run(`const ak = await import(${JSON.stringify(browser)}); console.log(JSON.stringify({ b: ak.backendName(), ...ak.wasmInfo() }));`)) as { b: string; relaxed: boolean };
  assert.deepEqual([auto.b, auto.relaxed], ['wasm', true], 'with relaxed SIMD on (the flag), attnkit/browser loads the -rx build');
});
