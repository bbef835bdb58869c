/**
 * The tabular suite (issue 24): five real tables, identical seeded stratified 70/10/20 splits,
 * attnkit's fusion model (each numeric embedding), MLP and linear model; scikit-learn's
 * logistic/ridge regression and gradient boosting on the same splits come from
 * scripts/sklearn_tabular.py, which reads the rows and splits this script dumps.
 *
 *   npx tsx scripts/tabular.ts dump /tmp/tabular [--seeds 0,1,2,3,4]   # rows + schema + splits per dataset (for Python)
 *   /usr/bin/python3 scripts/sklearn_tabular.py /tmp/tabular > docs/tabular/sklearn.json
 *   nice -n 10 env ATTNKIT_NUM_THREADS=1 npx tsx scripts/tabular.ts run [--datasets a,b] [--models m,n] [--seeds 0,1,2,3,4] [--file attnkit.json]
 *       (appends each cell to docs/tabular/<file>, replacing an earlier cell of the same dataset, model and seed)
 *   nice -n 10 env ATTNKIT_NUM_THREADS=1 npx tsx scripts/tabular.ts run --defaults --file defaults.json   # the library's TRAIN_DEFAULTS (weight decay 1e-2)
 *   npx tsx scripts/tabular.ts table [--files defaults.json,linear.json,sklearn.json]   # the markdown tables
 *   nice -n 10 env ATTNKIT_NUM_THREADS=1 npx tsx scripts/tabular.ts sweep [--datasets …] [--variants …]   # → docs/tabular/sweep.json
 *   npx tsx scripts/tabular.ts sweep-table                  # validation loss of each variant relative to the centre's
 *   npx tsx scripts/tabular.ts paired [--files …] [--models fusion-piecewise] [--refs mlp,sklearn-logistic,sklearn-gbdt]   # per-seed paired differences
 *
 * Breast cancer is read from Debian python3-sklearn's bundled CSV; the others ship with npm packages.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Generator } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { Preprocessor, type DataRecord } from '../src/data/preprocessor.js';
import { splitIndices } from '../src/data/dataset.js';
import type { Schema } from '../src/data/schema.js';
import { cpsWages, movies, penguins, seattleWeather, type LoadedDataset } from '../src/data/node/datasets.js';
import { FusionModel } from '../src/models/fusion.js';
import { LinearModel, MLPModel } from '../src/models/baselines.js';
import type { TaskHeads, TaskModel } from '../src/models/heads.js';
import { fit } from '../src/train/fit.js';
import { TRAIN_DEFAULTS } from '../src/train/trainOptions.js';
import { evaluate, meanLoss } from '../src/train/evaluate.js';
import { fitLbfgs } from '../src/train/lbfgs.js';
import { backendName, initBackend } from '../src/backend/native/index.js';

await initBackend();   // native (or wasm) unless ATTNKIT_BACKEND says otherwise

const SKLEARN_CSV = '/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv';

/** scikit-learn's breast cancer table (569 rows, 30 numeric columns → malignant / benign). */
function breastCancer(): LoadedDataset {
  const lines = readFileSync(SKLEARN_CSV, 'utf8').trim().split('\n').slice(1);
  const records: DataRecord[] = lines.map((l) => {
    const c = l.split(',').map(Number);
    return { ...Object.fromEntries(c.slice(0, 30).map((x, j) => [`x${j}`, x])), benign: c[30] };
  });
  const schema: Schema = {
    fields: Array.from({ length: 30 }, (_, j) => ({ name: `x${j}`, kind: 'numeric' as const })),
    targets: [{ name: 'benign', task: 'binary' }],
  };
  return { name: 'breastCancer', records, schema, description: 'breast cancer (569): 30 numeric measurements → benign' };
}

const DATASETS: Record<string, () => LoadedDataset> = { breastCancer, penguins, seattleWeather, cpsWages, movies };
const SEEDS = [0, 1, 2, 3, 4];
const OUT = 'docs/tabular';

/** The suite's split of one seed: stratified by class for classification. */
function splitOf(loaded: LoadedDataset, seed: number): { train: number[]; valid: number[]; test: number[] } {
  const target = loaded.schema.targets[0];
  const classes = [...new Set(loaded.records.map((r) => String(r[target.name])))].sort();
  const stratify = target.task === 'regression' ? undefined : loaded.records.map((r) => classes.indexOf(String(r[target.name])));
  return splitIndices(loaded.records.length, { seed, valid: 0.1, test: 0.2, stratify });
}

