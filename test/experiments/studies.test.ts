/**
 * The reproduction suite's studies: their data generators checked against independent
 * re-implementations, and every study's quick configuration run end to end, its table parsed
 * and checked for values that can be wrong (ranges, orderings that hold by construction).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXPERIMENTS } from '../../src/experiments/index.js';
import { associativeRecall } from '../../src/experiments/heads.js';
import { listOps } from '../../src/experiments/efficient.js';
import { motifSeries } from '../../src/experiments/cnn.js';
import { splitDocument } from '../../src/experiments/hierarchical.js';
import { nadarayaWatson } from '../../src/experiments/pooling.js';
import { spearman } from '../../src/experiments/common.js';
import { experimentCommand, orderSections } from '../../src/cli/commands.js';

const quiet = { quick: true, log: () => {} };
/** The numbers of a Markdown table row that starts with `label`. */
function rowNumbers(md: string, label: string): number[] {
  const line = md.split('\n').find((l) => l.startsWith(`| ${label} |`));
  assert.ok(line, `no table row '${label}' in:\n${md}`);
  return line.split('|').slice(2, -1).map((c) => Number(c.trim().split(' ')[0]));
}

test('associative recall: the answer is the value paired with the queried key', () => {
  for (const r of associativeRecall(200, { pairs: 4, keys: 8, values: 8, seed: 3 })) {
    const w = String(r.text).split(' ');
    assert.equal(w.at(-2), 'q');
    const keys = w.slice(0, -2).filter((_, i) => i % 2 === 0);
    assert.equal(new Set(keys).size, 4, 'keys are distinct');
    assert.equal(r.answer, w[w.indexOf(w.at(-1)!) + 1]);
  }
});

test('ListOps: sequences are well-formed, within the length range, and their answers match a stack evaluator', () => {
  const ex = listOps(300, { minLength: 10, maxLength: 60, seed: 5 });
  for (const { ids, answer } of ex) {
    assert.ok(ids.length >= 10 && ids.length <= 60);
    // independent evaluator: a stack of [op, args]
    const stack: { op: number; args: number[] }[] = [];
    let result = -1;
    for (const t of ids) {
      if (t >= 11 && t <= 14) stack.push({ op: t, args: [] });
      else if (t === 15) {
        const { op, args } = stack.pop()!;
        const s = [...args].sort((a, b) => a - b);
        const v = op === 11 ? s[0] : op === 12 ? s.at(-1)! : op === 13 ? Math.floor(s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : args.reduce((a, b) => a + b, 0) % 10;
        if (stack.length) stack.at(-1)!.args.push(v); else result = v;
      } else stack.at(-1)!.args.push(t - 1);
    }
    assert.equal(stack.length, 0);
    assert.equal(answer, result);
  }
  assert.ok(new Set(ex.map((e) => e.answer)).size >= 8, 'answers cover the digits');
});

test('motif series: positives hold + − + on consecutive steps, negatives never do', () => {
  for (const r of motifSeries(400, 9)) {
    const s = r.series as number[];
    const has = s.some((v, i) => i + 2 < s.length && v === 2.5 && s[i + 1] === -2.5 && s[i + 2] === 2.5);
    assert.equal(has, r.label === '1');
  }
});

test('documents split into sentences of words, capped; Spearman of known rankings', () => {
  assert.deepEqual(splitDocument('Hello there. How are you?\n\nFine!', 5, 2), [['hello', 'there'], ['how', 'are'], ['fine', '!']]);
  assert.equal(splitDocument('a. b. c. d.', 2, 5).length, 2);
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  assert.ok(Math.abs(spearman([1, 2, 2, 3], [1, 3, 2, 4]) - 4.5 / Math.sqrt(22.5)) < 1e-9, 'ties get average ranks');
});

test('Nadaraya–Watson: kernel regression beats the mean by far, and the learned width fits better than the fixed one', () => {
  for (const seed of [0, 1]) {
    const r = nadarayaWatson(seed);
    assert.ok(r.fixed < 0.6 * r.mean && r.learned < r.fixed, JSON.stringify(r));
    assert.ok(r.bandwidth > 0.2 && r.bandwidth < 1, `learned width ${r.bandwidth}`);
  }
});

test('every study runs its quick configuration and reports sane numbers', async () => {
  const heads = await EXPERIMENTS.heads.run(quiet);
  for (const h of [1, 2, 4, 8]) { const [, acc] = rowNumbers(heads.markdown, String(h)); assert.ok(acc >= 0 && acc <= 1); }

  const pooling = await EXPERIMENTS.pooling.run(quiet);
  const [meanMse] = rowNumbers(pooling.markdown, 'mean of the training targets');
  const [fixedMse] = rowNumbers(pooling.markdown, 'Nadaraya–Watson, fixed Gaussian kernel (width 1)');
  assert.ok(fixedMse < meanMse);
  for (const auc of rowNumbers(pooling.markdown, '50')) assert.ok(auc >= 0 && auc <= 1);

  const explanations = await EXPERIMENTS.explanations.run(quiet);
  for (const k of ['raw attention, last layer', 'attention rollout', 'gradient × attention, last layer']) {
    const [rho] = rowNumbers(explanations.markdown, k);
    assert.ok(rho >= -1 && rho <= 1, `${k} ${rho}`);
  }

  const remedies = await EXPERIMENTS.remedies.run(quiet);
  for (const k of ['none', 'σReparam']) {
    const [ent, low, acc] = rowNumbers(remedies.markdown, k);
    assert.ok(ent > 0 && ent <= 1 && low <= ent + 1e-9 && acc > 0.3 && acc <= 1, `${k}: ${ent} ${low} ${acc}`);
  }

  const efficient = await EXPERIMENTS.efficient.run(quiet);
  const costs = (efficient.json as { costs: Record<string, { ms: number; mib: number }[]> }).costs;
  assert.deepEqual(Object.keys(costs), ['full', 'local', 'Longformer', 'block + global', 'linear', 'Performer']);
  for (const c of Object.values(costs)) assert.ok(c[0].ms > 0 && c[0].mib >= 0);

  const cnn = await EXPERIMENTS.cnn.run(quiet);
  const [, , conv] = rowNumbers(cnn.markdown, 'local motif (64 steps)');
  assert.ok(conv > 0.8, `Conv1d finds the local motif (accuracy ${conv})`);

  const hier = await EXPERIMENTS.hierarchical.run(quiet);
  assert.match(hier.markdown, /\| SpamAssassin hard ham vs spam \(\d+ documents, S 24 × W 24\) \| \d\.\d{3}/);
});

test('attnkit experiment writes sections in study order, replacing a study in place', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'attnkit-exp-')), 'EXPERIMENTS.md');
  writeFileSync(out, '# Experiments\n\nintro\n\n<!-- experiment:explanations -->\nold nine\n<!-- /experiment:explanations -->\n');
  assert.equal(await experimentCommand('pooling', { quick: true, out, json: true }), 0);
  const doc = readFileSync(out, 'utf8');
  assert.ok(doc.indexOf('## Study 3') < doc.indexOf('old nine'), 'study 3 comes before study 9');
  assert.ok(doc.startsWith('# Experiments\n\nintro\n\n<!-- experiment:pooling -->'));
  assert.equal(orderSections('x\n\n<!-- experiment:b -->\nB\n<!-- /experiment:b -->\n\n<!-- experiment:a -->\nA\n<!-- /experiment:a -->\n', ['a', 'b']),
    'x\n\n<!-- experiment:a -->\nA\n<!-- /experiment:a -->\n\n<!-- experiment:b -->\nB\n<!-- /experiment:b -->\n');
});
