/**
 * The model in the page: a run's best weights, fitted preprocessing and config loaded into the
 * attnkit core (`attnkit/browser`: the wasm backend, or js where wasm cannot load), and every
 * view's numbers computed from one forward (with weights) and one backward per record. viz/
 * reaches the engine only through that public entry, as any user's page would.
 */
import * as ak from 'attnkit/browser';
import type { ViewerRecords } from './report.js';
import { kindUi } from './kinds.js';

type Tensor = ak.Tensor;
type FusionModel = ak.models.FusionModel;
type TargetInfo = ak.data.TargetInfo;
type DataRecord = ak.data.DataRecord;
type PreprocessorState = ak.data.PreprocessorState;

export interface RunConfig { name?: string; seed?: number; model: unknown }

/** A token as the views show it: short label, full label (hover), its field and source. */
export interface ViewToken { field: string; source: string; label: string; full: string; unknown: boolean }

export interface Prediction {
  /** Exactly what `attnkit predict` prints for the record (its JSON record). */
  record: Record<string, unknown>;
  /** Class index (classification) or value (regression) of the first target, and the class name. */
  index: number; name: string;
  /** Probability of the predicted class, or null for regression. */
  confidence: number | null;
}

export interface Analysis {
  tokens: ViewToken[];
  /** [layer][head] → n × n row-major weights over the real tokens (float32 as the model computed them). */
  weights: Float32Array[][];
  /** The [CLS] row of the rollout: how much each token flows into the prediction. */
  rollout: Float64Array;
  /** Gradient × attention of the [CLS] row per layer, mean over heads. */
  gradAttention: Float64Array[];
  /** Per field and per source: rollout and gradient × attention of [CLS], summed over their tokens. */
  fields: { name: string; rollout: number; gradAttention: number }[];
  sources: { name: string; rollout: number; gradAttention: number }[];
  prediction: Prediction;
  /** Each layer's input [1, N, C] over all positions (padding included) and the real positions: the neuron view's start. */
  layerInputs: Tensor[];
  keep: number[];
  ms: number;
}

export interface RunStats {
  /** Per test row: predicted index and confidence. */
  predicted: number[];
  confidence: (number | null)[];
  fields: { name: string; rollout: number; gradAttention: number }[];
  sources: { name: string; rollout: number; gradAttention: number }[];
  /** Mean normalised entropy [layer][head] over the test rows' real tokens. */
  entropy: number[][];
}

/**
 * The [CLS] row of attention rollout for batch item b (analysis.rollout's rule — heads averaged,
 * 0.5·A + 0.5·I, rows renormalised, multiplied through the layers), as a vector–matrix product
 * per layer instead of the whole N × N product: O(L·H·N²), not O(L·N³).
 */
export function clsRollout(ws: Tensor[], b: number): Float64Array {
  const [, H, N] = ws[0].shape as [number, number, number, number];
  let v = new Float64Array(N);
  v[0] = 1;
  for (let l = ws.length - 1; l >= 0; l--) {
    const w = ws[l].data, next = new Float64Array(N);
    for (let i = 0; i < N; i++) {
      if (v[i] === 0) continue;
      const row = new Float64Array(N);
      for (let h = 0; h < H; h++) {
        const base = ((b * H + h) * N + i) * N;
        for (let j = 0; j < N; j++) row[j] += w[base + j] / H;
      }
      let s = 0;
      for (let j = 0; j < N; j++) { row[j] *= 0.5; if (j === i) row[j] += 0.5; s += row[j]; }
      if (s > 0) for (let j = 0; j < N; j++) next[j] += (v[i] * row[j]) / s;
    }
    v = next;
  }
  return v;
}

/** relu(A ⊙ ∂y/∂A) of the [CLS] row, mean over heads, for batch item b (analysis.gradTimesAttention's rule, one row). */
function clsGradAttention(w: Tensor, b: number): Float64Array {
  const [, H, N] = w.shape as [number, number, number, number];
  const a = w.data, g = w.grad!.data, out = new Float64Array(N);
  for (let h = 0; h < H; h++) {
    const base = ((b * H + h) * N) * N;
    for (let j = 0; j < N; j++) out[j] += Math.max(0, a[base + j] * g[base + j]) / H;
  }
  return out;
}

/** A run loaded into the page. */
export class PageRun {
  readonly pre: ak.data.Preprocessor;
  readonly model: FusionModel;
  readonly target: TargetInfo;
  readonly classNames: string[];
  readonly layers: number;
  readonly heads: number;
  private readonly sourceOf: Map<string, string>;