/** The schema with every numeric field's embedding set ('by-skew': per field, see bySkew). */
function withEmbedding(schema: Schema, embedding: ModelSpec['embedding'], rows: DataRecord[]): Schema {
  const target = schema.targets[0];
  const pick = (name: string): 'linear' | 'piecewise' | 'piecewise-linear' | 'periodic' =>
    embedding === 'by-skew' ? bySkew(rows, name) : embedding === 'by-shape' ? byShape(rows, name, target.name, target.task) : embedding;
  return { ...schema, fields: schema.fields.map((f) => (f.kind !== 'numeric' ? f : { ...f, embedding: pick(f.name) })) };
}

/**
 * A per-field choice from the shape of the target's dependence on the column, on the training rows alone:
 * 'piecewise' when a step function over 8 quantile bins predicts the target better out of fold than a
 * straight line does, else 'linear'. Both are least-squares fits of the target (one-hot for classes,
 * the value for regression) on the field's present values, scored by 5-fold squared error (folds by row
 * position). An experiment, not an option.
 */
function byShape(rows: DataRecord[], name: string, targetName: string, task: 'binary' | 'multiclass' | 'regression'): 'linear' | 'piecewise' {
  const pairs = rows.flatMap((r) => {
    const x = r[name], y = r[targetName];
    return typeof x === 'number' && Number.isFinite(x) && y !== null && y !== undefined && y !== '' ? [{ x, y }] : [];
  });
  if (pairs.length < 20) return 'piecewise';
  const classes = task === 'regression' ? [] : [...new Set(pairs.map((p) => String(p.y)))].sort();
  const ys = pairs.map((p) => (task === 'regression' ? [Number(p.y)] : classes.map((c) => (String(p.y) === c ? 1 : 0))));
  const q = ys[0].length, K = 5;
  let lineErr = 0, binErr = 0;
  for (let f = 0; f < K; f++) {
    const tr = pairs.map((_, i) => i).filter((i) => i % K !== f), te = pairs.map((_, i) => i).filter((i) => i % K === f);
    // the line: per output, y = a + b·x by least squares
    const mx = tr.reduce((a, i) => a + pairs[i].x, 0) / tr.length;
    const vx = tr.reduce((a, i) => a + (pairs[i].x - mx) ** 2, 0);
    // the step function: the mean target per quantile bin of the fold's training values
    const sorted = tr.map((i) => pairs[i].x).sort((a, b) => a - b);
    const edges = [...new Set(Array.from({ length: 7 }, (_, j) => sorted[Math.floor(((j + 1) * sorted.length) / 8)]))];
    const binOf = (x: number): number => { let b = 0; while (b < edges.length && x >= edges[b]) b++; return b; };
    for (let o = 0; o < q; o++) {
      const my = tr.reduce((a, i) => a + ys[i][o], 0) / tr.length;
      const b = vx > 0 ? tr.reduce((a, i) => a + (pairs[i].x - mx) * (ys[i][o] - my), 0) / vx : 0;
      const sums = new Array<number>(edges.length + 1).fill(0), counts = new Array<number>(edges.length + 1).fill(0);
      for (const i of tr) { const k = binOf(pairs[i].x); sums[k] += ys[i][o]; counts[k]++; }
      for (const i of te) {
        lineErr += (ys[i][o] - (my + b * (pairs[i].x - mx))) ** 2;
        const k = binOf(pairs[i].x);
        binErr += (ys[i][o] - (counts[k] > 0 ? sums[k] / counts[k] : my)) ** 2;
      }
    }
  }
  return binErr < lineErr ? 'piecewise' : 'linear';
}

/**
 * A per-field choice from the training rows alone: 'linear' for a column whose present values are
 * roughly symmetric (|sample skewness| < 1) and not mostly one value, else 'piecewise' (skewed or
 * zero-inflated columns, where bins express what a single line cannot). An experiment, not an option.
 */
