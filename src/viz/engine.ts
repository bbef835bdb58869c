/**
 * The model in the page: a run's best weights, fitted preprocessing and config loaded into the
 * attnkit core (`attnkit/browser`: the wasm backend, or js where wasm cannot load), and every
 * view's numbers computed from one forward (with weights) and one backward per record. viz/
 * reaches the engine only through that public entry, as any user's page would.
 */
import * as ak from 'attnkit/browser';
import type { ViewerRecords } from './report.js';
import { kindUi } from './kinds.js';

type Prediction = ak.train.Prediction;
export type DatasetSummary = ak.train.DatasetSummary;
const { clsGradAttention, clsRollout, predictedScore } = ak.analysis;
const { describePrediction } = ak.train;

type Tensor = ak.Tensor;
type FusionModel = ak.models.FusionModel;
type TargetInfo = ak.data.TargetInfo;
type DataRecord = ak.data.DataRecord;
type PreprocessorState = ak.data.PreprocessorState;

export interface RunConfig { name?: string; seed?: number; model: unknown }

/** A token as the views show it: short label, full label (hover), its field and source. */
export interface ViewToken { field: string; source: string; label: string; full: string; unknown: boolean }

export interface Analysis {
  tokens: ViewToken[];
  /** [layer][head] → n × n row-major weights over the real tokens (float32 as the model computed them). */
  weights: Float32Array[][];
  /** The [CLS] row of the rollout: how much each token flows into the prediction. */
  rollout: Float64Array;
  /** Per field and per source: rollout of [CLS], summed over their tokens. */
  fields: { name: string; rollout: number }[];
  sources: { name: string; rollout: number }[];
  prediction: Prediction;
  /** The real positions among the model's N (padding left out). */
  keep: number[];
  /** Gradient × attention of the [CLS] row per layer, mean over heads: the backward runs on the first call only (its view open). */
  gradAttention(): Float64Array[];
  /**
   * Per attention layer, its attention module and the input [1, N, C] its queries and keys come
   * from, over all positions (padding included): the neuron view's start, computed on the first
   * call (null where the layer is not softmax multi-head attention).
   */
  layerInputs(): { attn: ak.nn.MultiHeadAttention | null; h: Tensor | null }[];
  /** Milliseconds of the eager part (prediction, forward with weights, rollout). */
  ms: number;
}

/** `f` run once, on the first call; later calls return its value. */
function once<T>(f: () => T): () => T {
  let done = false, v: T;
  return () => {
    if (!done) { v = f(); done = true; }
    return v;
  };
}

/** Runs `f` between two performance marks, measured as `name` (the latency test reads them). */
export function measured<T>(name: string, f: () => T): T {
  const start = performance.now();
  try { return f(); } finally { performance.measure(name, { start, end: performance.now() }); }
}

/** A run loaded into the page. */
export class PageRun {
  readonly pre: ak.data.Preprocessor;
  /** The run's model, whatever its kind: the prediction. */
  readonly model: ak.models.TaskModel;
  /** The same model when it has token-to-token attention maps (early fusion with Transformer layers or composite blocks with attention), else null: the attention views. */
  readonly fusion: FusionModel | null;
  readonly target: TargetInfo;
  /** The targets, binary ones with the class names of records.json. */
  private readonly targets: TargetInfo[];
  readonly classNames: string[];
  /** Layers and heads of the attention maps (0 without maps). */
  readonly layers: number;
  readonly heads: number;
  /** The schema fields the model reads. */
  readonly usedFields: ReadonlySet<string>;
  private readonly sourceOf: Map<string, string>;