  constructor(readonly id: string, readonly config: RunConfig, readonly state: PreprocessorState, weights: Uint8Array, readonly data: ViewerRecords) {
    this.pre = ak.data.Preprocessor.fromState(state);
    const model = ak.models.buildModel(config.model as ak.models.ModelConfig, this.pre.fieldInfo(), this.pre.targetInfo(), new ak.Generator(config.seed ?? 0));
    if (!ak.analysis.hasAttentionMaps(model)) throw new Error(`run ${data.title}: the viewer needs an early-fusion model with Transformer layers (it has ${model.constructor.name})`);
    model.loadStateDict(ak.train.decodeSafetensors(weights, 'model.safetensors').tensors);
    model.eval();
    this.model = model;
    this.target = this.pre.targetInfo()[0];
    this.classNames = data.classNames[this.target.name] ?? [];
    this.layers = model.config.layers;
    this.heads = model.config.heads;
    this.sourceOf = new Map(this.pre.fieldInfo().map((f) => [f.name, f.source]));
  }

  get title(): string { return this.data.title; }

  className(i: number): string { return this.classNames[i] ?? String(i); }

  /** Prediction of one record, through the same path as `attnkit predict` (train.predict + predictionRecord). */
  predict(record: DataRecord): Prediction {
    const { dataset } = this.pre.encode([record], { targets: false });
    const scores = ak.train.predict(this.model, dataset, [0]);
    return this.describe(ak.train.predictionRecord(this.pre.targetInfo(), scores, 0), scores[this.target.name], 0);
  }

  private describe(record: Record<string, unknown>, p: ArrayLike<number>, i: number): Prediction {
    const t = this.target;
    if (t.task === 'binary') {
      const k = p[i] >= 0.5 ? 1 : 0;
      return { record, index: k, name: this.className(k), confidence: k ? p[i] : 1 - p[i] };
    }
    if (t.task === 'multiclass') {
      const probs = Array.from({ length: t.outputs }, (_, j) => p[i * t.outputs + j]);
      const k = probs.indexOf(Math.max(...probs));
      return { record, index: k, name: this.className(k), confidence: probs[k] };
    }
    return { record, index: p[i], name: p[i].toPrecision(5), confidence: null };
  }

  /** Token labels with the original words where the vocabulary has `<unk>`, and full labels for hover. */
  private tokens(batch: ak.data.Batch, record: DataRecord): { tokens: ViewToken[]; mask: boolean[] } {
    const { tokens, mask } = ak.analysis.tokenLabels(this.model, this.state, batch, 0, record);
    const words = new Map<string, string[]>();
    for (const f of this.state.schema.fields) {
      const ws = kindUi(f).words(f, record[f.name]);
      if (ws) words.set(f.name, ws);
    }
    const seen = new Map<string, number>();
    const out = tokens.map((t) => {
      const k = seen.get(t.field) ?? 0;
      seen.set(t.field, k + 1);
      const word = words.get(t.field)?.[k];
      const unknown = t.label === '<unk>' && word !== undefined;
      const label = unknown ? `${word}*` : t.label;
      return { field: t.field, source: this.sourceOf.get(t.field) ?? t.field, label, full: `${t.field}: ${unknown ? `${word} (not in the vocabulary: the model sees <unk>)` : t.label}`, unknown };
    });
    return { tokens: out, mask };
  }