function bySkew(rows: DataRecord[], name: string): 'linear' | 'piecewise' {
  const xs = rows.map((r) => r[name]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (xs.length < 3) return 'piecewise';
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const m2 = xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length, m3 = xs.reduce((a, x) => a + (x - m) ** 3, 0) / xs.length;
  const skew = m2 > 0 ? m3 / m2 ** 1.5 : 0;
  const counts = new Map<number, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  const mode = Math.max(...counts.values()) / xs.length;
  return Math.abs(skew) < 1 && mode < 0.3 ? 'linear' : 'piecewise';
}

interface ModelSpec {
  embedding: 'linear' | 'piecewise' | 'piecewise-linear' | 'periodic' | 'by-skew' | 'by-shape'; make(pre: Preprocessor, seed: number): TaskModel; train: Record<string, number | string | boolean>;
  /** Before training: `glm` starts the wide part at the L-BFGS logistic / ridge optimum (C by validation loss) and the deep heads at zero (CANN, Schelldorfer & Wüthrich 2019). */
  start?: 'glm';
}
/** The fusion model and training setting of the suite (the sweep's centre). */
const FUSION = { strategy: 'early', dim: 32, layers: 2, heads: 4, dropout: 0.1, ensemble: 1, ensembleMode: 'shared', wide: false } as const;
/** The first suite's training setting (attnkit.json, sweep.json); `--defaults` runs take the library's TRAIN_DEFAULTS. */
const TRAIN_V1 = { epochs: 60, lr: 3e-3, batchSize: 32, patience: 12, weightDecay: 1e-4, warmup: 0.05 };
const TRAIN = process.argv.includes('--defaults')
  ? { epochs: TRAIN_DEFAULTS.epochs, lr: TRAIN_DEFAULTS.lr, batchSize: TRAIN_DEFAULTS.batchSize, patience: TRAIN_DEFAULTS.patience, weightDecay: TRAIN_DEFAULTS.weightDecay, warmup: TRAIN_DEFAULTS.warmup }
  : TRAIN_V1;
const fusionOf = (embedding: ModelSpec['embedding'], model: Partial<Record<keyof typeof FUSION, number | boolean | string>> = {}, train: Partial<typeof TRAIN & { ema: number }> = {}): ModelSpec => ({
  embedding,
  make: (pre, seed) => new FusionModel(pre.fieldInfo(), pre.targetInfo(), { ...FUSION, ...model }, new Generator(seed)),
  train: { ...TRAIN, ...train, ...model },
});

/**
 * The sweep: one factor at a time around the suite's setting, fusion with the linear embedding,
 * seeds 0-2, judged on the validation split only (the test split stays unseen).
 */
const SWEEP: Record<string, ModelSpec> = {
  centre: fusionOf('linear'),
  'lr 1e-3': fusionOf('linear', {}, { lr: 1e-3 }),
  'lr 1e-2': fusionOf('linear', {}, { lr: 1e-2 }),
  'dropout 0': fusionOf('linear', { dropout: 0 }),
  'dropout 0.2': fusionOf('linear', { dropout: 0.2 }),
  'dim 64': fusionOf('linear', { dim: 64 }),
  'layers 1': fusionOf('linear', { layers: 1 }),
  'layers 3': fusionOf('linear', { layers: 3 }),
  'weightDecay 1e-2': fusionOf('linear', {}, { weightDecay: 1e-2 }),
  'warmup 0': fusionOf('linear', {}, { warmup: 0 }),
  'epochs 30': fusionOf('linear', {}, { epochs: 30, patience: 6 }),
};
/** The MLP baseline with the suite's training. */
const MLP: ModelSpec = { embedding: 'linear', make: (pre, seed) => new MLPModel(pre.fieldInfo(), pre.targetInfo(), { rng: new Generator(seed) }), train: { ...TRAIN } };
const MODELS: Record<string, ModelSpec> = {
  'fusion-linear': fusionOf('linear'),
  'fusion-piecewise': fusionOf('piecewise'),
  'fusion-periodic': fusionOf('periodic'),
  // ensembles (TabM-style, shared backbone) of k members, piecewise embedding
  'fusion-piecewise-e4': fusionOf('piecewise', { ensemble: 4 }),
  'fusion-piecewise-e8': fusionOf('piecewise', { ensemble: 8 }),
  // the sweep's best setting on breast cancer's validation loss (dim 64), tried on the table fusion trails
  'fusion-piecewise-dim64': fusionOf('piecewise', { dim: 64 }),
  // Wide & Deep: a linear model of the fields added to the outputs (issue 24's two failing tables)
  'fusion-piecewise-wide': fusionOf('piecewise', { wide: true }),
  'fusion-linear-wide': fusionOf('linear', { wide: true }),
  // the linear token plus the piecewise one (the value kept whole beside its bins)
  'fusion-piecewise-linear': fusionOf('piecewise-linear'),
  'fusion-piecewise-linear-wide': fusionOf('piecewise-linear', { wide: true }),
  // the wide part started at the fitted GLM, the deep heads at zero: the deep part learns the GLM's residual
  'fusion-piecewise-glm': { ...fusionOf('piecewise', { wide: true }), start: 'glm' },
  'fusion-linear-glm': { ...fusionOf('linear', { wide: true }), start: 'glm' },
  'fusion-piecewise-linear-glm': { ...fusionOf('piecewise-linear', { wide: true }), start: 'glm' },
  mlp: MLP,
  // the weights' moving average (train.ema 0.99: validation, the best epoch and the model are the average's)
  'fusion-piecewise-ema': fusionOf('piecewise', {}, { ema: 0.99 }),
  // per field: linear for a symmetric column, piecewise for a skewed or zero-inflated one (bySkew)
  'fusion-by-skew': fusionOf('by-skew'),
  // per field: piecewise where a step function predicts the target better out of fold than a line (byShape)
  'fusion-by-shape': fusionOf('by-shape'),
  // by the target's dependence, with the wide (linear) part, or as a 4-member ensemble (breast cancer against logistic regression)
  'fusion-by-shape-wide': fusionOf('by-shape', { wide: true }),
  'fusion-by-shape-e4': fusionOf('by-shape', { ensemble: 4 }),
  'fusion-linear-ema': fusionOf('linear', {}, { ema: 0.99 }),
  // deep ensembles: k whole models from their own initial values, trained side by side (ensembleMode 'independent')
  'fusion-piecewise-i5': fusionOf('piecewise', { ensemble: 5, ensembleMode: 'independent' }),
  'fusion-piecewise-i3': fusionOf('piecewise', { ensemble: 3, ensembleMode: 'independent' }),
  'mlp-ema': { ...MLP, train: { ...TRAIN, ema: 0.99 } },
  // full-batch L-BFGS to the optimum; l2 = 1 / (C·n) with C ∈ LINEAR_C chosen by validation loss
  linear: { embedding: 'linear', make: (pre, seed) => new LinearModel(pre.fieldInfo(), pre.targetInfo(), { rng: new Generator(seed) }), train: { optimizer: 'lbfgs', C: '0.1 | 1 | 10 by validation loss' } },
};
const LINEAR_C = [0.1, 1, 10];

/** The Trainer's keys of a recorded setting (the model's keys dropped). */
function trainKeys(t: Record<string, number | string | boolean>): Record<string, number | string | boolean> {
  return Object.fromEntries(Object.entries(t).filter(([k]) => !(k in FUSION)));
}

/** The suite's headline metric per task. */
const METRIC = { binary: 'auc', multiclass: 'accuracy', regression: 'rmse' } as const;

interface Cell {
  dataset: string; model: string; seed: number; metrics: Record<string, number>; bestEpoch: number; epochs: number; train: Record<string, number | string | boolean>;
  /** The validation split's mean loss and headline metric (cells run since the wide variants; older cells lack them). */
  validLoss?: number; valid?: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function dump(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, load] of Object.entries(DATASETS)) {
    const loaded = load();
    const seeds = arg('seeds')?.split(',').map(Number) ?? SEEDS;
    const splits = seeds.map((s) => splitOf(loaded, s));
    writeFileSync(join(dir, `${name}.json`), JSON.stringify({ name, schema: loaded.schema, records: loaded.records, seeds, splits }));
    console.error(`${name}: ${loaded.records.length} rows`);
  }
}

