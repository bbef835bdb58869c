/**
 * ONNX export (opset 17, our protobuf writer): inference graphs with dynamic batch and sequence
 * axes, meant to be run by ONNX Runtime.
 *
 * Supported: every sequence layer of the attention family — Linear, LayerNorm, positional
 * encodings, MultiHeadAttention (rotary and ALiBi positions included), the Transformer encoder
 * layer and stack, sparse self-attention (sliding window, blocks, global tokens, as masks),
 * linear attention (elu or Performer features, causal or not), Linformer, and the composite
 * blocks (self-attention, convolution, feed-forward, local, linear, Transformer; Serial,
 * Parallel, Fusion) — and as whole models the poolings, the scoring-function layer,
 * cross-attention, decoders, the Perceiver, the hierarchical attention network and
 * `models.FusionModel` (see `fusionModel.ts` for its inputs). σReparam is folded into the
 * weights. Anything else is refused with an error naming the layer.
 *
 * Options: every exporter declares which export options its graph applies (and, where only
 * some values can be honoured, which values); any other option given is refused with an error
 * naming the option and the model, so no option is ever dropped silently.
 *
 * Masks: a query row with no key to attend to gives zeros, as in attnkit.
 */
import { ConfigError, ValueError, preview } from '../errors.js';
import { checkOptions, type OptionKeys } from '../config.js';
import { noGrad } from '../autograd/tape.js';
import type { Module } from '../nn/module.js';
import { MultiHeadAttention } from '../nn/attention/multihead.js';
import { FusionModel } from '../models/fusion.js';
import { AttentionPooling, GatedAttentionPooling } from '../nn/attention/pooling.js';
import { Attention } from '../nn/attention/scoring.js';
import { TransformerDecoder, TransformerDecoderLayer, TransformerEncoder } from '../nn/attention/transformer.js';
import { CrossModalLayer, CrossModalTransformer, PerceiverEncoder } from '../nn/attention/crossModal.js';
import { ContextAttention, HierarchicalAttentionNetwork } from '../nn/attention/hierarchical.js';
import { Graph, and, causalMask, emitLayerNorm, emitLinear, f32, keyMask4, unsupported } from './graph.js';
import {
  SEQUENCE_EMITTERS, emitCrossModal, emitCrossModalLayer, emitDecoderLayer, emitEncoder, emitEncoderLayer, emitMha, emitPerceiver,
  type SequenceEmitter, type SequenceLayerName,
} from './layers.js';
import { emitFusionModel } from './fusionModel.js';
import { emitContextAttention, emitGatedPooling, emitPooling, emitScores, maskedSoftmax } from './pooling.js';
import { encodeOnnxModel, type OnnxValue } from './proto.js';

export interface ExportOptions {
  /** Feature size C of the input x [batch, seq, C] of a sequence layer (read from the model when it can be). */
  inputDim?: number;
  /** Add the bool key-mask inputs (true = real token). Default true for layers that mix tokens. */
  keyMask?: boolean;
  /** MultiHeadAttention: export as cross-attention (inputs `x` and `source`) even when kDim = C. */
  cross?: boolean;
  /**
   * Causal self-attention (MultiHeadAttention, encoder layers and stacks, decoders): decoders
   * default true (as `forward`), the others false.
   */
  causal?: boolean;
  /** Attention (scoring): the width of `value` (default keyDim). */
  valueDim?: number;
}

/** The name of one export option. */
export type ExportOptionName = keyof ExportOptions;

/**
 * Every export option and the kind of value it takes. A mapped type over `ExportOptions`, so
 * a new option does not compile until it is listed here (and so checked and tested).
 */
export const EXPORT_OPTIONS: { readonly [K in ExportOptionName]-?: 'boolean' | 'width' } = {
  inputDim: 'width', keyMask: 'boolean', cross: 'boolean', causal: 'boolean', valueDim: 'width',
};

const OPTION_KEYS = Object.fromEntries(Object.keys(EXPORT_OPTIONS).map((k) => [k, true])) as OptionKeys<ExportOptions>;