  /** Every view's numbers for one record: one forward with weights, one backward from the predicted score. */
  analyse(record: DataRecord): Analysis {
    const t0 = performance.now();
    const prediction = this.predict(record);
    const { dataset } = this.pre.encode([record], { targets: false });
    const batch = dataset.batch([0]);
    const model = this.model;
    const r = model.forward(batch, { needWeights: true });
    const ws = r.weights!;
    for (const w of ws) w.retainGrad();
    ak.backward(this.score(r.outputs[this.target.name], [prediction.index]));
    const { tokens, mask } = this.tokens(batch, record);
    const keep = mask.flatMap((m, i) => (m ? [i] : []));
    const N = mask.length, n = keep.length, H = this.heads;
    void N;
    const weights = ws.map((w) => Array.from({ length: H }, (_, h) => {
      const m = new Float32Array(n * n);
      keep.forEach((i, a) => keep.forEach((j, b) => { m[a * n + b] = w.data[(h * N + i) * N + j]; }));
      return m;
    }));
    const rollFull = clsRollout(ws, 0);
    const rollout = Float64Array.from(keep, (j) => rollFull[j]);
    const gradAttention = ws.map((w) => {
      const g = clsGradAttention(w, 0);
      return Float64Array.from(keep, (j) => g[j]);
    });
    model.zeroGrad();
    const kept = keep.map((i) => tokens[i]);
    const gaCls = kept.map((_, j) => gradAttention.reduce((s, m) => s + m[j], 0) / gradAttention.length);
    const group = (key: 'field' | 'source', names: string[]): Analysis['fields'] => names.map((name) => {
      const idx = kept.flatMap((tk, i) => (tk[key] === name ? [i] : []));
      return { name, rollout: idx.reduce((s, i) => s + rollout[i], 0), gradAttention: idx.reduce((s, i) => s + gaCls[i], 0) };
    });
    const fieldNames = model.fields.map((f) => f.name);
    const layerInputs = this.layerInputs(batch);
    return {
      tokens: kept, weights, rollout, gradAttention, prediction, layerInputs, keep,
      fields: group('field', fieldNames), sources: group('source', [...new Set(model.fields.map((f) => f.source))]),
      ms: performance.now() - t0,
    };
  }

  /** The scalar whose gradient gradient × attention uses: each row's predicted-class logit (binary and regression: the output). */
  private score(y: Tensor, predicted: number[]): Tensor {
    if (this.target.task !== 'multiclass') return ak.sum(y);
    const K = this.target.outputs, m = new Float32Array(y.size);
    predicted.forEach((k, b) => { m[b * K + k] = 1; });
    return ak.sum(ak.mul(y, new ak.Tensor(m, y.shape)));
  }

  /** The input of each encoder layer ([1, N, C]), computed as FusionModel.forward does ('early'). */
  private layerInputs(batch: ak.data.Batch): Tensor[] {
    return ak.noGrad(() => {
      const { tokens, masks } = this.model.tokenize(batch);
      const C = this.model.config.dim;
      const cls = ak.reshape(this.model.cls!, [1, 1, C]);
      let x = ak.concat([cls, ...tokens], 1);                                            // [1, N, C]
      const keyMask = ak.concat([new ak.Tensor(new Uint8Array([1]), [1, 1]), ...masks], 1);  // [1, N]
      const out: Tensor[] = [];
      for (const layer of this.model.encoder!.layers) {
        out.push(x);
        x = layer.forward(x, { keyMask }).output;
      }
      return out;
    });
  }

  /**
   * The neuron view of one layer, query token and key token (positions among the real tokens):
   * per head the query and key vectors [D], their elementwise product scaled by 1/√D, and the
   * softmax over every key of the summed products (which is the head's attention row).
   */
  neuron(a: Analysis, layer: number, q: number, k: number): { heads: { q: number[]; k: number[]; product: number[]; score: number; softmax: number[] }[]; dim: number } {
    const enc = this.model.encoder!.layers[layer];
    const attn = enc.selfAttn;
    return ak.noGrad(() => {
      const x = a.layerInputs[layer];
      const h = enc.normFirst ? enc.norm1.forward(x) : x;
      const qkv = ak.F.linear(h, attn.inProjWeight!, attn.inProjBias);                      // [1, N, 3C]
      const C = this.model.config.dim, H = this.heads, D = C / H, N = x.shape[1]!;
      const d = qkv.float32();
      const vec = (pos: number, off: number, hd: number): number[] => Array.from({ length: D }, (_, e) => d[pos * 3 * C + off + hd * D + e]);
      const qi = a.keep[q], kj = a.keep[k];
      const heads = Array.from({ length: H }, (_, hd) => {
        const qv = vec(qi, 0, hd), kv = vec(kj, C, hd);
        const product = qv.map((v, e) => (v * kv[e]) / Math.sqrt(D));
        const scores = a.keep.map((p) => vec(p, C, hd).reduce((s, v, e) => s + (qv[e] * v) / Math.sqrt(D), 0));
        const m = Math.max(...scores), ex = scores.map((s) => Math.exp(s - m)), z = ex.reduce((s, v) => s + v, 0);
        return { q: qv, k: kv, product, score: product.reduce((s, v) => s + v, 0), softmax: ex.map((v) => v / z) };
      });
      void N;
      return { heads, dim: D };
    });
  }

