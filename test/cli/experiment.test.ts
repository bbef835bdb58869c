/** `attnkit experiment`: the quick configuration runs end to end and writes its section; unknown studies are usage errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { experimentCommand, upsertSection } from '../../src/cli/commands.js';
import { main } from '../../src/cli/main.js';

test('upsertSection replaces a study\'s block between its markers and appends new ones', () => {
  const doc = '# E\n\n<!-- experiment:a -->\nold\n<!-- /experiment:a -->\n\ntail\n';
  const a = upsertSection(doc, 'a', 'new');
  assert.equal(a, '# E\n\n<!-- experiment:a -->\nnew\n<!-- /experiment:a -->\n\ntail\n');
  assert.match(upsertSection(a, 'b', 'bee'), /tail\n\n<!-- experiment:b -->\nbee\n<!-- \/experiment:b -->\n$/);
});

test('attnkit experiment fusion --quick runs every model on the three datasets and writes the table', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'attnkit-exp-')), 'EXPERIMENTS.md');
  writeFileSync(out, '# Experiments\n');
  assert.equal(await experimentCommand('fusion', { quick: true, out, json: true }), 0);
  const doc = readFileSync(out, 'utf8');
  assert.match(doc, /<!-- experiment:fusion -->\n## Study 5: Heterogeneous fusion/);
  for (const d of ['penguins', 'cpsWages', 'spamAssassin']) assert.ok(doc.includes(`**${d}**`), d);
  assert.match(doc, /\| fusion \(early, all sources\) \| \d\.\d{3} \| \d\.\d{3} \|/);
  assert.match(doc, /\| logistic regression \|/);
  assert.match(doc, /\| fusion, headers only \|/);
  assert.match(doc, /Gorishniy et al\. 2021/);
});

test('attnkit experiment scoring --quick: unscaled dot-product entropy falls as d grows, scaled stays high', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'attnkit-exp-')), 'EXPERIMENTS.md');
  assert.equal(await experimentCommand('scoring', { quick: true, out, json: true }), 0);
  const doc = readFileSync(out, 'utf8');
  assert.match(doc, /## Study 2: Scoring functions/);
  const entropy = (score: string, d: number): number => Number(new RegExp(`\\| ${score} \\| ${d} \\| ([0-9.]+) \\|`).exec(doc)![1]);
  assert.ok(entropy('dot', 128) < entropy('dot', 8), 'unscaled dot: entropy at init falls with d');
  assert.ok(entropy('scaledDot', 128) > 0.5 && entropy('scaledDot', 128) > 5 * entropy('dot', 128), 'scaled dot stays spread');
  assert.ok(entropy('additive', 128) > 0.9, 'additive scores are bounded: near-uniform at init');
});

test('an unknown study is a usage error (exit 2)', async () => {
  assert.equal(await main(['experiment', 'nonesuch']), 2);
});
