/**
 * Study 5, heterogeneous fusion: FT-Transformer-style fusion vs MLP vs logistic / linear
 * regression on penguins and CPS wages; multi-source fusion vs each single source on
 * SpamAssassin. Same seeded 70/10/20 splits (stratified for classes), preprocessing fitted on
 * training rows, early stopping on validation loss with the best epoch restored.
 */
import { Generator } from '../tensor/random.js';
import { Preprocessor } from '../data/preprocessor.js';
import { splitIndices } from '../data/dataset.js';
import { cpsWages, penguins, spamAssassin, type LoadedDataset } from '../data/node/datasets.js';
import { FusionModel } from '../models/fusion.js';
import { LinearModel, MLPModel } from '../models/baselines.js';
import type { TaskModel } from '../models/heads.js';
import { fit } from '../train/fit.js';
import { evaluate } from '../train/evaluate.js';
import { fmt, mean } from './common.js';
import type { Experiment, ExperimentOptions, ExperimentResult } from './types.js';

interface Setup { name: string; load: () => LoadedDataset; strategy: 'early' | 'latent'; epochs: number; quickEpochs: number; quickRows?: number; batchSize: number; metrics: string[] }

const SETUPS: Setup[] = [
  { name: 'penguins', load: penguins, strategy: 'early', epochs: 40, quickEpochs: 8, batchSize: 16, metrics: ['accuracy', 'macroF1'] },
  { name: 'cpsWages', load: cpsWages, strategy: 'early', epochs: 40, quickEpochs: 8, batchSize: 16, metrics: ['r2', 'rmse'] },
  { name: 'spamAssassin', load: () => spamAssassin(), strategy: 'latent', epochs: 4, quickEpochs: 1, quickRows: 600, batchSize: 32, metrics: ['accuracy', 'f1', 'auc'] },
];

type Row = Record<string, number[]>;

async function run(o: ExperimentOptions): Promise<ExperimentResult> {
  const seeds = o.seeds ?? (o.quick ? [0] : [0, 1, 2]);
  const results: Record<string, Record<string, Row>> = {};
  const parts: string[] = [];
  for (const s of SETUPS) {
    const loaded = s.load();
    const records = o.quick && s.quickRows ? loaded.records.filter((_, i) => i % Math.ceil(loaded.records.length / s.quickRows!) === 0) : loaded.records;
    const { schema } = loaded;
    const target = schema.targets[0];
    const sources = [...new Set(schema.fields.map((f) => f.source ?? f.name))];
    const epochs = o.quick ? s.quickEpochs : s.epochs;
    const out: Record<string, Row> = (results[s.name] = {});
    for (const seed of seeds) {
      const classes = [...new Set(records.map((r) => String(r[target.name])))].sort();
      const stratify = target.task === 'regression' ? undefined : records.map((r) => classes.indexOf(String(r[target.name])));
      const split = splitIndices(records.length, { seed, valid: 0.1, test: 0.2, stratify });
      const pre = Preprocessor.fit(schema, split.train.map((i) => records[i]));
      const ds = pre.encode(records).dataset;
      const fields = pre.fieldInfo(), targets = pre.targetInfo();
      const fusion = (srcs?: string[]): TaskModel => new FusionModel(fields, targets, { strategy: s.strategy, dim: 32, layers: 2, heads: 4, dropout: 0.1, sources: srcs }, new Generator(seed));
      const candidates: [string, () => TaskModel, number][] = [
        [`fusion (${s.strategy}, all sources)`, () => fusion(), 3e-3],
        ...sources.map((src): [string, () => TaskModel, number] => [`fusion, ${src} only`, () => fusion([src]), 3e-3]),
        ['MLP (all sources)', () => new MLPModel(fields, targets, { rng: new Generator(seed) }), 3e-3],
        [target.task === 'regression' ? 'linear regression' : 'logistic regression', () => new LinearModel(fields, targets, { rng: new Generator(seed) }), 3e-2],
      ];
      for (const [label, make, lr] of candidates) {
        const t0 = Date.now();
        const model = make();
        fit(model, ds, split, { epochs, seed, lr, batchSize: s.batchSize, patience: Math.max(3, Math.round(epochs / 4)) });
        const m = evaluate(model, ds, split.test)[target.name];
        const row = (out[label] ??= {});
        for (const k of s.metrics) (row[k] ??= []).push(m[k]);
        (row.seconds ??= []).push((Date.now() - t0) / 1000);
        row.parameters ??= [model.numParameters()];
        o.log(`${s.name} seed ${seed} ${label}: ${s.metrics.map((k) => `${k} ${m[k].toFixed(3)}`).join(', ')}`);
      }
    }
    parts.push(`**${s.name}**: ${loaded.description}. Test split, seeds ${seeds.join(', ')}, ${epochs} epochs at most.\n`);
    parts.push(`| model | ${s.metrics.join(' | ')} | parameters | seconds per fit |`);
    parts.push(`| --- | ${s.metrics.map(() => '---').join(' | ')} | --- | --- |`);
    for (const [label, row] of Object.entries(out)) {
      parts.push(`| ${label} | ${s.metrics.map((k) => fmt(row[k])).join(' | ')} | ${row.parameters[0].toLocaleString('en-US')} | ${mean(row.seconds).toFixed(1)} |`);
    }
    parts.push('');
  }
  const fusionBeatsSources = (name: string, metric: string): string => {
    const rows = results[name];
    const all = Object.entries(rows).find(([k]) => k.startsWith('fusion ('))![1][metric];
    const single = Object.entries(rows).filter(([k]) => k.includes(' only')).map(([k, r]) => [k, mean(r[metric])] as const);
    const best = single.reduce((a, b) => (b[1] > a[1] ? b : a));
    return `fusion ${mean(all).toFixed(3)} vs best single source (${best[0].replace('fusion, ', '')}) ${best[1].toFixed(3)}`;
  };
  parts.push('Published reference: FT-Transformer ≥ MLP (Gorishniy et al. 2021, Adult accuracy 0.859 vs 0.852, mean of 15 seeds); no published number exists for these three datasets.');
  parts.push(`Measured here: penguins ${fusionBeatsSources('penguins', 'accuracy')} (accuracy); CPS ${fusionBeatsSources('cpsWages', 'r2')} (R²); SpamAssassin ${fusionBeatsSources('spamAssassin', 'accuracy')} (accuracy). Compare the fusion and MLP rows above for the FT-T ≥ MLP trend: on these small tables it is within the seed spread, not a reproduced gap.`);
  return { markdown: parts.join('\n'), json: { seeds, results } };
}

export const fusionExperiment: Experiment = {
  name: 'fusion', study: 5, title: 'Heterogeneous fusion: FT-style fusion vs single sources vs MLP vs linear models', run,
};
