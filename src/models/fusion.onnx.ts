/**
 * ONNX emission of the heterogeneous-fusion model, beside its forward: the numeric part of every field encoder
 * (numeric tokens, embedding lookups, patch projections, positions, field embeddings), the
 * fusion strategy (early, crossModal or latent) and the task heads. Text tokenisation,
 * normalisation and vocabularies stay in the fitted `data.Preprocessor` (JSON), which turns
 * records into the graph's inputs with `fusionOnnxInputs`.
 *
 * Inputs per field `f` (batch, and token or patch counts, are dynamic; each kind lists its own in
 * src/data/fields/<kind>.ts):
 *   numeric      f float [batch], f.present bool [batch]
 *   categorical  f int64 [batch] (0 = missing, 1 = unknown)
 *   text         f int64 [batch, f.length], f.mask bool [batch, f.length]
 *   keyValue     f int64 [batch, f.length] (value tokens), f.keys int64, f.mask bool
 *   timeSeries   f float [batch, f.patches, patchDim], f.mask bool [batch, f.patches]
 *   image        f float [batch, numPatches, patchDim], f.present bool [batch]
 * Outputs per target `t`: t (the model's raw output: logit(s) or the standardised value) and
 * t.probability (binary, [batch]), t.probabilities (multiclass, [batch, K]) or t.value
 * (regression, in the target's units).
 */
import type { Tensor } from '../tensor/tensor.js';
import { ConfigError, ValueError } from '../errors.js';
import type { Batch } from '../data/dataset.js';
import type { TaskKind } from '../data/schema.js';
import { Graph, f32, keyMask4, positions } from '../onnx/graph/graph.js';
import type { OnnxValue } from '../onnx/graph/proto.js';
import type { LayerExport } from '../onnx/graph/layerExport.js';
import { emitLinear } from '../nn/linear.onnx.js';
import { emitLayerNorm } from '../nn/layerNorm.onnx.js';
import { emitEncoder } from '../nn/attention/transformer.onnx.js';
import { emitCrossModal, emitPerceiver } from '../nn/attention/crossModal.onnx.js';
import { EnsembleHeads, FusionModel } from './fusion.js';
import type { FieldSlots, FieldTokenizer } from './fieldTokenizers.js';
import type { LinearModel } from './baselines.js';
import type { FieldInfo, TargetInfo } from '../data/preprocessor.js';
import { fieldKindOf } from '../data/fields/index.js';
import type { FieldOps } from '../data/fields/fieldKindDef.js';

/** One graph input as plain data: wrap with `new ort.Tensor(type, data, dims)`. */
export interface OnnxInput { type: 'float32' | 'int64' | 'bool'; data: Float32Array | BigInt64Array | Uint8Array; dims: number[] }

/** The graph inputs (name, dtype, dims) of one field, from its kind's definition. */
function fieldInputs(t: FieldTokenizer): OnnxValue[] {
  const f = t.info.name;
  return fieldKindOf(t.info.kind).onnx.map((i) => ({ name: `${f}${i.suffix}`, dtype: i.dtype, dims: i.dims(f, t.info) }));
}

const weightOf = (g: Graph, hint: string, t: Tensor): string => g.const(hint, f32(t), [...t.shape]);
const gather = (g: Graph, table: string, ids: string): string => g.one('Gather', [table, ids], { axis: 0 });
const TABLE_HINT = { embedding: 'emb', keyEmbedding: 'key_emb' } as const;