  /** Head redundancy of one layer over the record's real tokens (analysis.headRedundancy: 1 − JSD / ln 2, 1 = identical heads). */
  redundancy(a: Analysis, layer: number): number[][] {
    const n = a.tokens.length, H = this.heads;
    const w = new Float32Array(H * n * n);
    a.weights[layer].forEach((m, h) => w.set(m, h * n * n));
    return ak.analysis.headRedundancy(new ak.Tensor(w, [1, H, n, n]));
  }

  /** Predictions, attribution per field and source, and entropy per layer × head over records, in chunks (yielding between them). */
  async stats(records: DataRecord[], onProgress?: (done: number) => void): Promise<RunStats> {
    const model = this.model, H = this.heads, L = this.layers;
    const predicted: number[] = [], confidence: (number | null)[] = [];
    const fieldNames = model.fields.map((f) => f.name), sourceNames = [...new Set(model.fields.map((f) => f.source))];
    const fr = new Map(fieldNames.map((f) => [f, { r: 0, g: 0 }])), sr = new Map(sourceNames.map((s) => [s, { r: 0, g: 0 }]));
    const ent = Array.from({ length: L }, () => new Array<number>(H).fill(0));
    let entRows = 0;
    const chunk = 4;   // short blocks of work on the page's thread: edits are answered between them
    for (let s = 0; s < records.length; s += chunk) {
      const recs = records.slice(s, s + chunk);
      const { dataset } = this.pre.encode(recs, { targets: false });
      const rows = recs.map((_, i) => i);
      const scores = ak.train.predict(model, dataset, rows);
      const preds = rows.map((i) => this.describe({}, scores[this.target.name], i));
      for (const p of preds) { predicted.push(p.index); confidence.push(p.confidence); }
      const batch = dataset.batch(rows);
      const r = model.forward(batch, { needWeights: true });
      const ws = r.weights!;
      for (const w of ws) w.retainGrad();
      ak.backward(this.score(r.outputs[this.target.name], preds.map((p) => p.index)));
      const fieldsAt = r.tokenFields!, km = r.keyMask!.data, N = fieldsAt.length;
      rows.forEach((b) => {
        const roll = clsRollout(ws, b), ga = ws.map((w) => clsGradAttention(w, b));
        let real = 0;
        for (let j = 0; j < N; j++) if (km[b * N + j]) real++;
        for (let j = 1; j < N; j++) {
          if (!km[b * N + j]) continue;
          const g = ga.reduce((acc, l) => acc + l[j], 0) / ga.length;
          const f = fr.get(fieldsAt[j])!, so = sr.get(this.sourceOf.get(fieldsAt[j])!)!;
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
      });
      model.zeroGrad();
      onProgress?.(Math.min(records.length, s + chunk));
      await new Promise((res) => setTimeout(res, 0));
    }
    const n = Math.max(1, records.length);
    return {
      predicted, confidence,
      fields: fieldNames.map((name) => ({ name, rollout: fr.get(name)!.r / n, gradAttention: fr.get(name)!.g / n })),
      sources: sourceNames.map((name) => ({ name, rollout: sr.get(name)!.r / n, gradAttention: sr.get(name)!.g / n })),
      entropy: ent.map((l) => l.map((v) => v / Math.max(1, entRows))),
    };
  }
}

/** Fetches one run's files (`runs/<id>/…`) and loads it. */
export async function loadRun(id: string): Promise<PageRun> {
  const get = async (f: string): Promise<Response> => {
    const res = await fetch(`runs/${id}/${f}`);
    if (!res.ok) throw new Error(`runs/${id}/${f}: HTTP ${res.status}`);
    return res;
  };
  const [config, state, weights, data] = await Promise.all([
    get('config.json').then((r) => r.json() as Promise<RunConfig>),
    get('preprocessor.json').then((r) => r.json() as Promise<PreprocessorState>),
    get('model.safetensors').then(async (r) => new Uint8Array(await r.arrayBuffer())),
    get('records.json').then((r) => r.json() as Promise<ViewerRecords>),
  ]);
  return new PageRun(id, config, state, weights, data);
}

/** Which backend the page runs on, and its threads. */
export function backendInfo(): string {
  const name = ak.backendName();
  const w = name === 'wasm' ? ak.wasmInfo() : null;
  return w ? `wasm (${w.simd ? 'SIMD128' : 'no SIMD'}, ${w.threads} thread${w.threads > 1 ? 's' : ''})` : name;
}