  constructor(readonly id: string, readonly config: RunConfig, readonly state: PreprocessorState, weights: Uint8Array, readonly data: ViewerRecords) {
    this.pre = ak.data.Preprocessor.fromState(state);
    const model = ak.models.buildModel(config.model as ak.models.ModelConfig, this.pre.fieldInfo(), this.pre.targetInfo(), new ak.Generator(config.seed ?? 0));
    model.loadStateDict(ak.train.decodeSafetensors(weights, 'model.safetensors').tensors);
    model.eval();
    this.model = model;
    this.fusion = ak.analysis.hasAttentionMaps(model) ? model : null;
    // the class names records.json gives (a run saved before binary targets kept their names has
    // classes ['0', '1'] in its state; the CLI recovers the names from the data): every target's
    // prediction record shows them
    this.targets = this.pre.targetInfo().map((t) => {
      const names = data.classNames[t.name];
      return t.task === 'binary' && names?.length === 2 ? { ...t, classes: names } : t;
    });
    this.target = this.targets[0];
    this.classNames = data.classNames[this.target.name] ?? [];
    const shape = ak.analysis.attentionShape(model);
    this.layers = shape?.layers ?? 0;
    this.heads = shape?.heads ?? 0;
    this.sourceOf = new Map(this.pre.fieldInfo().map((f) => [f.name, f.source]));
    // fusion and the MLP / linear baselines list their fields; the single-field baselines name one
    const listed = (model as { fields?: { name: string }[] }).fields;
    const one = (config.model as { field?: string }).field;
    this.usedFields = new Set(listed ? listed.map((f) => f.name) : one !== undefined ? [one] : state.schema.fields.map((f) => f.name));
  }

  /** What the model is, for the run's title: layers × heads for attention models, else its type (and fusion strategy). */
  get description(): string {
    if (this.fusion) {
      const k = this.fusion.config.ensemble;
      // an ensemble's maps are its first member's (FusionModel.forward); its prediction is the members' mean
      return `${this.layers} layer${this.layers === 1 ? '' : 's'} × ${this.heads} head${this.heads === 1 ? '' : 's'}${k > 1 ? ` (maps of the first of ${k} members)` : ''}`;
    }
    const c = this.config.model as { type?: string; strategy?: string };
    return `${c.type ?? this.model.constructor.name}${c.strategy ? ` (${c.strategy})` : ''}, no token-to-token attention maps`;
  }

  /** The early-fusion model, for the attention views (only called when the run has maps). */
  private get fm(): FusionModel {
    if (!this.fusion) throw new Error(`run ${this.title}: its model has no attention maps (${this.description})`);
    return this.fusion;
  }

  get title(): string { return this.data.title; }

  className(i: number): string { return this.classNames[i] ?? String(i); }

  /** Prediction of one record, through the same path as `attnkit predict` (train.predict + predictionRecord). */
  predict(record: DataRecord): Prediction {
    const { dataset } = this.pre.encode([record], { targets: false });
    const scores = ak.train.predict(this.model, dataset, [0]);
    return describePrediction(this.target, this.classNames, ak.train.predictionRecord(this.targets, scores, 0), scores[this.target.name], 0);
  }

