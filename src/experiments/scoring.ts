/**
 * Study 2, scoring functions: additive vs dot vs scaled dot-product attention on the
 * `sentiment` sentences, across head dims. Vaswani et al.: for large d, unscaled dot products
 * saturate the softmax (entropy collapses) and additive beats unscaled dot; scaling fixes it.
 * A learned query (N(0, 1)) attends over token + position embeddings (N(0, 1), PyTorch's
 * default), so query and keys are independent and qᵀk has variance ≈ 2d.
 * Measured: mean normalised attention entropy at initialisation and after training, and test
 * accuracy, beside the AFINN word-list baseline of the package's README.
 */
import { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import { add, expand, reshape, squeeze } from '../ops/index.js';
import { randn } from '../tensor/creation.js';
import { ValueError } from '../errors.js';
import { Module, Parameter } from '../nn/module.js';
import { Embedding } from '../nn/embedding.js';
import { Attention, type AttentionScore } from '../nn/attention/scoring.js';
import { Preprocessor, type TargetInfo } from '../data/preprocessor.js';
import { splitIndices, type Batch, type EncodedDataset } from '../data/dataset.js';
import { sentimentSentences } from '../data/node/datasets.js';
import { TaskHeads, type TaskModel, type TaskOutputs } from '../models/heads.js';
import { layerStats } from '../analysis/stats.js';
import { noGrad } from '../autograd/tape.js';
import { Trainer } from '../train/trainer.js';
import { evaluate } from '../train/evaluate.js';
import { mean } from './common.js';
import type { Experiment, ExperimentOptions, ExperimentResult } from './types.js';

/** Embeddings → attention pooling (a learned query, the chosen score) → head. */
class ScoringClassifier extends Module implements TaskModel {
  tok: Embedding;
  pos: Embedding;
  query: Parameter;
  attn: Attention;
  heads: TaskHeads;
  constructor(vocab: number, maxLen: number, readonly dim: number, score: AttentionScore, readonly targets: TargetInfo[], rng: Generator) {
    super();
    this.tok = new Embedding(vocab, dim, { rng, paddingIdx: 0 });
    this.pos = new Embedding(maxLen, dim, { rng });
    this.query = new Parameter(randn([1, 1, dim], { rng }));
    this.attn = new Attention({ score, queryDim: dim, hiddenDim: dim, rng });
    this.heads = new TaskHeads(targets, dim, rng);
  }
  /** Pooling weights [B, 1, T] and the pooled state [B, d]. */
  run(batch: Batch): { weights: Tensor; pooled: Tensor; mask: Tensor } {
    const f = batch.fields.text;
    if (f.kind !== 'text') throw new ValueError('ScoringClassifier: the batch has no text field');
    const [B, T] = f.ids.shape as [number, number];
    const x = add(this.tok.forward(f.ids), this.pos.forward(new Tensor(Int32Array.from({ length: T }, (_, i) => i), [T])));  // [B, T, d]
    const q = expand(this.query, [B, 1, this.dim]);                                                                       // [B, 1, d]
    const { output, weights } = this.attn.forward(q, x, x, { keyMask: f.mask, needWeights: true });                      // [B, 1, d], [B, 1, T]
    return { weights: weights!, pooled: squeeze(output, 1), mask: f.mask };
  }
  forward(batch: Batch): { outputs: TaskOutputs } {
    return { outputs: this.heads.forward(this.run(batch).pooled) };
  }
}

/** Mean normalised entropy of the attention rows of real tokens over `rows`. */
function entropyOf(model: ScoringClassifier, ds: EncodedDataset, rows: number[]): number {
  return noGrad(() => {
    const was = model.training;
    model.eval();
    const { weights, mask } = model.run(ds.batch(rows));
    model.train(was);
    const [B, , T] = weights.shape as [number, number, number];
    return layerStats(reshape(weights, [B, 1, 1, T]), mask).heads[0].normEntropy;
  });
}

async function run(o: ExperimentOptions): Promise<ExperimentResult> {
  const seeds = o.seeds ?? (o.quick ? [0] : [0, 1]);
  const dims = o.quick ? [8, 128] : [8, 64, 512];
  const scores: AttentionScore[] = ['additive', 'dot', 'scaledDot'];
  const d = sentimentSentences();
  const records = o.quick ? d.records.filter((_, i) => i % 3 === 0) : d.records;
  const results: Record<string, { init: number[]; trained: number[]; accuracy: number[] }> = {};
  for (const seed of seeds) {
    const split = splitIndices(records.length, { seed, valid: 0.1, test: 0.2, stratify: records.map((r) => Number(r.label === 'positive')) });
    const pre = Preprocessor.fit(d.schema, split.train.map((i) => records[i]));
    const ds = pre.encode(records).dataset;
    const text = pre.fieldInfo().find((f) => f.name === 'text')!;
    for (const dim of dims) for (const score of scores) {
      const model = new ScoringClassifier(text.vocabSize!, text.maxLength!, dim, score, pre.targetInfo(), new Generator(seed));
      const init = entropyOf(model, ds, split.test.slice(0, 200));
      new Trainer(model, ds, split, { epochs: o.quick ? 2 : 8, lr: 5e-3, batchSize: 32 }, { seed }).run();
      const acc = evaluate(model, ds, split.test).label.accuracy;
      const r = (results[`${score} d=${dim}`] ??= { init: [], trained: [], accuracy: [] });
      r.init.push(init); r.trained.push(entropyOf(model, ds, split.test.slice(0, 200))); r.accuracy.push(acc);
      o.log(`seed ${seed} ${score} d=${dim}: entropy at init ${init.toFixed(3)}, test accuracy ${acc.toFixed(3)}`);
    }
  }
  const lines = [
    `Sentences: ${records.length} (Amazon, IMDB, Yelp), split 70/10/20 stratified, seeds ${seeds.join(', ')}; attention pooling with a learned query over N(0, 1) token + position embeddings, ${o.quick ? 2 : 8} epochs.`,
    '',
    '| score | d | norm. entropy at init | after training | test accuracy |',
    '| --- | --- | --- | --- | --- |',
    ...Object.entries(results).map(([k, r]) => { const [score, dd] = k.split(' d='); return `| ${score} | ${dd} | ${mean(r.init).toFixed(3)} | ${mean(r.trained).toFixed(3)} | ${mean(r.accuracy).toFixed(3)} |`; }),
    '',
    'Published: Vaswani et al. 2017 — for large d, unscaled dot products grow with variance d, push the softmax into saturation, and additive attention beats unscaled dot product; scaling by 1/√d prevents it. The AFINN word list in the `sentiment` package\'s README scores 0.726 (Amazon), 0.765 (IMDB), 0.696 (Yelp).',
  ];
  const collapse = dims.map((dd) => `d=${dd}: dot ${mean(results[`dot d=${dd}`].init).toFixed(2)}, scaled ${mean(results[`scaledDot d=${dd}`].init).toFixed(2)}`).join('; ');
  lines.push(`Measured entropy at initialisation — ${collapse}. The trend reproduces when the unscaled column falls with d while the scaled one stays high.`);
  return { markdown: lines.join('\n'), json: { seeds, dims, results } };
}

export const scoringExperiment: Experiment = {
  name: 'scoring', study: 2, title: 'Scoring functions: additive vs dot vs scaled dot-product across head dims', run,
};