function run(): void {
  const file = join(OUT, arg('file') ?? 'attnkit.json');
  const cells: Cell[] = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as Cell[] : [];
  const datasets = arg('datasets')?.split(',') ?? Object.keys(DATASETS);
  const models = arg('models')?.split(',') ?? Object.keys(MODELS);
  const seeds = arg('seeds')?.split(',').map(Number) ?? SEEDS;
  console.error(`backend ${backendName()}`);
  for (const name of datasets) {
    const loaded = DATASETS[name]();
    const target = loaded.schema.targets[0];
    for (const seed of seeds) {
      const split = splitOf(loaded, seed);
      for (const model of models) {
        const spec = MODELS[model];
        const trainRows = split.train.map((i) => loaded.records[i]);
        const pre = Preprocessor.fit(withEmbedding(loaded.schema, spec.embedding, trainRows), trainRows);
        const ds = pre.encode(loaded.records).dataset;
        let m = spec.make(pre, seed);
        let r = { bestEpoch: 0, history: [] as unknown[] };
        let train = spec.train;
        if (spec.train.optimizer === 'lbfgs') {
          const fits = LINEAR_C.map((C) => {
            const lm = spec.make(pre, seed);
            const res = fitLbfgs(lm, ds, split.train, { l2: 1 / (C * split.train.length) });
            return { C, lm, res, valid: meanLoss(lm, ds, split.valid) };
          });
          const best = fits.reduce((a, b) => (b.valid < a.valid ? b : a));
          m = best.lm;
          r = { bestEpoch: best.res.iterations, history: best.res.losses };
          train = { optimizer: 'lbfgs', C: best.C, l2: 1 / (best.C * split.train.length), iterations: best.res.iterations, converged: String(best.res.converged) };
        } else {
          if (spec.start === 'glm') train = { ...train, start: `glm C=${startAtGlm(m as FusionModel, ds, split)}` };
          r = fit(m, ds, split, { ...trainKeys(spec.train), seed } as never);
        }
        const metrics = evaluate(m, ds, split.test)[target.name] as unknown as Record<string, number>;
        // the validation split's loss and headline metric, by which variants are chosen (the test split only reported)
        const valid = (evaluate(m, ds, split.valid)[target.name] as unknown as Record<string, number>)[METRIC[target.task]];
        const cell: Cell = { dataset: name, model, seed, metrics, bestEpoch: r.bestEpoch, epochs: r.history.length, train, validLoss: meanLoss(m, ds, split.valid), valid };
        const k = cells.findIndex((c) => c.dataset === name && c.model === model && c.seed === seed);
        if (k >= 0) cells[k] = cell; else cells.push(cell);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, `${JSON.stringify(cells, null, 1)}\n`);
        console.error(`${name} seed ${seed} ${model}: ${METRIC[target.task]} ${metrics[METRIC[target.task]].toFixed(4)} (valid ${valid.toFixed(4)}, loss ${cell.validLoss!.toFixed(4)}; best epoch ${r.bestEpoch} of ${r.history.length})`);
      }
    }
  }
}

