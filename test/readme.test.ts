/** The README's API tour is real code: extract it and run it against the sources. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

test('the README API tour runs', async () => {
  const readme = readFileSync('README.md', 'utf8');
  const tour = readme.split('## A tour of the API')[1];
  const block = /```ts\n([\s\S]*?)```/.exec(tour)?.[1];
  assert.ok(block, 'no ts block in the API tour');
  const src = pathToFileURL(resolve('src/index.ts')).href;
  const dir = mkdtempSync(join(resolve('.'), '.readme-'));
  try {
    const file = join(dir, 'tour.ts');
    writeFileSync(file, `${block.replace("from 'attnkit'", `from '${src}'`)}\nexport { weights, loss, logits, proj };\n`);
    const mod = await import(pathToFileURL(file).href);
    assert.deepEqual([...mod.weights.shape], [2, 4, 6]);
    assert.equal(mod.weights.data[4], 0, 'masked key must get zero weight');
    assert.ok(Number.isFinite(mod.loss.item()));
    assert.ok(mod.proj.weight.grad, 'backward filled the gradient');
    assert.deepEqual([...mod.logits.shape], [2, 4, 3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