  /** Token labels with the original words where the vocabulary has `<unk>`, and full labels for hover. */
  private tokens(batch: ak.data.Batch, record: DataRecord): { tokens: ViewToken[]; mask: boolean[] } {
    const { tokens, mask } = ak.analysis.tokenLabels(this.fm, this.state, batch, 0, record);
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

  /**
   * The numbers of the views for one record: the prediction, one forward with weights and the
   * rollout now; gradient × attention (a backward) and the layer inputs (the neuron view) when a
   * view first asks for them. A model without maps: the prediction only, the rest empty.
   */
  analyse(record: DataRecord): Analysis {
    const t0 = performance.now();
    const prediction = measured('model: predict', () => this.predict(record));
    if (!this.fusion) {
      return { tokens: [], weights: [], rollout: new Float64Array(0), gradAttention: () => [], fields: [], sources: [], prediction, layerInputs: () => [], keep: [], ms: performance.now() - t0 };
    }
    const { dataset } = this.pre.encode([record], { targets: false });
    const batch = dataset.batch([0]);
    const model = this.fusion;
    const r = measured('model: forward with weights', () => model.forward(batch, { needWeights: true }));
    const ws = r.weights!;
    for (const w of ws) w.retainGrad();
    const { tokens, mask } = this.tokens(batch, record);
    const keep = mask.flatMap((m, i) => (m ? [i] : []));
    const N = mask.length, n = keep.length;
    const weights = ws.map((w) => Array.from({ length: w.shape[1]! }, (_, h) => {
      const m = new Float32Array(n * n);
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) m[a * n + b] = w.data[(h * N + keep[a]) * N + keep[b]];
      return m;
    }));
    const rollFull = measured('model: rollout', () => clsRollout(ws, 0));
    const rollout = Float64Array.from(keep, (j) => rollFull[j]);
    const gradAttention = once(() => measured('model: backward (gradient × attention)', () => {
      ak.backward(predictedScore(this.target, r.outputs[this.target.name], [prediction.index]));
      const g = ws.map((w) => {
        const row = clsGradAttention(w, 0);
        return Float64Array.from(keep, (j) => row[j]);
      });
      model.zeroGrad();
      return g;
    }));
    const kept = keep.map((i) => tokens[i]);
    const group = (key: 'field' | 'source', names: string[]): Analysis['fields'] => names.map((name) => {
      let sum = 0;
      kept.forEach((tk, i) => { if (tk[key] === name) sum += rollout[i]; });
      return { name, rollout: sum };
    });
    const fieldNames = model.fields.map((f) => f.name);
    return {
      tokens: kept, weights, rollout, prediction, keep, gradAttention,
      layerInputs: once(() => measured('model: layer inputs (neuron view)', () => this.layerInputs(batch))),
      fields: group('field', fieldNames), sources: group('source', [...new Set(model.fields.map((f) => f.source))]),
      ms: performance.now() - t0,
    };
  }

  /**
   * Per attention layer (the maps' order), its attention module and the input its queries and keys
   * are projected from ([1, N, C]), computed as FusionModel.forward does ('early'). Composite
   * blocks: each attention layer's input is taken as the stack runs (its forward wrapped for that
   * one pass); attention other than softmax multi-head (sparse, linear) has no neuron view (null).
   */
  private layerInputs(batch: ak.data.Batch): { attn: ak.nn.MultiHeadAttention | null; h: Tensor | null }[] {
    return ak.noGrad(() => {
      const C = this.fm.config.dim;
      const own = this.fm.tokenize(batch), masks = own.masks;
      // a shared ensemble's maps are the first member's: its tokens scaled by its multiplier r₀ (FusionModel.forward)
      const r0 = this.fm.ensembleScale ? ak.reshape(ak.narrow(this.fm.ensembleScale, 0, 0, 1), [1, 1, C]) : null;
      const tokens = r0 ? own.tokens.map((t) => ak.mul(t, r0)) : own.tokens;
      const cls = ak.reshape(this.fm.cls!, [1, 1, C]);
      let x = ak.concat([cls, ...tokens], 1);                                            // [1, N, C]
      const keyMask = ak.concat([new ak.Tensor(new Uint8Array([1]), [1, 1]), ...masks], 1);  // [1, N]
      const out: { attn: ak.nn.MultiHeadAttention | null; h: Tensor | null }[] = [];
      if (this.fm.encoder) {
        for (const layer of this.fm.encoder.layers) {
          out.push({ attn: layer.selfAttn, h: layer.normFirst ? layer.norm1.forward(x) : x });
          x = layer.forward(x, { keyMask }).output;
        }
        return out;
      }
      const blocks = this.fm.blocks!;
      const byPath = new Map(blocks.namedModules());
      const found = ak.nn.attentionLayers(blocks).map(({ path }) => byPath.get(path)!);
      const wrapped = found.flatMap((m, i) => {
        out.push({ attn: m instanceof ak.nn.MultiHeadAttention ? m : null, h: null });
        if (!(m instanceof ak.nn.MultiHeadAttention)) return [];
        const forward = m.forward;
        m.forward = (q, ...rest) => { out[i].h = q; return forward.call(m, q, ...rest); };
        return [m];
      });
      try {
        blocks.forward(x, { keyMask });
      } finally {
        for (const m of wrapped) delete (m as { forward?: unknown }).forward;   // back to the class's method
      }
      return out;
    });
  }