/**
 * CANN's start: the fusion model's wide part fitted alone by L-BFGS (l2 = 1/(C·n), C ∈ LINEAR_C by
 * validation loss, as the linear baseline), the deep heads zeroed, so training begins at the GLM; returns C.
 */
function startAtGlm(m: FusionModel, ds: ReturnType<Preprocessor['encode']>['dataset'], split: { train: number[]; valid: number[] }): number {
  const wide = m.wide!;
  const snapshot = (): Record<string, Tensor> => Object.fromEntries(Object.entries(wide.stateDict()).map(([k, t]) => [k, new Tensor(t.data.slice(), [...t.shape])]));
  const init = snapshot();
  let best = { C: 0, valid: Infinity, state: init };
  for (const C of LINEAR_C) {
    wide.loadStateDict(init);
    fitLbfgs(wide, ds, split.train, { l2: 1 / (C * split.train.length) });
    const valid = meanLoss(wide, ds, split.valid);
    if (valid < best.valid) best = { C, valid, state: snapshot() };
  }
  wide.loadStateDict(best.state);
  for (const [, p] of (m.heads as TaskHeads).namedParameters()) p.data.fill(0);
  return best.C;
}

function sweep(): void {
  const file = join(OUT, 'sweep.json');
  const cells: (Cell & { validLoss: number; valid: number })[] = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as never : [];
  const variants = arg('variants')?.split(',') ?? Object.keys(SWEEP);
  console.error(`backend ${backendName()}`);
  for (const name of arg('datasets')?.split(',') ?? Object.keys(DATASETS)) {
    const loaded = DATASETS[name]();
    const target = loaded.schema.targets[0];
    for (const seed of [0, 1, 2]) {
      const split = splitOf(loaded, seed);
      const pre = Preprocessor.fit(loaded.schema, split.train.map((i) => loaded.records[i]));
      const ds = pre.encode(loaded.records).dataset;
      for (const variant of variants) {
        const spec = SWEEP[variant];
        const m = spec.make(pre, seed);
        const r = fit(m, ds, split, { ...trainKeys(spec.train), seed } as never);
        const metrics = evaluate(m, ds, split.valid)[target.name] as unknown as Record<string, number>;
        const cell = { dataset: name, model: variant, seed, metrics, bestEpoch: r.bestEpoch, epochs: r.history.length, train: spec.train, validLoss: r.bestValidLoss ?? NaN, valid: metrics[METRIC[target.task]] };
        const k = cells.findIndex((c) => c.dataset === name && c.model === variant && c.seed === seed);
        if (k >= 0) cells[k] = cell; else cells.push(cell);
        writeFileSync(file, `${JSON.stringify(cells, null, 1)}\n`);
        console.error(`sweep ${name} seed ${seed} ${variant}: valid ${METRIC[target.task]} ${cell.valid.toFixed(4)}, loss ${cell.validLoss.toFixed(4)}`);
      }
    }
  }
}