/** The options an exporter applies: each with 'any' value, or only the values its graph can honour. */
export type OptionSupport = { readonly [K in ExportOptionName]?: 'any' | readonly NonNullable<ExportOptions[K]>[] };

/** What one export writes: graph inputs and outputs. */
interface Plan { inputs: OnnxValue[]; outputs: { value: string; out: OnnxValue }[] }

/** How one exportable model class exports: the options it applies and its graph. */
export interface Exporter<M extends Module> {
  cls: abstract new (...args: never[]) => M;
  /** The options the graph of `m` applies; any other option given is refused before emitting. */
  options(m: M): OptionSupport;
  plan(g: Graph, m: M, options: ExportOptions): Plan;
}
const exporter = <M extends Module>(e: Exporter<M>): Exporter<M> => e;

const seqIn = (name: string, seq: string, C: number): OnnxValue => ({ name, dtype: 'float', dims: ['batch', seq, C] });
const maskIn = (name: string, seq: string): OnnxValue => ({ name, dtype: 'bool', dims: ['batch', seq] });
const outOf = (value: string, name: string, dims: (number | string)[]): { value: string; out: OnnxValue } => ({ value, out: { name, dtype: 'float', dims } });
const maskOf = (g: Graph, name: string | null): string | null => name && keyMask4(g, name);

/** HAN with Transformer encoders: ids [batch, sentences, words] (int64), wordMask (bool) → y, wordWeights, sentenceWeights. */
function planHan(g: Graph, m: HierarchicalAttentionNetwork): Plan {
  if (!(m.wordEncoder instanceof TransformerEncoder) || !(m.sentenceEncoder instanceof TransformerEncoder)) {
    throw unsupported('HierarchicalAttentionNetwork', "with GRU encoders is not supported (encoder: 'transformer' exports)");
  }
  const E = m.options.embedDim, C = m.docDim;
  const BS = g.one('Slice', [g.one('Shape', ['ids']), g.ints('start', [0]), g.ints('end', [2])]);       // [B, S]
  const W = g.one('Slice', [g.one('Shape', ['ids']), g.ints('start', [2]), g.ints('end', [3])]);
  const flat = (x: string, tail: string[]): string => g.one('Reshape', [x, g.one('Concat', [g.ints('minus1', [-1]), ...tail], { axis: 0 })]);
  const words = flat(g.one('Gather', [g.const('embedding', f32(m.embedding), [...m.embedding.shape]), 'ids'], { axis: 0 }), [W, g.ints('e', [E])]); // [B·S, W, E]
  const wm = flat('wordMask', [W]);                                                                           // [B·S, W]
  const wordLevel = emitContextAttention(g, emitEncoder(g, words, m.wordEncoder, keyMask4(g, wm)), m.wordAttention, wm);
  const sentences = g.one('Reshape', [wordLevel.y, g.one('Concat', [BS, g.ints('c', [C])], { axis: 0 })]);  // [B, S, C]
  const sentReal = g.one('Cast', [g.one('ReduceMax', [g.one('Cast', ['wordMask'], { to: 1 })], { axes: [-1], keepdims: 0 })], { to: 9 }); // [B, S]
  const sentLevel = emitContextAttention(g, emitEncoder(g, sentences, m.sentenceEncoder, keyMask4(g, sentReal)), m.sentenceAttention, sentReal);
  const y = m.classifier ? emitLinear(g, sentLevel.y, m.classifier) : sentLevel.y;
  return {
    inputs: [{ name: 'ids', dtype: 'int64', dims: ['batch', 'sentences', 'words'] }, { name: 'wordMask', dtype: 'bool', dims: ['batch', 'sentences', 'words'] }],
    outputs: [
      outOf(y, 'y', ['batch', m.classifier ? m.classifier.outFeatures : C]),
      outOf(g.one('Reshape', [wordLevel.weights, g.one('Shape', ['ids'])]), 'wordWeights', ['batch', 'sentences', 'words']),
      outOf(sentLevel.weights, 'sentenceWeights', ['batch', 'sentences']),
    ],
  };
}

