/**
 * Study 9, rollout vs raw attention as explanations (Abnar & Zuidema 2020). A 6-layer
 * Transformer (early fusion over the words, [CLS] read-out) is trained on the `sentiment`
 * sentences. For each test sentence, each word's blank-out importance is the drop in the
 * predicted class's probability when that word is removed (masked out of attention). The
 * attributions compared with it by Spearman's rank correlation, per sentence then averaged:
 * the last layer's raw [CLS] attention (mean over heads), the first layer's, attention rollout,
 * and gradient × attention of the last layer.
 */
import { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import { neg, sigmoid } from '../ops/index.js';
import { backward, noGrad } from '../autograd/tape.js';
import type { Batch, EncodedDataset } from '../data/dataset.js';
import { FusionModel } from '../models/fusion.js';
import { rollout, gradTimesAttention } from '../analysis/rollout.js';
import { fit } from '../train/fit.js';
import { evaluate } from '../train/evaluate.js';
import { fmt, mean, push, sentimentWords, spearman, std, table } from './common.js';
import type { Experiment, ExperimentOptions, ExperimentResult } from './types.js';

/** The [CLS] row of a per-layer [1, H, N, N] map, averaged over heads, for tokens 1…L. */
function clsRow(w: Tensor, L: number): number[] {
  const [, H, N] = w.shape as [number, number, number, number];
  return Array.from({ length: L }, (_, j) => {
    let s = 0;
    for (let h = 0; h < H; h++) s += w.data[(h * N) * N + 1 + j];
    return s / H;
  });
}

/** The same row repeated L times with word i masked out in copy i. */
function ablations(batch: Batch, L: number): Batch {
  const f = batch.fields.text;
  if (f.kind !== 'text') throw new Error('explanations: the batch has no text field');
  const T = f.ids.shape[1]!;
  const ids = new Int32Array(L * T), mask = new Uint8Array(L * T);
  for (let i = 0; i < L; i++) { ids.set(f.ids.data as Int32Array, i * T); mask.set(f.mask.data as Uint8Array, i * T); mask[i * T + i] = 0; }
  return { size: L, rows: Array(L).fill(batch.rows[0]), targets: {}, fields: { text: { kind: 'text', ids: new Tensor(ids, [L, T]), mask: new Tensor(mask, [L, T]) } } };
}

/** Spearman correlations of each attribution with blank-out importance for one sentence. */
function explain(model: FusionModel, ds: EncodedDataset, row: number): Record<string, number> | null {
  const batch = ds.batch([row]);
  const f = batch.fields.text;
  if (f.kind !== 'text') return null;
  const L = Array.from(f.mask.data).filter((m) => m).length;
  if (L < 4) return null;
  const r = model.forward(batch, { needWeights: true });
  for (const w of r.weights!) w.retainGrad();
  const logit = r.outputs.label;
  const p = sigmoid(logit).item();
  const positive = p >= 0.5;
  backward(positive ? logit : neg(logit));             // ∂(predicted class's logit)/∂A
  const probs = noGrad(() => sigmoid(model.forward(ablations(batch, L)).outputs.label).data);
  const importance = Array.from({ length: L }, (_, i) => (positive ? p - probs[i] : probs[i] - p));
  const weights = r.weights!;
  const roll = rollout(weights)[0][0].slice(1, 1 + L);
  const gxa = gradTimesAttention(weights.at(-1)!)[0][0].slice(1, 1 + L);
  return {
    'raw attention, last layer': spearman(importance, clsRow(weights.at(-1)!, L)),
    'raw attention, first layer': spearman(importance, clsRow(weights[0], L)),
    'attention rollout': spearman(importance, roll),
    'gradient × attention, last layer': spearman(importance, gxa),
  };
}

async function run(o: ExperimentOptions): Promise<ExperimentResult> {
  const seeds = o.seeds ?? (o.quick ? [0] : [0, 1, 2]);
  const layers = o.quick ? 3 : 6, epochs = o.quick ? 1 : 10, sentences = o.quick ? 30 : 300;
  const corr: Record<string, number[]> = {}, acc: number[] = [];
  for (const seed of seeds) {
    const { pre, ds, split } = sentimentWords(o.quick, seed);
    const model = new FusionModel(pre.fieldInfo(), pre.targetInfo(), { strategy: 'early', dim: 32, heads: 4, layers, dimFeedforward: 64, dropout: 0.1 }, new Generator(seed));
    fit(model, ds, split, { epochs, seed, lr: 1e-3, batchSize: 32, schedule: { type: 'cosine', warmup: 0.05 } });
    model.eval();
    acc.push(evaluate(model, ds, split.test).label.accuracy);
    const per: Record<string, number[]> = {};
    for (const row of split.test) {
      if ((per['attention rollout']?.length ?? 0) >= sentences) break;
      const e = explain(model, ds, row);
      if (e) for (const [k, v] of Object.entries(e)) push(per, k, v);
    }
    for (const [k, v] of Object.entries(per)) push(corr, k, mean(v));
    o.log(`seed ${seed}: test accuracy ${acc.at(-1)!.toFixed(3)}; ${Object.entries(per).map(([k, v]) => `${k} ${mean(v).toFixed(3)}`).join(', ')}`);
  }
  const names = Object.keys(corr);
  const raw = mean(corr['raw attention, last layer']), roll = mean(corr['attention rollout']);
  const md = [
    `A ${layers}-layer pre-norm Transformer (width 32, 4 heads, [CLS] read-out) on the \`sentiment\` sentences (words only; split 70/10/20 stratified), ${epochs} epochs; test accuracy ${fmt(acc)}; seeds ${seeds.join(', ')}. ` +
    `For the first ${sentences} test sentences of four or more words: each word's blank-out importance is the drop in the predicted class's probability when the word is masked out; Spearman's ρ between it and each attribution, averaged over sentences:`,
    '',
    table(['attribution', 'Spearman ρ with blank-out importance'], names.map((k) => [k, fmt(corr[k])])),
    '',
    'Published (Abnar & Zuidema 2020, 6-layer model on subject–verb agreement, last layer): raw attention 0.29, attention rollout 0.71, attention flow 0.70.',
    `Measured: raw last-layer attention ${raw.toFixed(3)}, rollout ${roll.toFixed(3)}. ` + (roll - raw > std(corr['attention rollout']) + std(corr['raw attention, last layer'])
      ? 'Rollout agrees better with blank-out importance than raw attention, the published ordering'
      : roll > raw ? 'Rollout is ahead of raw attention, but by less than the seed spread: the published ordering is not clearly reproduced' : 'Rollout does not beat raw attention here, unlike the published ordering') +
      (Math.abs(roll - 0.71) > 0.15 ? '. Neither comes near the paper\'s 0.71: on short review sentences the model spreads attention almost evenly (see study 8\'s entropies), so the weights carry little of what removing a word changes. The paper\'s task (subject–verb agreement) hinges on one distant word, which attention must single out' : '') + '.',
  ];
  return { markdown: md.join('\n'), json: { seeds, layers, epochs, sentences, accuracy: acc, correlations: corr } };
}

export const explanationsExperiment: Experiment = {
  name: 'explanations', study: 9, title: 'Rollout vs raw attention as explanations: agreement with blank-out importance', run,
};