/** The sweep's summary: per dataset, each variant's rank by mean validation loss over seeds 0-2 (1 = lowest), and the mean rank. */
function sweepTable(): void {
  const cells = JSON.parse(readFileSync(join(OUT, 'sweep.json'), 'utf8')) as (Cell & { validLoss: number })[];
  const variants = Object.keys(SWEEP).filter((v) => cells.some((c) => c.model === v));
  // the datasets every variant has finished (3 seeds)
  const done = Object.keys(DATASETS).filter((d) => variants.every((v) => cells.filter((c) => c.dataset === d && c.model === v).length === 3));
  const loss = (d: string, v: string): number => mean(cells.filter((c) => c.dataset === d && c.model === v).map((c) => c.validLoss));
  const rank = (d: string, v: string): number => 1 + variants.filter((w) => loss(d, w) < loss(d, v)).length;
  console.log(`| variant | ${done.join(' | ')} | mean rank |`);
  console.log(`| --- | ${done.map(() => '---:').join(' | ')} | ---: |`);
  for (const v of variants) {
    const r = done.map((d) => rank(d, v));
    console.log(`| ${v} | ${r.join(' | ')} | ${mean(r).toFixed(1)} |`);
  }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]): number => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)));

/**
 * Choices made per run by validation loss, as an `embedding: auto` would make them at fit time: for
 * each dataset and seed, the cell of the candidate with the lowest validation loss (the same
 * split, seed and training as each candidate's own cell; no test metric is looked at).
 */
const SELECT: Record<string, string[]> = { 'fusion-auto': ['fusion-piecewise', 'fusion-piecewise-linear'] };

function selected(all: Cell[]): Cell[] {
  const out: Cell[] = [];
  for (const [name, candidates] of Object.entries(SELECT)) {
    for (const d of Object.keys(DATASETS)) {
      for (const seed of SEEDS) {
        const cs = candidates.map((m) => all.find((c) => c.dataset === d && c.model === m && c.seed === seed));
        if (cs.some((c) => c?.validLoss === undefined)) continue;
        const best = cs.reduce((a, b) => (b!.validLoss! < a!.validLoss! ? b : a))!;
        out.push({ ...best, model: name, train: { ...best.train, chosen: best.model } });
      }
    }
  }
  return out;
}

/**
 * The markdown tables of the cells in `--files` (default: the current suite, defaults.json from
 * `run --defaults`, with linear.json and sklearn.json; the first suite, at weight decay 1e-4, is
 * attnkit.json): mean ± sd per dataset and model, then the issue's target per fusion model.
 */