/** A sequence layer's options: its input width (when it fixes one) and the key mask (only `false` when it takes none). */
function sequenceOptions<M extends Module>(e: SequenceEmitter<M>, m: M): OptionSupport {
  const C = e.widths(m).C;
  return { inputDim: C == null ? 'any' : [C], keyMask: e.keyMask ? 'any' : [false] };
}

/**
 * A sequence layer as a whole model: `x` [batch, seq, C] (and `keyMask` when it takes one) →
 * `y`; `emit` (default the table's) gets the key-mask input's name.
 */
function sequencePlan<M extends Module>(g: Graph, m: M, e: SequenceEmitter<M>, options: ExportOptions, emit = e.emit): Plan {
  const keyMask = e.keyMask && (options.keyMask ?? true) ? 'keyMask' : null;
  const w = e.widths(m);
  // a layer that fixes no width (Dropout) keeps it a dynamic axis unless inputDim is given
  const inputDim = options.inputDim ?? w.C ?? 'features';
  const y = emit(g, 'x', m, keyMask);
  return {
    inputs: [{ name: 'x', dtype: 'float', dims: ['batch', 'seq', inputDim] }, ...(keyMask ? [maskIn(keyMask, 'seq')] : [])],
    outputs: [outOf(y, 'y', ['batch', 'seq', w.out ?? inputDim])],
  };
}

type ModuleOf<E> = E extends SequenceEmitter<infer M> ? M : never;

/** Every sequence layer of the emitter table, exported with the sequence options. */
const sequenceExporters = Object.fromEntries(Object.entries(SEQUENCE_EMITTERS).map(([name, e]: [string, SequenceEmitter<Module>]) => [name, exporter({
  cls: e.cls, options: (m) => sequenceOptions(e, m), plan: (g, m, o) => sequencePlan(g, m, e, o),
})])) as { [K in SequenceLayerName]: Exporter<ModuleOf<(typeof SEQUENCE_EMITTERS)[K]>> };

/** A sequence layer whose self-attention also takes `causal`: the causal mask joins the key mask. */
function causalSequence<M extends Module>(
  e: SequenceEmitter<M>, emit: (g: Graph, x: string, m: M, allowed: string | null) => string,
): Exporter<M> {
  return exporter<M>({
    cls: e.cls,
    options: (m) => ({ ...sequenceOptions(e, m), causal: 'any' }),
    plan: (g, m, o) => sequencePlan(g, m, e, o, (g2: Graph, x: string, m2: M, keyMask: string | null) => emit(g2, x, m2, and(g2, o.causal ? causalMask(g2, x) : null, maskOf(g2, keyMask)))),
  });
}

const selfMha = causalSequence(SEQUENCE_EMITTERS.MultiHeadAttention, (g, x, m, allowed) => emitMha(g, x, x, m, allowed));

/** Cross-attention (MultiHeadAttention, CrossModalLayer, CrossModalTransformer): `x`, `source`, `sourceKeyMask` → `y`. */
function crossPlan(g: Graph, C: number, sourceDim: number, options: ExportOptions, emit: (allowed: string | null) => string): Plan {
  const y = emit(options.keyMask ?? true ? keyMask4(g, 'sourceKeyMask') : null);
  return {
    inputs: [seqIn('x', 'seq', C), seqIn('source', 'sourceSeq', sourceDim), ...(options.keyMask ?? true ? [maskIn('sourceKeyMask', 'sourceSeq')] : [])],
    outputs: [outOf(y, 'y', ['batch', 'seq', C])],
  };
}

