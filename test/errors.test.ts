/**
 * The one bounded preview of values in messages (src/errors.ts) and the messages routed through
 * it: whatever a hostile input holds (a million-deep nesting, a megabyte name, 65,536 names,
 * BigInt, cycles, throwing getters), a message stays short and printing it never throws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clipText, preview, previewList } from '../src/errors.js';
import { checkOptions } from '../src/config.js';
import { DataError, Tensor, ValueError, nn, Generator } from '../src/index.js';
import { data as nodeData } from '../src/node.js';

const deep = (n: number): unknown => { let x: unknown = 1; for (let i = 0; i < n; i++) x = [x]; return x; };

test('preview: values as messages show them, at most about max characters, never throwing', () => {
  assert.equal(preview('a'), '"a"');
  assert.equal(preview(1e42), '1e+42');
  assert.equal(preview(8n), '8n');
  assert.equal(preview(undefined), 'undefined');
  assert.equal(preview(Symbol('s')), 'Symbol(s)');
  assert.equal(preview({ a: [1, null], b: 'x' }), '{"a":[1,null],"b":"x"}');
  assert.equal(preview(new Float32Array(3)), 'Float32Array(3)');
  const cyclic: Record<string, unknown> = { a: 1 }; cyclic.self = cyclic;
  const throwing = { get boom(): never { throw new Error('getter'); } };
  const hostile = [deep(1_000_000), cyclic, throwing, 'x'.repeat(1_000_000), 10n ** 5000n, Symbol('s'.repeat(1e6)),
    Array.from({ length: 1e6 }, () => []), Object.fromEntries(Array.from({ length: 1e5 }, (_, i) => [`${'k'.repeat(100)}${i}`, i])),
    new Proxy({}, { ownKeys: () => { throw new Error('trap'); } })];
  for (const v of hostile) {
    const s = preview(v);
    assert.ok(s.length <= 81, `${s.length} characters: ${s.slice(0, 100)}`);
  }
  assert.equal(preview('x'.repeat(200)).at(-1), '"', 'a long string keeps its closing quote');
  assert.equal(clipText('abcdefghij', 6), 'abcdef…');
  assert.equal(clipText('abcdefghij', 6, 2), 'abcd…ij');
  assert.equal(previewList(['a', 'b', 'c'], 2), 'a, b … and 1 more');
});

test('messages built from hostile names stay under 1 KB: loadStateDict, checkOptions, a repeated CSV column', async () => {
  const lin = new nn.Linear(2, 2, { rng: new Generator(0) });
  const state: Record<string, Tensor> = { ...lin.stateDict() };
  for (let i = 0; i < 65_536; i++) state[`${'n'.repeat(1000)}${i}`] = new Tensor(new Float32Array(1), [1]);
  assert.throws(() => lin.loadStateDict(state), (e: unknown) => e instanceof ValueError && e.message.length < 1000 && /… and 65531 more/.test(e.message));
  assert.throws(() => checkOptions('f', { ['k'.repeat(1e6)]: 1 } as { a?: number }, { a: true }), (e: unknown) => e instanceof ValueError && e.message.length < 1000);
  const dir = mkdtempSync(join(tmpdir(), 'attnkit-errors-'));
  const name = 'c'.repeat(1e6);
  writeFileSync(join(dir, 'dup.csv'), `${name},${name}\n1,2\n`);
  await assert.rejects(nodeData.readRecords(join(dir, 'dup.csv')), (e: unknown) => e instanceof DataError && e.message.length < 1000 && /appears twice/.test(e.message));
});