function table(): void {
  const files = arg('files')?.split(',') ?? ['defaults.json', 'linear.json', 'sklearn.json'];
  const all = files.flatMap((f) => JSON.parse(readFileSync(join(OUT, f), 'utf8')) as Cell[]);
  all.push(...selected(all));
  const only = arg('models')?.split(',');
  // the columns: --models in its order, or every model with cells
  const models = (only ?? [...Object.keys(MODELS), ...Object.keys(SELECT), 'sklearn-logistic', 'sklearn-gbdt']).filter((m) => all.some((c) => c.model === m));
  const fusions = models.filter((m) => m.startsWith('fusion-'));
  const out: string[] = [];
  const header: Record<string, string> = {
    'fusion-linear': 'fusion, linear', 'fusion-piecewise': 'fusion, piecewise', 'fusion-periodic': 'fusion, periodic',
    'fusion-piecewise-e4': 'fusion, piecewise, ensemble 4', 'fusion-piecewise-e8': 'fusion, piecewise, ensemble 8', 'fusion-piecewise-dim64': 'fusion, piecewise, dim 64',
    'fusion-piecewise-wide': 'fusion, piecewise, wide', 'fusion-linear-wide': 'fusion, linear, wide',
    'fusion-piecewise-linear': 'fusion, piecewise-linear', 'fusion-piecewise-linear-wide': 'fusion, piecewise-linear, wide',
    'fusion-piecewise-glm': 'fusion, piecewise, wide from GLM', 'fusion-auto': 'fusion, piecewise or piecewise-linear by validation loss', 'fusion-linear-glm': 'fusion, linear, wide from GLM',
    'fusion-piecewise-linear-glm': 'fusion, piecewise-linear, wide from GLM',
    'fusion-piecewise-ema': 'fusion, piecewise, ema 0.99', 'fusion-linear-ema': 'fusion, linear, ema 0.99', 'mlp-ema': 'MLP, ema 0.99', 'fusion-by-skew': 'fusion, linear or piecewise per field by skewness', 'fusion-by-shape': 'fusion, linear or piecewise per field by the target\'s dependence', 'fusion-by-shape-wide': 'fusion, by the target\'s dependence, wide', 'fusion-by-shape-e4': 'fusion, by the target\'s dependence, ensemble 4', 'fusion-piecewise-i5': 'fusion, piecewise, 5 independent members', 'fusion-piecewise-i3': 'fusion, piecewise, 3 independent members',
    mlp: 'MLP', linear: 'linear (L-BFGS)', 'sklearn-logistic': 'sklearn logistic / ridge', 'sklearn-gbdt': 'sklearn gradient boosting',
  };
  out.push(`| dataset (metric) | ${models.map((m) => header[m]).join(' | ')} |`, `| --- | ${models.map(() => '---:').join(' | ')} |`);
  for (const name of Object.keys(DATASETS)) {
    const task = DATASETS[name]().schema.targets[0].task;
    const metric = METRIC[task];
    const row = models.map((m) => {
      const xs = all.filter((c) => c.dataset === name && c.model === m).map((c) => c.metrics[metric]);
      return xs.length ? `${mean(xs).toFixed(3)} ± ${sd(xs).toFixed(3)}${xs.length < 5 ? ` (${xs.length} seeds)` : ''}` : '—';
    });
    out.push(`| ${name} (${metric}${metric === 'rmse' ? ', lower is better' : ''}) | ${row.join(' | ')} |`);
  }
  // the issue's target, per dataset and fusion model: ≥ MLP, ≥ logistic regression, within GBDT's seed spread or better,
  // each on the seeds the fusion model has; a fusion model trained with ema against the MLP trained with it, where there is one
  out.push('', '| dataset | fusion | vs MLP | vs logistic / ridge | vs gradient boosting |', '| --- | --- | ---: | ---: | ---: |');
  for (const name of Object.keys(DATASETS)) {
    const metric = METRIC[DATASETS[name]().schema.targets[0].task];
    const sign = metric === 'rmse' ? -1 : 1;   // positive = fusion better
    const cells = (m: string): Cell[] => all.filter((c) => c.dataset === name && c.model === m);
    for (const f of fusions) {
      const seeds = new Set(cells(f).map((c) => c.seed));
      if (!seeds.size) continue;
      const xs = (m: string): number[] => cells(m).filter((c) => seeds.has(c.seed)).map((c) => c.metrics[metric]);
      const d = (m: string): string => (xs(m).length ? `${(sign * (mean(xs(f)) - mean(xs(m)))).toFixed(4)}` : '—');
      const gb = xs('sklearn-gbdt');
      const gap = sign * (mean(xs(f)) - mean(gb));
      const mlp = f.endsWith('-ema') && xs('mlp-ema').length ? 'mlp-ema' : 'mlp';
      const label = `${f.replace('fusion-', '')}${seeds.size < 5 ? ` (seeds ${[...seeds].sort().join(', ')})` : ''}${mlp === 'mlp-ema' ? ' (vs the MLP with ema)' : ''}`;
      out.push(`| ${name} | ${label} | ${d(mlp)} | ${d('sklearn-logistic')} | ${gap.toFixed(4)} (${gap >= 0 ? 'better' : -gap <= sd(gb) ? 'within spread' : 'worse'}) |`);
    }
  }
  // the fusion variants' rank per dataset (1 = best mean test metric; and by mean validation loss where every
  // seed has one), over the datasets where every variant has all five seeds
  // (choices by validation loss left out: they are made from these cells)
  const ranked = fusions.filter((f) => !(f in SELECT));
  const full = Object.keys(DATASETS).filter((d) => ranked.every((f) => all.filter((c) => c.dataset === d && c.model === f).length === 5));
  const score = (d: string, f: string, by: 'test' | 'valid'): number => {
    const cs = all.filter((c) => c.dataset === d && c.model === f);
    const metric = METRIC[DATASETS[d]().schema.targets[0].task];
    return by === 'valid' ? mean(cs.map((c) => c.validLoss ?? NaN)) : (metric === 'rmse' ? 1 : -1) * mean(cs.map((c) => c.metrics[metric]));
  };
  if (!full.length) { console.log(out.join('\n')); return; }
  out.push('', `| fusion | ${full.map((d) => `${d} test (valid loss)`).join(' | ')} | mean rank test (valid loss) |`, `| --- | ${full.map(() => '---:').join(' | ')} | ---: |`);
  for (const f of ranked) {
    const ranks = (by: 'test' | 'valid'): number[] => full.map((d) => 1 + ranked.filter((g) => score(d, g, by) < score(d, f, by)).length);
    const t = ranks('test'), v = ranks('valid');
    const hasValid = full.map((d) => !Number.isNaN(score(d, f, 'valid')));
    out.push(`| ${f.replace('fusion-', '')} | ${t.map((r, i) => `${r} (${hasValid[i] ? v[i] : '—'})`).join(' | ')} | ${mean(t).toFixed(1)} (${hasValid.every(Boolean) ? mean(v).toFixed(1) : '—'}) |`);
  }
  console.log(out.join('\n'));
}