/** A decoder layer or stack: `x`, `memory`, `keyMask`, `memoryKeyMask` → `y`; causal unless `causal: false`. */
function decoderPlan(g: Graph, model: TransformerDecoderLayer | TransformerDecoder, options: ExportOptions): Plan {
  const C = model.options.dModel, masked = options.keyMask ?? true;
  const selfAllowed = and(g, options.causal ?? true ? causalMask(g, 'x') : null, masked ? keyMask4(g, 'keyMask') : null);
  const memAllowed = masked ? keyMask4(g, 'memoryKeyMask') : null;
  let y: string;
  if (model instanceof TransformerDecoderLayer) y = emitDecoderLayer(g, 'x', 'memory', model, selfAllowed, memAllowed);
  else {
    y = model.layers.reduce((h, l) => emitDecoderLayer(g, h, 'memory', l, selfAllowed, memAllowed), 'x');
    if (model.norm) y = emitLayerNorm(g, y, model.norm);
  }
  return {
    inputs: [seqIn('x', 'seq', C), seqIn('memory', 'memorySeq', C), ...(masked ? [maskIn('keyMask', 'seq'), maskIn('memoryKeyMask', 'memorySeq')] : [])],
    outputs: [outOf(y, 'y', ['batch', 'seq', C])],
  };
}

/** Pooling to one vector with weights: `x`, `keyMask` → `y` [batch, C], `weights` [batch, seq]. */
function poolingPlan(C: number, options: ExportOptions, emit: (mask: string | null) => { y: string; weights: string }): Plan {
  const masked = options.keyMask ?? true;
  const { y, weights } = emit(masked ? 'keyMask' : null);
  return { inputs: [seqIn('x', 'seq', C), ...(masked ? [maskIn('keyMask', 'seq')] : [])], outputs: [outOf(y, 'y', ['batch', C]), outOf(weights, 'weights', ['batch', 'seq'])] };
}

const keyMaskOnly: OptionSupport = { keyMask: 'any' };

/**
 * Every model class `exportOnnx` exports (first `instanceof` match wins): the sequence layers
 * of the emitter table, and the models with other inputs or outputs. The option tests walk
 * this table, so a model added here is tested with every option.
 */
