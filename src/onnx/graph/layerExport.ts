/**
 * The contract of one exportable class (`LayerExport`), written beside the layer in
 * `<layer>.onnx.ts`: the export options its graph applies and the graph itself, plus how it
 * emits inside a composite when it is a sequence layer. The export options live here too, so
 * each emitter is typed against them. src/onnx/registry.ts collects the entries by class.
 */
import { and, causalMask, keyMask4, type Graph, type SequenceEmitter } from './graph.js';
import type { OnnxValue } from './proto.js';

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

/** The options an exporter applies: each with 'any' value, or only the values its graph can honour. */
export type OptionSupport = { readonly [K in ExportOptionName]?: 'any' | readonly NonNullable<ExportOptions[K]>[] };

/** What one export writes: graph inputs, and outputs (the value emitted and the graph output it becomes). */
export interface Plan { inputs: OnnxValue[]; outputs: { value: string; out: OnnxValue }[] }

/** How one exportable class exports. `M` is the class; its entry is found by the model's exact class. */
export interface LayerExport<M> {
  cls: abstract new (...args: never[]) => M;
  /** How it emits as a child of a composite (x [B, T, C] → [B, T, C′]); absent when it is no sequence layer. */
  sequence?: SequenceEmitter<M>;
  /** The options the graph of `m` applies; any other option given is refused before emitting. */
  options(m: M): OptionSupport;
  /** The whole-model graph of `m` under `options` (already checked against `options(m)`). */
  plan(g: Graph, m: M, options: ExportOptions): Plan;
}

export const seqIn = (name: string, seq: string, C: number): OnnxValue => ({ name, dtype: 'float', dims: ['batch', seq, C] });
export const maskIn = (name: string, seq: string): OnnxValue => ({ name, dtype: 'bool', dims: ['batch', seq] });
export const outOf = (value: string, name: string, dims: (number | string)[]): { value: string; out: OnnxValue } => ({ value, out: { name, dtype: 'float', dims } });

/** A sequence layer's options: its input width (when it fixes one) and the key mask (only `false` when it takes none). */
function sequenceOptions<M>(e: SequenceEmitter<M>, m: M): OptionSupport {
  const C = e.widths(m).C;
  return { inputDim: C == null ? 'any' : [C], keyMask: e.keyMask ? 'any' : [false] };
}

/**
 * A sequence layer as a whole model: `x` [batch, seq, C] (and `keyMask` when it takes one) →
 * `y`; `emit` (default the sequence emitter's) gets the key-mask input's name.
 */
function sequencePlan<M>(g: Graph, m: M, e: SequenceEmitter<M>, options: ExportOptions, emit = e.emit): Plan {
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

/** A sequence layer: exported whole with the sequence options (`inputDim`, `keyMask`), and inside composites. */
export function sequenceLayer<M>(cls: LayerExport<M>['cls'], sequence: SequenceEmitter<M>): LayerExport<M> {
  return { cls, sequence, options: (m) => sequenceOptions(sequence, m), plan: (g, m, o) => sequencePlan(g, m, sequence, o) };
}

/**
 * A sequence layer whose self-attention also takes `causal` when exported whole: the causal
 * mask joins the key mask ([B, 1, 1, T]) in `allowed`.
 */
export function causalSequenceLayer<M>(
  cls: LayerExport<M>['cls'], sequence: SequenceEmitter<M>, emit: (g: Graph, x: string, m: M, allowed: string | null) => string,
): LayerExport<M> {
  return {
    cls, sequence,
    options: (m) => ({ ...sequenceOptions(sequence, m), causal: 'any' }),
    plan: (g, m, o) => sequencePlan(g, m, sequence, o, (g2, x, m2, keyMask) => emit(g2, x, m2, and(g2, o.causal ? causalMask(g2, x) : null, keyMask && keyMask4(g2, keyMask)))),
  };
}

/** Cross-attention (MultiHeadAttention, CrossModalLayer, CrossModalTransformer): `x`, `source`, `sourceKeyMask` → `y`. */
export function crossPlan(g: Graph, C: number, sourceDim: number, options: ExportOptions, emit: (allowed: string | null) => string): Plan {
  const y = emit(options.keyMask ?? true ? keyMask4(g, 'sourceKeyMask') : null);
  return {
    inputs: [seqIn('x', 'seq', C), seqIn('source', 'sourceSeq', sourceDim), ...(options.keyMask ?? true ? [maskIn('sourceKeyMask', 'sourceSeq')] : [])],
    outputs: [outOf(y, 'y', ['batch', 'seq', C])],
  };
}

/** Pooling to one vector with weights: `x`, `keyMask` → `y` [batch, C], `weights` [batch, seq]. */
export function poolingPlan(C: number, options: ExportOptions, emit: (mask: string | null) => { y: string; weights: string }): Plan {
  const masked = options.keyMask ?? true;
  const { y, weights } = emit(masked ? 'keyMask' : null);
  return { inputs: [seqIn('x', 'seq', C), ...(masked ? [maskIn('keyMask', 'seq')] : [])], outputs: [outOf(y, 'y', ['batch', C]), outOf(weights, 'weights', ['batch', 'seq'])] };
}

/** The options of a layer that applies only `keyMask`. */
export const keyMaskOnly: OptionSupport = { keyMask: 'any' };
