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
 * `models.FusionModel` (see `models/fusion.onnx.ts` for its inputs). σReparam is folded into the
 * weights. Anything else is refused with an error naming the layer.
 *
 * Each exportable class's emission lives beside the class (`<layer>.onnx.ts`, a typed
 * `LayerExport`, listed in the file's `onnx` record); `registry.ts` collects the records, and a
 * model is exported by the entry of its exact class (a subclass is refused by name).
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
import { Graph, unsupported } from './graph/graph.js';
import { encodeOnnxModel } from './graph/proto.js';
import { EXPORT_OPTIONS, type ExportOptionName, type ExportOptions, type OptionSupport } from './graph/layerExport.js';
import { EXPORTERS, SEQUENCE_LAYERS, exporterOf } from './registry.js';

export { EXPORT_OPTIONS, type ExportOptionName, type ExportOptions, type LayerExport, type OptionSupport } from './graph/layerExport.js';
export { EXPORTERS, exporterOf, type ExportableName } from './registry.js';

const OPTION_KEYS = Object.fromEntries(Object.keys(EXPORT_OPTIONS).map((k) => [k, true])) as OptionKeys<ExportOptions>;

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
 *   `keyMask` → `y`, `wordWeights`, `sentenceWeights`.
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
      const g = new Graph(SEQUENCE_LAYERS);
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

export { fusionOnnxInputs, type OnnxInput } from '../models/fusion.onnx.js';
