/**
 * The page's files (DOM code, type-checked by tsconfig.viz.json) are left out of both Node
 * configurations: tsconfig.build.json replaces tsconfig.json's `exclude` rather than extending it,
 * so a page file excluded from one but not the other broke `npm ci`'s build (src/viz/column.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const excluded = (file: string): string[] => (JSON.parse(readFileSync(join(root, file), 'utf8')) as { exclude?: string[] }).exclude ?? [];

test('every page file tsconfig.json excludes is excluded by tsconfig.build.json too', () => {
  const build = new Set(excluded('tsconfig.build.json'));
  const missing = excluded('tsconfig.json').filter((f) => f.startsWith('src/') && !build.has(f));
  assert.deepEqual(missing, [], 'tsconfig.build.json must exclude these as tsconfig.json does');
});