/** A kind's recipe operations as graph nodes, with the parameters of `t` (a field's tokenizer or vector) and the field's graph inputs. */
function graphOps(g: Graph, t: FieldSlots, info: FieldInfo): FieldOps<string, Record<string, unknown>> {
  const names = Object.fromEntries(fieldKindOf(info.kind).onnx.map((i) => [i.key, `${info.name}${i.suffix}`])) as Record<string, string>;
  const unsq = (x: string, axes: number[]): string => g.one('Unsqueeze', [x, g.ints('axes', axes)]);
  return {
    input: (key) => names[key],
    embed: (slot, ids) => gather(g, weightOf(g, TABLE_HINT[slot], t[slot]!.weight), ids),
    positions: (x) => gather(g, weightOf(g, 'pos', t.position!.weight), positions(g, x)),
    project: (x) => emitLinear(g, x, t.proj!),
    affine: (x) => g.one('Add', [g.one('Mul', [unsq(x, [1, 2]), weightOf(g, 'num_w', t.weight!)]), weightOf(g, 'num_b', t.bias!)]),
    piecewise: (x, edges) => {
      const K = edges.length - 1;
      const left = g.const('bin_left', Float32Array.from(edges.slice(0, K)), [K]);
      const width = g.const('bin_width', Float32Array.from({ length: K }, (_, i) => edges[i + 1] - edges[i]), [K]);
      const z = g.one('Div', [g.one('Sub', [unsq(x, [1, 2]), left]), width]);                          // [B, 1, K]
      return g.one('Min', [g.one('Max', [z, g.scalar(0)]), g.scalar(1)]);
    },
    periodic: (x) => {
      const v = g.one('Mul', [unsq(x, [1, 2]), g.one('Mul', [weightOf(g, 'freq', t.frequencies!), g.scalar(2 * Math.PI)])]);  // [B, 1, k]
      return g.one('Concat', [g.one('Cos', [v]), g.one('Sin', [v])], { axis: 2 });                       // [B, 1, 2k]
    },
    relu: (x) => g.one('Relu', [x]),
    add: (a, b) => g.one('Add', [a, b]),
    token: (x) => unsq(x, [1]),
    nonzero: (x) => g.one('Not', [g.one('Equal', [x, g.const('zero', BigInt64Array.from([0n]), [])])]),
    perToken: (present, x) => g.one('Expand', [unsq(present, [1]), g.one('Slice', [g.one('Shape', [x]), g.ints('start', [0]), g.ints('end', [2])])]),
  };
}

/** One field's tokens [B, n, C] and mask [B, n] (bool): its kind's token recipe emitted as graph nodes. */
function emitTokenizer(g: Graph, t: FieldTokenizer): { tokens: string; mask: string } {
  const { tokens, mask } = fieldKindOf(t.info.kind).tokens.forward(graphOps(g, t, t.info), t.info);
  return { tokens: g.one('Add', [tokens, weightOf(g, 'field_emb', t.fieldEmbedding)]), mask };
}

/** The wide part (`wide: true`, a `LinearModel`): per target its raw output [B, outputs], each field's vector recipe emitted as graph nodes. */
function emitWide(g: Graph, wide: LinearModel): string[] {
  const parts = wide.fields.map((info, i) => {
    const ops = graphOps(g, wide.vectors[i], info);
    const flag = (present: string): string => g.one('Cast', [g.one('Unsqueeze', [present, g.ints('axes', [1])])], { to: 1 });   // [B, 1] float
    return fieldKindOf(info.kind).vector.forward<string>({
      ...ops,
      maskedMean: (x, mask) => emitMaskedMean(g, x, mask),                                                  // [B, w]
      mean: (x) => g.one('ReduceMean', [x], { axes: [1], keepdims: 0 }),
      withFlag: (values, present) => g.one('Concat', [g.one('Unsqueeze', [values, g.ints('axes', [1])]), flag(present)], { axis: 1 }),  // [B, 2]
      timesPresent: (x, present) => g.one('Mul', [x, flag(present)]),
    });
  });
  const x = parts.length === 1 ? parts[0] : g.one('Concat', parts, { axis: -1 });                            // [B, Σ widths]
  return wide.heads.heads.map((l) => emitLinear(g, x, l));
}

/** Masked mean over tokens: x [B, n, C], mask [B, n] → [B, C] (zeros where nothing is real). */
function emitMaskedMean(g: Graph, x: string, mask: string): string {
  const m = g.one('Cast', [g.one('Unsqueeze', [mask, g.ints('axes', [2])])], { to: 1 });            // [B, n, 1]
  const num = g.one('ReduceSum', [g.one('Mul', [x, m]), g.ints('axes', [1])], { keepdims: 0 });
  const den = g.one('Max', [g.one('ReduceSum', [m, g.ints('axes', [1])], { keepdims: 0 }), g.scalar(1)]);
  return g.one('Div', [num, den]);
}

