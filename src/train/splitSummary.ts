/**
 * The live viewer's summary of a run's test split (`attnkit inspect` computes it once in Node and
 * serves it as `runs/<k>/dataset.json`; the page runs its model only for the record it shows):
 * every row's prediction, as `attnkit predict` computes it, and for models with attention maps
 * attribution per field and source and entropy per layer × head. `describePrediction` is also how
 * the page describes the record it shows.
 */
import type { DataRecord, Preprocessor, TargetInfo } from '../data/preprocessor.js';
import type { TaskModel } from '../models/heads.js';
import { backward } from '../autograd/tape.js';
import { hasAttentionMaps } from '../analysis/report.js';
import { clsGradAttention, clsRollout, predictedScore } from '../analysis/clsRow.js';
import { predict } from './evaluate.js';

export interface Prediction {
  /** Exactly what `attnkit predict` prints for the record (its JSON record). */
  record: Record<string, unknown>;
  /** Class index (classification) or value (regression) of the first target, and the class name. */
  index: number; name: string;
  /** Probability of the predicted class, or null for regression. */
  confidence: number | null;
}

/** `runs/<k>/dataset.json`: the test split's summary, computed by the CLI. */
export interface DatasetSummary {
  /** Per test row (records.json order): predicted index (or value) and confidence. */
  predicted: number[];
  confidence: (number | null)[];
  /** Null for models without token-to-token attention maps (not early fusion with Transformer layers). */
  fields: { name: string; rollout: number; gradAttention: number }[] | null;
  sources: { name: string; rollout: number; gradAttention: number }[] | null;
  /** Mean normalised entropy [layer][head] over the test rows' real query rows, or null (no maps). */
  entropy: number[][] | null;
}

/** Item i of the first target's scores `p` as the page shows it (class index and name, confidence). */
export function describePrediction(t: TargetInfo, classNames: string[], record: Record<string, unknown>, p: ArrayLike<number>, i: number): Prediction {
  const name = (k: number): string => classNames[k] ?? String(k);
  if (t.task === 'binary') {
    const k = p[i] >= 0.5 ? 1 : 0;
    return { record, index: k, name: name(k), confidence: k ? p[i] : 1 - p[i] };
  }
  if (t.task === 'multiclass') {
    const probs = Array.from({ length: t.outputs }, (_, j) => p[i * t.outputs + j]);
    const k = probs.indexOf(Math.max(...probs));
    return { record, index: k, name: name(k), confidence: probs[k] };
  }
  return { record, index: p[i], name: p[i].toPrecision(5), confidence: null };
}

/**
 * The whole test split's summary for a loaded model: each record's prediction (as `attnkit
 * predict` computes it), and for early-fusion models attribution per field and source (rollout
 * and gradient × attention of [CLS], mean over records) and normalised entropy per layer × head.
 * Synchronous, `chunk` records a forward; `onProgress(done, total)` is called after each chunk.
 *
 * @example
 * const s = train.splitSummary(model, pre, records, ['ham', 'spam']);   // s.predicted.length === records.length
 */
export function splitSummary(model: TaskModel, pre: Preprocessor, records: DataRecord[], classNames: string[], chunk = 16, onProgress?: (done: number, total: number) => void): DatasetSummary {
  const target = pre.targetInfo()[0];
  const predicted: number[] = [], confidence: (number | null)[] = [];
  const maps = hasAttentionMaps(model);
  const sourceOf = new Map(pre.fieldInfo().map((f) => [f.name, f.source]));
  const fieldNames = maps ? model.fields.map((f) => f.name) : [], sourceNames = maps ? [...new Set(model.fields.map((f) => f.source))] : [];
  const fr = new Map(fieldNames.map((f) => [f, { r: 0, g: 0 }])), sr = new Map(sourceNames.map((s) => [s, { r: 0, g: 0 }]));
  const L = maps ? model.config.layers : 0, H = maps ? model.config.heads : 0;
  const ent = Array.from({ length: L }, () => new Array<number>(H).fill(0));
  let entRows = 0;
  model.eval();
  for (let s = 0; s < records.length; s += chunk) {
    const recs = records.slice(s, s + chunk);
    const { dataset } = pre.encode(recs, { targets: false });
    const rows = recs.map((_, i) => i);
    const scores = predict(model, dataset, rows);
    const preds = rows.map((i) => describePrediction(target, classNames, {}, scores[target.name], i));
    for (const p of preds) { predicted.push(p.index); confidence.push(p.confidence); }
    if (!maps) { onProgress?.(predicted.length, records.length); continue; }
    const r = model.forward(dataset.batch(rows), { needWeights: true });
    const ws = r.weights!;
    for (const w of ws) w.retainGrad();
    backward(predictedScore(target, r.outputs[target.name], preds.map((p) => p.index)));
    const fieldsAt = r.tokenFields!, km = r.keyMask!.data, N = fieldsAt.length;
    for (const b of rows) {
      const roll = clsRollout(ws, b), ga = ws.map((w) => clsGradAttention(w, b));
      let real = 0;
      for (let j = 0; j < N; j++) if (km[b * N + j]) real++;
      for (let j = 1; j < N; j++) {
        if (!km[b * N + j]) continue;
        const g = ga.reduce((acc, l) => acc + l[j], 0) / ga.length;
        const f = fr.get(fieldsAt[j])!, so = sr.get(sourceOf.get(fieldsAt[j])!)!;
        f.r += roll[j]; f.g += g; so.r += roll[j]; so.g += g;
      }
      // normalised entropy of every real query row (layerStats' rule), summed per layer × head
      ws.forEach((w, l) => {
        for (let h = 0; h < H; h++) for (let i = 0; i < N; i++) {
          if (!km[b * N + i] || real < 2) continue;
          const base = ((b * H + h) * N + i) * N;
          let e = 0;
          for (let j = 0; j < N; j++) { const a = w.data[base + j]; if (a > 0) e -= a * Math.log(a); }
          ent[l][h] += e / Math.log(real);
          if (l === 0 && h === 0) entRows++;
        }
      });
    }
    model.zeroGrad();
    onProgress?.(predicted.length, records.length);
  }
  const n = Math.max(1, records.length);
  return {
    predicted, confidence,
    fields: maps ? fieldNames.map((name) => ({ name, rollout: fr.get(name)!.r / n, gradAttention: fr.get(name)!.g / n })) : null,
    sources: maps ? sourceNames.map((name) => ({ name, rollout: sr.get(name)!.r / n, gradAttention: sr.get(name)!.g / n })) : null,
    entropy: maps ? ent.map((l) => l.map((v) => v / Math.max(1, entRows))) : null,
  };
}