/**
 * Paired comparison on the seeds both models have: per dataset, the mean of (model − reference) per seed
 * (signed so that positive = the model better), its standard error, and the seeds won, lost and tied;
 * "significant" when the mean is at least two standard errors from zero.
 */
function paired(): void {
  const files = arg('files')?.split(',') ?? ['defaults.json', 'linear.json', 'sklearn.json'];
  const all = files.flatMap((f) => JSON.parse(readFileSync(join(OUT, f), 'utf8')) as Cell[]);
  const models = arg('models')?.split(',') ?? ['fusion-piecewise'];
  const refs = arg('refs')?.split(',') ?? ['mlp', 'sklearn-logistic', 'sklearn-gbdt'];
  const out = ['| dataset | model | reference | seeds | mean difference ± SE (positive = model better) | won / lost / tied | |', '| --- | --- | --- | ---: | ---: | ---: | --- |'];
  for (const name of Object.keys(DATASETS)) {
    const metric = METRIC[DATASETS[name]().schema.targets[0].task];
    const sign = metric === 'rmse' ? -1 : 1;
    const bySeed = (m: string): Map<number, number> => new Map(all.filter((c) => c.dataset === name && c.model === m).map((c) => [c.seed, c.metrics[metric]]));
    for (const m of models) {
      const a = bySeed(m);
      for (const r of refs) {
        const b = bySeed(r);
        const d = [...a.keys()].filter((k) => b.has(k)).map((k) => sign * (a.get(k)! - b.get(k)!));
        if (d.length < 2) continue;
        const se = sd(d) / Math.sqrt(d.length), mu = mean(d);
        const [won, lost] = [d.filter((x) => x > 1e-12).length, d.filter((x) => x < -1e-12).length];
        const verdict = Math.abs(mu) < 2 * se ? 'not significant' : mu > 0 ? '**model better**' : '**reference better**';
        out.push(`| ${name} (${metric}) | ${m} | ${r} | ${d.length} | ${mu >= 0 ? '+' : ''}${mu.toFixed(4)} ± ${se.toFixed(4)} | ${won} / ${lost} / ${d.length - won - lost} | ${verdict} |`);
      }
    }
  }
  console.log(out.join('\n'));
}

/** bySkew's (or byShape's) choice per numeric field of each dataset, on the training rows of seed 0 (or --seeds). */
function byRuleTable(rule: 'by-skew' | 'by-shape'): void {
  for (const [name, load] of Object.entries(DATASETS)) {
    const loaded = load();
    const numeric = loaded.schema.fields.filter((f) => f.kind === 'numeric').map((f) => f.name);
    for (const seed of arg('seeds')?.split(',').map(Number) ?? [0]) {
      const rows = splitOf(loaded, seed).train.map((i) => loaded.records[i]);
      const chosen = withEmbedding(loaded.schema, rule, rows).fields;
      const linear = chosen.filter((f) => f.kind === 'numeric' && f.embedding === 'linear').map((f) => f.name);
      console.log(`${name}${arg('seeds') ? ` seed ${seed}` : ''}: linear ${linear.length} of ${numeric.length} numeric fields (${linear.join(', ') || 'none'}); piecewise: ${numeric.filter((f) => !linear.includes(f)).join(', ') || 'none'}`);
    }
  }
}

const cmd = process.argv[2];
if (cmd === 'dump') dump(process.argv[3] ?? '/tmp/tabular');
else if (cmd === 'run') run();
else if (cmd === 'table') table();
else if (cmd === 'sweep') sweep();
else if (cmd === 'sweep-table') sweepTable();
else if (cmd === 'by-skew' || cmd === 'by-shape') byRuleTable(cmd);
else if (cmd === 'paired') paired();
else { console.error('usage: tsx scripts/tabular.ts dump <dir> | run [--datasets …] [--models …] [--seeds …] | table'); process.exit(2); }