/** The batch dimension of x as int64 [1]. */
function batchOf(g: Graph, x: string): string {
  return g.one('Slice', [g.one('Shape', [x]), g.ints('start', [0]), g.ints('end', [1])]);
}

/**
 * Emits the whole model; returns the graph's inputs and outputs. The model must be in eval
 * mode (dropout, DropHead and σReparam's power iteration off).
 */
/** The second output of each target, `<target>.<suffix>`: in the target's terms (probabilities, or the value in its units). */
export const DERIVED_OUTPUT = { binary: 'probability', multiclass: 'probabilities', regression: 'value' } as const satisfies Record<TaskKind, string>;

export function emitFusionModel(g: Graph, model: FusionModel): { inputs: OnnxValue[]; outputs: OnnxValue[] } {
  // 'independent' members: each emitted whole from the same inputs, averaged as `ensembleOutputs` does
  const own = emitRawOutputs(g, model);
  const raw = model.memberModels.length
    ? model.targets.map((t, i) => emitMeanOutput(g, t, [own, ...model.memberModels.map((m) => emitRawOutputs(g, m))].map((r) => r[i])))
    : own;
  const outputs: OnnxValue[] = [];
  model.targets.forEach((t, i) => {
    let y = raw[i];                                                                            // [B, outputs]
    if (t.task === 'multiclass') {
      g.rename(y, t.name);
      g.rename(g.one('Softmax', [t.name], { axis: -1 }), `${t.name}.${DERIVED_OUTPUT.multiclass}`);
      outputs.push({ name: t.name, dtype: 'float', dims: ['batch', t.outputs] }, { name: `${t.name}.${DERIVED_OUTPUT.multiclass}`, dtype: 'float', dims: ['batch', t.outputs] });
      return;
    }
    y = g.one('Squeeze', [y, g.ints('axes', [-1])]);
    g.rename(y, t.name);
    if (t.task === 'binary') {
      g.rename(g.one('Sigmoid', [t.name]), `${t.name}.${DERIVED_OUTPUT.binary}`);
      outputs.push({ name: t.name, dtype: 'float', dims: ['batch'] }, { name: `${t.name}.${DERIVED_OUTPUT.binary}`, dtype: 'float', dims: ['batch'] });
    } else {
      const value = t.mean !== undefined ? g.one('Add', [g.one('Mul', [t.name, g.scalar(t.std!)]), g.scalar(t.mean)]) : g.one('Identity', [t.name]);
      g.rename(value, `${t.name}.${DERIVED_OUTPUT.regression}`);
      outputs.push({ name: t.name, dtype: 'float', dims: ['batch'] }, { name: `${t.name}.${DERIVED_OUTPUT.regression}`, dtype: 'float', dims: ['batch'] });
    }
  });
  return { inputs: model.tokenizers.flatMap(fieldInputs), outputs };
}

