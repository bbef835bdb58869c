/**
 * The attention report: one JSON document per run (and per inspected sample) that the web
 * viewer reads — nothing else crosses from the engine to the page. For an early-fusion model
 * it holds, per sample, the real tokens with labels (field and value / word), every layer's
 * per-head weights, the rollout and gradient × attention rows of [CLS], the prediction; over a
 * probe batch, the diagnostics per layer and head; and the run's training curves, entropy
 * history, gate values and test metrics.
 */
import { Tensor } from '../tensor/tensor.js';
import { backward } from '../autograd/tape.js';
import { mul, sum } from '../ops/index.js';
import { ValueError } from '../errors.js';
import type { Batch, EncodedDataset } from '../data/dataset.js';
import type { DataRecord, PreprocessorState } from '../data/preprocessor.js';
import { collectGates } from '../nn/composite/build.js';
import { attentionLayers } from '../nn/composite/blocks.js';
import type { GateValues } from '../nn/composite/gates.js';
import { FusionModel } from '../models/fusion.js';
import type { TaskModel } from '../models/heads.js';
import { fieldKindOf } from '../data/fields/index.js';
import { layerStats, type LayerStats } from './stats.js';
import { gradTimesAttention, rollout } from './rollout.js';

export interface ReportToken { field: string; label: string }

export interface SampleReport {
  row: number;
  tokens: ReportToken[];
  /** The true target (as text) and the model's prediction for the first target. */
  target: string;
  prediction: string;
  /** [layer][head][query][key] over the real tokens, rounded to 4 decimals. */
  layers: number[][][][];
  /** Rollout row of [CLS]: how much each token flows into the prediction. */
  rollout: number[];
  /** Gradient × attention for [CLS], averaged over layers. */
  gradAttention: number[];
  /** Rollout and gradient × attention summed per field (tokens of one field together; [CLS] left out). */
  fields: { field: string; rollout: number; gradAttention: number }[];
}

export interface EntropyPoint { epoch: number; entropy: number[][] }

export interface AttentionReport {
  version: 1;
  title: string;
  createdAt: string;
  model: { type: string; strategy?: string; layers: number; heads: number; parameters: number };
  /** Why there are no maps, when the model exposes none. */
  note?: string;
  samples: SampleReport[];
  diagnostics: LayerStats[] | null;
  entropyHistory: EntropyPoint[];
  /** Per epoch: the losses and, with validation rows, the validation metrics per target (as EpochRecord.valid). */
  history: { epoch: number; trainLoss: number; validLoss: number | null; valid?: Record<string, Record<string, number>> }[];
  gates: Record<string, GateValues>;
  metrics: Record<string, Record<string, number>> | null;
}

/** The labels of one batch item's tokens, in the fusion model's order: [CLS], then each field's tokens. */
export function tokenLabels(model: FusionModel, state: PreprocessorState, batch: Batch, b: number, record?: DataRecord): { tokens: ReportToken[]; mask: boolean[] } {
  const tokens: ReportToken[] = [{ field: '[CLS]', label: '[CLS]' }], mask = [true];
  for (const f of model.fields) {
    const fb = batch.fields[f.name];
    for (const t of fieldKindOf(fb.kind).labels(fb, b, f.name, state.fields[f.name] ?? null, record?.[f.name])) {
      tokens.push({ field: f.name, label: t.label });
      mask.push(t.real);
    }
  }
  return { tokens, mask };
}

const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;

function describe(model: TaskModel, batch: Batch, outputs: Record<string, Tensor>): { target: string; prediction: string; score: Tensor } {
  const t = model.targets[0];
  const y = outputs[t.name], truth = batch.targets[t.name];
  if (t.task === 'multiclass') {
    const row = Array.from(y.data);
    const k = row.indexOf(Math.max(...row));
    return { target: truth ? t.classes![truth.data[0]] : '', prediction: t.classes![k], score: sum(mulOneHot(y, k)) };
  }
  if (t.task === 'binary') {
    // class names (runs saved before binary targets kept names have '0' / '1')
    const names = t.classes ?? ['0', '1'];
    const p = 1 / (1 + Math.exp(-y.data[0]));
    return { target: truth ? names[truth.data[0]] : '', prediction: `${names[p >= 0.5 ? 1 : 0]} (p(${names[1]}) = ${p.toFixed(3)})`, score: sum(y) };
  }
  const den = (v: number): number => (t.mean !== undefined ? v * t.std! + t.mean : v);
  return { target: truth ? den(truth.data[0]).toPrecision(5) : '', prediction: den(y.data[0]).toPrecision(5), score: sum(y) };
}

function mulOneHot(y: Tensor, k: number): Tensor {
  const m = new Float32Array(y.size);
  m[k] = 1;
  return mul(y, new Tensor(m, y.shape));
}