  /**
   * The neuron view of one layer, query token and key token (positions among the real tokens):
   * per head the query and key vectors [D], their elementwise product scaled by 1/√D, and the
   * softmax over every key of the summed products (which is the head's attention row). The
   * projections are the ones the layer uses (`projections()`: σReparam's γ/σ(W)·W when it is on).
   */
  neuron(a: Analysis, layer: number, q: number, k: number): { heads: { q: number[]; k: number[]; product: number[]; score: number; softmax: number[] }[]; dim: number } {
    const { attn, h } = a.layerInputs()[layer];
    if (!attn || !h) return { heads: [], dim: 0 };
    return ak.noGrad(() => {
      const { w, b } = attn.projections();
      const qs = ak.F.linear(h, w[0], b[0]).float32(), ks = ak.F.linear(h, w[1], b[1]).float32();   // [1, N, H·D], [1, N, Hkv·D]
      const H = attn.numHeads, D = attn.headDim, Hkv = attn.numKVHeads;
      const vec = (d: Float32Array, width: number, pos: number, hd: number): number[] => Array.from(d.subarray(pos * width + hd * D, pos * width + (hd + 1) * D));
      const qi = a.keep[q], kj = a.keep[k];
      const heads = Array.from({ length: H }, (_, hd) => {
        const kvh = Math.floor(hd / (H / Hkv));   // grouped-query attention: the head's key head
        const qv = vec(qs, H * D, qi, hd), kv = vec(ks, Hkv * D, kj, kvh);
        const product = qv.map((v, e) => (v * kv[e]) / Math.sqrt(D));
        const scores = a.keep.map((p) => vec(ks, Hkv * D, p, kvh).reduce((s, v, e) => s + (qv[e] * v) / Math.sqrt(D), 0));
        const m = Math.max(...scores), ex = scores.map((s) => Math.exp(s - m)), z = ex.reduce((s, v) => s + v, 0);
        return { q: qv, k: kv, product, score: product.reduce((s, v) => s + v, 0), softmax: ex.map((v) => v / z) };
      });
      return { heads, dim: D };
    });
  }

  /** Head redundancy of one layer over the record's real tokens (analysis.headRedundancy: 1 − JSD / ln 2, 1 = identical heads). */
  redundancy(a: Analysis, layer: number): number[][] {
    const n = a.tokens.length, H = a.weights[layer].length;
    const w = new Float32Array(H * n * n);
    a.weights[layer].forEach((m, h) => w.set(m, h * n * n));
    return ak.analysis.headRedundancy(new ak.Tensor(w, [1, H, n, n]));
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

/** The test split's summary the CLI computed for run `id` (`runs/<id>/dataset.json`: train.splitSummary). */
export async function loadSummary(id: string): Promise<DatasetSummary> {
  const res = await fetch(`runs/${id}/dataset.json`);
  if (!res.ok) throw new Error(`runs/${id}/dataset.json: HTTP ${res.status}`);
  return res.json() as Promise<DatasetSummary>;
}

/** Which backend the page runs on, and its threads. */
export function backendInfo(): string {
  const name = ak.backendName();
  const w = name === 'wasm' ? ak.wasmInfo() : null;
  return w ? `wasm (${w.simd ? `SIMD128${w.relaxed ? ' + relaxed' : ''}` : 'no SIMD'}, ${w.threads} thread${w.threads > 1 ? 's' : ''})` : name;
}