/** One model's raw outputs per target [B, outputs], from its tokenizers to its heads (shared members averaged). */
function emitRawOutputs(g: Graph, model: FusionModel): string[] {
  const C = model.config.dim, k = model.sharedMembers;
  let enc = model.tokenizers.map((t) => emitTokenizer(g, t));
  if (k > 1) {
    // member-major rows [k·B, …]: member m's tokens scaled by its r (as FusionModel.forward)
    const r = g.const('ens_r', f32(model.ensembleScale!), [k, 1, 1, C]);
    const rows = (x: string, full: string): string => g.one('Reshape', [full, g.one('Concat', [g.ints('all', [-1]), g.one('Slice', [g.one('Shape', [x]), g.ints('start', [1]), g.ints('end', [8])])], { axis: 0 })]);
    enc = enc.map((e) => ({
      tokens: rows(e.tokens, g.one('Mul', [g.one('Unsqueeze', [e.tokens, g.ints('axes', [0])]), r])),                   // [k·B, n, C]
      mask: rows(e.mask, g.one('Expand', [g.one('Unsqueeze', [e.mask, g.ints('axes', [0])]), g.one('Concat', [g.ints('k', [k]), g.one('Shape', [e.mask])], { axis: 0 })])),  // [k·B, n]
    }));
  }
  const B = batchOf(g, enc[0].tokens);
  let rep: string;                                                                             // [B, C]
  switch (model.config.strategy) {
    case 'early': {
      const cls = g.one('Expand', [g.const('cls', f32(model.cls!), [1, 1, C]), g.one('Concat', [B, g.ints('shape', [1, C])], { axis: 0 })]);
      const x = g.one('Concat', [cls, ...enc.map((e) => e.tokens)], { axis: 1 });
      const one = g.one('Cast', [g.one('Expand', [g.scalar(1), g.one('Concat', [B, g.ints('shape', [1])], { axis: 0 })])], { to: 9 });
      const keyMask = g.one('Concat', [one, ...enc.map((e) => e.mask)], { axis: 1 });
      const h = model.encoder ? emitEncoder(g, x, model.encoder, keyMask4(g, keyMask))
        : emitLayerNorm(g, g.sequence(x, model.blocks!, keyMask), model.blocksNorm!);
      rep = g.one('Gather', [h, g.const('first', BigInt64Array.from([0n]), [])], { axis: 1 });
      break;
    }
    case 'crossModal': {
      const streams = model.sources.map((s) => {
        const idx = model.fields.map((f, i) => (f.source === s ? i : -1)).filter((i) => i >= 0);
        const cat = (xs: string[]): string => (xs.length === 1 ? xs[0] : g.one('Concat', xs, { axis: 1 }));
        return { x: cat(idx.map((i) => enc[i].tokens)), mask: cat(idx.map((i) => enc[i].mask)) };
      });
      const pooled = streams.map((st, s) => {
        const others = streams.length === 1 ? streams : streams.filter((_, j) => j !== s);
        const src = others.length === 1 ? others[0].x : g.one('Concat', others.map((o) => o.x), { axis: 1 });
        const srcMask = others.length === 1 ? others[0].mask : g.one('Concat', others.map((o) => o.mask), { axis: 1 });
        return emitMaskedMean(g, emitCrossModal(g, st.x, src, model.crossModal[s], keyMask4(g, srcMask)), st.mask);
      });
      rep = emitLinear(g, pooled.length === 1 ? pooled[0] : g.one('Concat', pooled, { axis: -1 }), model.streamProj!);
      break;
    }
    case 'latent': {
      const src = enc.length === 1 ? enc[0].tokens : g.one('Concat', enc.map((e) => e.tokens), { axis: 1 });
      const mask = enc.length === 1 ? enc[0].mask : g.one('Concat', enc.map((e) => e.mask), { axis: 1 });
      rep = g.one('ReduceMean', [emitPerceiver(g, src, model.perceiver!, keyMask4(g, mask))], { axes: [1], keepdims: 0 });
      break;
    }
  }
  const h = emitLayerNorm(g, rep, model.headNorm);
  const heads = model.heads;
  const wide = model.wide ? emitWide(g, model.wide) : undefined;
  return heads instanceof EnsembleHeads ? emitEnsembleHeads(g, h, heads, wide) : heads.heads.map((l, i) => (wide ? g.one('Add', [emitLinear(g, h, l), wide[i]]) : emitLinear(g, h, l)));
}

/**
 * The members' heads on rows [m·B, (m+1)·B) of h [k·B, C] (plus the wide part's outputs `wide`,
 * per target, if any), averaged in probability space as `ensembleOutputs` does: per target the raw output [B, outputs].
 */
