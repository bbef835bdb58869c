/**
 * Heterogeneous fusion on real data: the fusion model over every source, the same model on
 * each single source, an MLP and a linear model (logistic / linear regression), all fitted by
 * the same loop on the same seeded splits. Prints a Markdown table (mean ± sd over seeds) and
 * writes examples/results/fusion-study.json.
 *
 *   npm run example:fusion [-- --seeds 0,1,2 --only penguins,cpsWages,spamAssassin]
 *
 * Splits: 70 % train / 10 % validation (early stopping, best epoch restored) / 20 % test,
 * stratified by class for classification; preprocessing is fitted on the training rows only.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Generator, data, models, train } from '../src/node.js';

interface Setup {
  name: string;
  load: () => data.LoadedDataset;
  strategy: 'early' | 'latent';
  epochs: number;
  batchSize: number;
  /** Metrics shown, the first being the headline. */
  metrics: string[];
}

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const seeds = (arg('seeds') ?? '0,1,2').split(',').map(Number);
const only = arg('only')?.split(',');

const all: Setup[] = [
  { name: 'penguins', load: data.penguins, strategy: 'early', epochs: 40, batchSize: 16, metrics: ['accuracy', 'f1'] },
  { name: 'cpsWages', load: data.cpsWages, strategy: 'early', epochs: 40, batchSize: 16, metrics: ['r2', 'rmse'] },
  { name: 'spamAssassin', load: () => data.spamAssassin(), strategy: 'latent', epochs: 4, batchSize: 32, metrics: ['accuracy', 'f1', 'auc'] },
];
const setups = all.filter((s) => !only || only.includes(s.name));
const descriptions: Record<string, string> = {};

type Row = Record<string, number[]>;
const results: Record<string, Record<string, Row>> = {};

for (const s of setups) {
  const { records, schema, name, description } = s.load();
  descriptions[name] = description;
  const target = schema.targets[0];
  const sources = [...new Set(schema.fields.map((f) => f.source ?? f.name))];
  const out: Record<string, Row> = (results[name] = {});
  for (const seed of seeds) {
    const labels = target.task === 'regression' ? undefined : records.map((r) => String(r[target.name])).map((v, _i, all) => [...new Set(all)].sort().indexOf(v));
    const split = data.splitIndices(records.length, { seed, valid: 0.1, test: 0.2, stratify: labels });
    const pre = data.Preprocessor.fit(schema, split.train.map((i) => records[i]));
    const ds = pre.encode(records).dataset;
    const fields = pre.fieldInfo(), targets = pre.targetInfo();
    const fusion = (srcs?: string[]): models.TaskModel => new models.FusionModel(fields, targets, { strategy: s.strategy, dim: 32, layers: 2, heads: 4, dropout: 0.1, sources: srcs }, new Generator(seed));
    const candidates: [string, () => models.TaskModel, number][] = [
      [`fusion (${s.strategy}, all sources)`, () => fusion(), 3e-3],
      ...sources.map((src): [string, () => models.TaskModel, number] => [`fusion, ${src} only`, () => fusion([src]), 3e-3]),
      ['MLP (all sources)', () => new models.MLPModel(fields, targets, { rng: new Generator(seed) }), 3e-3],
      [target.task === 'regression' ? 'linear regression' : 'logistic regression', () => new models.LinearModel(fields, targets, { rng: new Generator(seed) }), 3e-2],
    ];
    for (const [label, make, lr] of candidates) {
      const t0 = Date.now();
      const model = make();
      train.fit(model, ds, split, { epochs: s.epochs, seed, lr, batchSize: s.batchSize, patience: Math.max(3, Math.round(s.epochs / 4)) });
      const m = train.evaluate(model, ds, split.test)[target.name];
      const row = (out[label] ??= {});
      for (const k of s.metrics) (row[k] ??= []).push(m[k]);
      (row.seconds ??= []).push((Date.now() - t0) / 1000);
      (row.parameters ??= [model.numParameters()]);
      console.error(`${name} seed ${seed} ${label}: ${s.metrics.map((k) => `${k} ${m[k].toFixed(3)}`).join(', ')} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  }
}

const fmt = (xs: number[]): string => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return xs.length > 1 ? `${mean.toFixed(3)} ± ${sd.toFixed(3)}` : mean.toFixed(3);
};
for (const s of setups) {
  const rows = results[s.name];
  console.log(`\n**${s.name}** — ${descriptions[s.name]}; test split, seeds ${seeds.join(', ')}\n`);
  console.log(`| model | ${s.metrics.join(' | ')} | parameters | seconds |`);
  console.log(`| --- | ${s.metrics.map(() => '---').join(' | ')} | --- | --- |`);
  for (const [label, row] of Object.entries(rows)) {
    console.log(`| ${label} | ${s.metrics.map((k) => fmt(row[k])).join(' | ')} | ${row.parameters[0].toLocaleString('en-US')} | ${(row.seconds.reduce((a, b) => a + b, 0) / row.seconds.length).toFixed(1)} |`);
  }
}
mkdirSync('examples/results', { recursive: true });
writeFileSync('examples/results/fusion-study.json', JSON.stringify({ seeds, results }, null, 1) + '\n');