export const EXPORTERS = {
  ...sequenceExporters,
  MultiHeadAttention: exporter({
    cls: MultiHeadAttention,
    // kDim ≠ C is cross-attention whatever `cross` says
    options: (m) => ({ ...selfMha.options(m), cross: m.kDim !== m.embedDim ? [true] : 'any' }),
    plan: (g, m, o) => (o.cross || m.kDim !== m.embedDim
      ? crossPlan(g, m.embedDim, m.kDim, o, (allowed) => emitMha(g, 'x', 'source', m, and(g, o.causal ? causalMask(g, 'x', 'source') : null, allowed)))
      : selfMha.plan(g, m, o)),
  }),
  TransformerEncoderLayer: causalSequence(SEQUENCE_EMITTERS.TransformerEncoderLayer, emitEncoderLayer),
  TransformerEncoder: causalSequence(SEQUENCE_EMITTERS.TransformerEncoder, emitEncoder),
  AttentionPooling: exporter({
    cls: AttentionPooling, options: () => keyMaskOnly,
    plan: (g, m, o) => {
      const masked = o.keyMask ?? true;
      const { y, dims } = emitPooling(g, 'x', m, masked ? keyMask4(g, 'keyMask') : null);
      return { inputs: [seqIn('x', 'seq', m.attn.embedDim), ...(masked ? [maskIn('keyMask', 'seq')] : [])], outputs: [outOf(y, 'y', dims)] };
    },
  }),
  GatedAttentionPooling: exporter({
    cls: GatedAttentionPooling, options: () => keyMaskOnly,
    plan: (g, m, o) => poolingPlan(m.options.inDim, o, (mask) => emitGatedPooling(g, 'x', m, mask)),
  }),
  ContextAttention: exporter({ cls: ContextAttention, options: () => keyMaskOnly, plan: (g, m, o) => poolingPlan(m.options.dim, o, (mask) => emitContextAttention(g, 'x', m, mask)) }),
  Attention: exporter({
    cls: Attention, options: () => ({ keyMask: 'any', valueDim: 'any' }),
    plan: (g, m, o) => {
      const masked = o.keyMask ?? true, Dv = o.valueDim ?? m.keyDim;
      const weights = maskedSoftmax(g, emitScores(g, 'query', 'key', m), masked ? g.one('Unsqueeze', ['keyMask', g.ints('axes', [1])]) : null);
      return {
        inputs: [seqIn('query', 'queries', m.queryDim), seqIn('key', 'keys', m.keyDim), seqIn('value', 'keys', Dv), ...(masked ? [maskIn('keyMask', 'keys')] : [])],
        outputs: [outOf(g.one('MatMul', [weights, 'value']), 'y', ['batch', 'queries', Dv]), outOf(weights, 'weights', ['batch', 'queries', 'keys'])],
      };
    },
  }),
  CrossModalLayer: exporter({
    cls: CrossModalLayer, options: () => keyMaskOnly,
    plan: (g, m, o) => crossPlan(g, m.options.dModel, m.options.sourceDim ?? m.options.dModel, o, (allowed) => emitCrossModalLayer(g, 'x', 'source', m, allowed)),
  }),
  CrossModalTransformer: exporter({
    cls: CrossModalTransformer, options: () => keyMaskOnly,
    plan: (g, m, o) => crossPlan(g, m.options.dModel, m.options.sourceDim ?? m.options.dModel, o, (allowed) => emitCrossModal(g, 'x', 'source', m, allowed)),
  }),
  TransformerDecoderLayer: exporter({ cls: TransformerDecoderLayer, options: () => ({ keyMask: 'any', causal: 'any' }), plan: decoderPlan }),
  TransformerDecoder: exporter({ cls: TransformerDecoder, options: () => ({ keyMask: 'any', causal: 'any' }), plan: decoderPlan }),
  PerceiverEncoder: exporter({
    cls: PerceiverEncoder, options: () => keyMaskOnly,
    plan: (g, m, o) => {
      const [N, C] = m.latents.shape as [number, number], masked = o.keyMask ?? true;
      const y = emitPerceiver(g, 'x', m, masked ? keyMask4(g, 'keyMask') : null);
      return { inputs: [seqIn('x', 'seq', m.options.inputDim), ...(masked ? [maskIn('keyMask', 'seq')] : [])], outputs: [outOf(y, 'y', ['batch', N, C])] };
    },
  }),
  // `wordMask` is always an input: the sentence mask is derived from it
  HierarchicalAttentionNetwork: exporter({ cls: HierarchicalAttentionNetwork, options: () => ({}), plan: (g, m) => planHan(g, m) }),
  FusionModel: exporter({
    cls: FusionModel, options: () => ({}),
    plan: (g, m) => {
      for (const n of [...m.fields, ...m.targets].map((x) => x.name)) {
        if (n.includes('#')) throw new ConfigError(`exportOnnx: the name '${n}' contains '#', which the exporter keeps for internal value names; rename that field or target`);
      }
      const { inputs, outputs } = emitFusionModel(g, m);
      return { inputs, outputs: outputs.map((out) => ({ value: out.name, out })) };
    },
  }),
};

/** The class names `exportOnnx` exports. */
export type ExportableName = keyof typeof EXPORTERS;

/** The exporter of `model`, or null. */
export function exporterOf(model: Module): Exporter<Module> | null {
  for (const e of Object.values(EXPORTERS) as Exporter<Module>[]) if (model instanceof e.cls) return e;
  return null;
}