function emitEnsembleHeads(g: Graph, h: string, heads: EnsembleHeads, wide?: string[]): string[] {
  const k = heads.k;
  const h3 = g.one('Reshape', [h, g.one('Concat', [g.ints('k', [k, -1]), g.one('Slice', [g.one('Shape', [h]), g.ints('start', [1]), g.ints('end', [2])])], { axis: 0 })]);  // [k, B, C]
  const rows = Array.from({ length: k }, (_, m) => g.one('Gather', [h3, g.const('member', BigInt64Array.from([BigInt(m)]), [])], { axis: 0 }));  // [B, C]
  return heads.targets.map((t, i) => {
    const member = (x: string, m: number): string => (wide ? g.one('Add', [emitLinear(g, x, heads.members[m].heads[i]), wide[i]]) : emitLinear(g, x, heads.members[m].heads[i]));
    return emitMeanOutput(g, t, rows.map((x, m) => member(x, m)));
  });
}

/** Members' raw outputs of target t (each [B, outputs]) → the ensemble's raw output, averaged in probability space as `ensembleOutputs` does. */
function emitMeanOutput(g: Graph, t: TargetInfo, members: string[]): string {
  const z = g.one('Concat', members.map((y) => g.one('Unsqueeze', [y, g.ints('axes', [0])])), { axis: 0 });   // [k, B, outputs]
  const lse = (x: string): string => g.one('ReduceLogSumExp', [x], { axes: [0], keepdims: 0 });
  if (t.task === 'regression') return g.one('ReduceMean', [z], { axes: [0], keepdims: 0 });
  if (t.task === 'multiclass') return g.one('Sub', [lse(g.one('LogSoftmax', [z], { axis: -1 })), g.scalar(Math.log(members.length))]);
  const neg = (x: string): string => g.one('Neg', [x]);
  return g.one('Sub', [lse(neg(g.one('Softplus', [neg(z)]))), lse(neg(g.one('Softplus', [z])))]);               // logit of the mean probability
}

/** The whole model: one input per field part, two outputs per target (see `fusionOnnxInputs`). */
const fusionModelOnnx: LayerExport<FusionModel> = {
  cls: FusionModel, options: () => ({}),
  plan: (g, m) => {
    for (const n of [...m.fields, ...m.targets].map((x) => x.name)) {
      if (n.includes('#')) throw new ConfigError(`exportOnnx: the name '${n}' contains '#', which the exporter keeps for internal value names; rename that field or target`);
    }
    const { inputs, outputs } = emitFusionModel(g, m);
    return { inputs, outputs: outputs.map((out) => ({ value: out.name, out })) };
  },
};

const i64 = (t: Tensor): BigInt64Array => BigInt64Array.from(t.data as Int32Array, (v) => BigInt(v));
const u8 = (t: Tensor): Uint8Array => Uint8Array.from(t.data as Uint8Array);

/**
 * The graph inputs of an exported `FusionModel` for one encoded batch (from
 * `EncodedDataset.batch` or `Preprocessor.encode(...).batch(...)`).
 *
 * @example
 * const feeds = Object.fromEntries(Object.entries(fusionOnnxInputs(model, batch)).map(([k, v]) => [k, new ort.Tensor(v.type, v.data, v.dims)]));
 * const out = await session.run(feeds);   // out['label.probability'].data
 */
export function fusionOnnxInputs(model: Pick<FusionModel, 'fields'>, batch: Batch): Record<string, OnnxInput> {
  const feeds: Record<string, OnnxInput> = {};
  const put = (name: string, type: OnnxInput['type'], t: Tensor): void => {
    feeds[name] = { type, data: type === 'float32' ? f32(t) : type === 'int64' ? i64(t) : u8(t), dims: [...t.shape] };
  };
  for (const f of model.fields) {
    const fb = batch.fields[f.name];
    if (!fb) throw new ValueError(`fusionOnnxInputs: the batch has no field '${f.name}' (fields: ${Object.keys(batch.fields).join(', ')})`);
    const tensors = fb as unknown as Record<string, Tensor>;
    for (const i of fieldKindOf(fb.kind).onnx) put(`${f.name}${i.suffix}`, i.dtype === 'float' ? 'float32' : i.dtype, tensors[i.key]);
  }
  return feeds;
}

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { FusionModel: fusionModelOnnx };