/** One sample's maps: forward with weights, backward from the predicted score for gradient × attention. */
export function sampleReport(model: FusionModel, state: PreprocessorState, ds: EncodedDataset, row: number, record?: DataRecord): SampleReport {
  const batch = ds.batch([row]);
  const was = model.training;
  model.eval();
  try {
    const r = model.forward(batch, { needWeights: true });
    if (!r.weights) throw new ValueError('sampleReport: this model returns no attention weights (early fusion with Transformer layers does)');
    for (const w of r.weights) w.retainGrad();
    const d = describe(model, batch, r.outputs);
    backward(d.score);
    const { tokens, mask } = tokenLabels(model, state, batch, 0, record);
    const keep = mask.map((m, i) => (m ? i : -1)).filter((i) => i >= 0);
    const N = mask.length;
    const layers = r.weights.map((w) => {
      const H = w.shape[1]!;
      return Array.from({ length: H }, (_, h) => keep.map((i) => keep.map((j) => r4(w.data[(h * N + i) * N + j]))));
    });
    const roll = rollout(r.weights)[0][0];
    const ga = r.weights.map((w) => gradTimesAttention(w)[0][0]);
    const gradAttention = keep.map((j) => r4(ga.reduce((s, l) => s + l[j], 0) / ga.length));
    model.zeroGrad();
    const kept = keep.map((i) => tokens[i]);
    const rolloutRow = keep.map((j) => r4(roll[j]));
    const fields = model.fields.map((f) => {
      const idx = kept.map((t, i) => (t.field === f.name ? i : -1)).filter((i) => i >= 0);
      return { field: f.name, rollout: r4(idx.reduce((a, i) => a + rolloutRow[i], 0)), gradAttention: r4(idx.reduce((a, i) => a + gradAttention[i], 0)) };
    });
    return { row, tokens: kept, target: d.target, prediction: d.prediction, layers, rollout: rolloutRow, gradAttention, fields };
  } finally {
    model.train(was);
  }
}

/** Diagnostics per layer over a probe set of rows (real tokens only). */
export function diagnostics(model: FusionModel, ds: EncodedDataset, rows: number[]): LayerStats[] {
  const { weights, keyMask } = probeWeights(model, ds.batch(rows));
  return weights.map((w) => layerStats(w, keyMask, keyMask));
}

/** The early-fusion model's weights and its [CLS]+tokens mask on a batch (eval mode, no tape kept). */
export function probeWeights(model: FusionModel, batch: Batch): { weights: Tensor[]; keyMask: Tensor } {
  const was = model.training;
  model.eval();
  try {
    const r = model.forward(batch, { needWeights: true });
    if (!r.weights || !r.keyMask) throw new ValueError('probeWeights: this model returns no attention weights (early fusion with Transformer layers does)');
    return { weights: r.weights.map((w) => new Tensor(w.data, w.shape)), keyMask: r.keyMask };
  } finally {
    model.train(was);
  }
}

/**
 * Whether a model can produce token-to-token attention maps for the report and the viewer: early
 * fusion with Transformer layers, or with composite blocks that hold an attention layer.
 */
export function hasAttentionMaps(model: TaskModel): model is FusionModel {
  return attentionShape(model) !== null;
}

/**
 * The maps' layers and heads: `needWeights` gives `layers` maps [B, heads, N, N] (composite blocks:
 * one per attention layer; the most heads when they differ), or null for a model without maps.
 *
 * @example
 * analysis.attentionShape(model); // { layers: 2, heads: 4 }
 */
export function attentionShape(model: TaskModel): { layers: number; heads: number } | null {
  if (!(model instanceof FusionModel) || model.config.strategy !== 'early') return null;
  if (model.encoder) return { layers: model.config.layers, heads: model.config.heads };
  const found = model.blocks ? attentionLayers(model.blocks) : [];
  return found.length ? { layers: found.length, heads: Math.max(...found.map((a) => a.numHeads)) } : null;
}

/**
 * Builds the report of a trained model.
 *
 * @example
 * const report = analysis.buildReport({ title: 'spam', model, state: pre.state(), dataset, rows: test.slice(0, 6) });
 */
export function buildReport(args: {
  title: string; model: TaskModel; state: PreprocessorState; dataset: EncodedDataset; rows: number[]; probeRows?: number[];
  records?: DataRecord[]; history?: AttentionReport['history']; entropyHistory?: EntropyPoint[]; metrics?: AttentionReport['metrics'];
}): AttentionReport {
  const { model } = args;
  const fm = model instanceof FusionModel ? model : null;
  const base: AttentionReport = {
    version: 1, title: args.title, createdAt: new Date().toISOString(),
    model: { type: model.constructor.name, strategy: fm?.config.strategy, layers: attentionShape(model)?.layers ?? 0, heads: attentionShape(model)?.heads ?? 0, parameters: model.numParameters() },
    samples: [], diagnostics: null, entropyHistory: args.entropyHistory ?? [],
    history: (args.history ?? []).map((h) => ({ epoch: h.epoch, trainLoss: h.trainLoss, validLoss: h.validLoss, ...(h.valid ? { valid: h.valid } : {}) })),
    gates: collectGates(model), metrics: args.metrics ?? null,
  };
  if (!hasAttentionMaps(model)) {
    base.note = `${base.model.type}${fm ? ` (${fm.config.strategy})` : ''} exposes no token-to-token attention maps; the viewer shows its training curves, gates and metrics. Early fusion with Transformer layers (or composite blocks with attention) has maps.`;
    return base;
  }
  base.samples = args.rows.map((r) => sampleReport(model, args.state, args.dataset, r, args.records?.[r]));
  base.diagnostics = diagnostics(model, args.dataset, args.probeRows ?? args.rows);
  return base;
}

/** Mean normalised entropy per layer and head on probe rows, or null for models without maps (tracked each epoch). */
export function probeEntropy(model: TaskModel, ds: EncodedDataset, rows: number[]): number[][] | null {
  if (!hasAttentionMaps(model) || rows.length === 0) return null;
  const { weights, keyMask } = probeWeights(model, ds.batch(rows));
  return weights.map((w) => layerStats(w, keyMask, keyMask).heads.map((h) => h.normEntropy));
}