/** Refuses an unknown option (ValueError), a value of the wrong type (ValueError), and any option `support` does not declare or a value it cannot honour (ConfigError). */
function checkExportOptions(name: string, support: OptionSupport, options: ExportOptions): void {
  checkOptions('exportOnnx', options, OPTION_KEYS);
  const applied = Object.keys(support).join(', ') || 'none';
  for (const [k, v] of Object.entries(options) as [string, unknown][]) {
    if (v === undefined) continue;
    const kind = EXPORT_OPTIONS[k as ExportOptionName];
    if (kind === 'boolean' ? typeof v !== 'boolean' : !(Number.isInteger(v) && (v as number) > 0)) {
      throw new ValueError(`exportOnnx: option '${k}' must be ${kind === 'boolean' ? 'a boolean' : 'a positive integer'}, got ${preview(v)}`);
    }
    const s = support[k as ExportOptionName];
    if (!s) throw new ConfigError(`exportOnnx: option '${k}' is not supported by ${name} (options it applies: ${applied})`);
    if (s !== 'any' && !(s as readonly unknown[]).includes(v)) {
      throw new ConfigError(`exportOnnx: option '${k}: ${preview(v)}' is not supported by ${name} (accepted: ${s.map((x) => preview(x)).join(', ')})`);
    }
  }
}

/**
 * Exports a model's inference graph. Batch and sequence lengths are dynamic axes.
 * - A sequence layer: `x` [batch, seq, C] (float) and, for layers that mix tokens, `keyMask`
 *   [batch, seq] (bool, true = real) → `y` [batch, seq, C′].
 * - AttentionPooling → `y` [batch, C] (one query) or [batch, Q, C]; GatedAttentionPooling and
 *   ContextAttention → `y` [batch, C] and `weights` [batch, seq].
 * - Attention (a scoring function): `query`, `key`, `value`, `keyMask` → `y`, `weights`.
 * - Cross-attention (MultiHeadAttention with `cross` or kDim ≠ C, CrossModalLayer,
 *   CrossModalTransformer): `x`, `source`, `sourceKeyMask` → `y`.
 * - TransformerDecoderLayer / TransformerDecoder: `x`, `memory`, `keyMask`, `memoryKeyMask` → `y`
 *   (causal self-attention unless `causal: false`).
 * - PerceiverEncoder: `x`, `keyMask` → latents `y` [batch, N, C].
 * - HierarchicalAttentionNetwork (Transformer encoders): `ids` int64 [batch, sentences, words],
 *   `wordMask` → `y`, `wordWeights`, `sentenceWeights`.
 * - FusionModel: one input per field part and two outputs per target (see `fusionOnnxInputs`).
 * The model is exported as in eval mode and left in the mode it was in.
 *
 * Options are applied as `forward` applies them (`causal: true` on MultiHeadAttention, encoder
 * layers and stacks: the causal mask, top-left aligned for cross-attention). An option the
 * model does not apply, or a value it cannot honour (`keyMask: true` on a Linear, `cross: false`
 * when kDim ≠ C, an `inputDim` other than the model's width), throws a ConfigError naming
 * the option and the model; a value of the wrong type throws a ValueError.
 *
 * @example
 * const bytes = exportOnnx(encoder);     // then: await ort.InferenceSession.create(bytes)
 * exportOnnx(mha, { causal: true });     // x [batch, seq, C], keyMask [batch, seq] → y, causal
 * exportOnnx(linear, { causal: true });  // ConfigError: option 'causal' is not supported by Linear
 */
export function exportOnnx(model: Module, options: ExportOptions = {}): Uint8Array {
  options ??= {};
  const e = exporterOf(model);
  const name = model.constructor.name;
  if (!e) throw unsupported(name, `is not supported (supported: ${Object.keys(EXPORTERS).join(', ')})`);
  checkExportOptions(name, e.options(model), options);
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      const g = new Graph();
      const plan = e.plan(g, model, options);
      const inputNames = new Set(plan.inputs.map((i) => i.name));
      for (const o of plan.outputs) {
        // an output that is an input (an identity layer) or another output needs its own node
        const value = inputNames.has(o.value) || plan.outputs.some((p) => p !== o && p.value === o.value) ? g.one('Identity', [o.value]) : o.value;
        g.rename(value, o.out.name);
      }
      return encodeOnnxModel({ name, nodes: g.nodes, inputs: plan.inputs, outputs: plan.outputs.map((o) => o.out), initializers: g.inits });
    });
  } finally {
    model.train(wasTraining);
  }
}

export { fusionOnnxInputs, type OnnxInput } from './fusionModel.js';
