/**
 * Every class `exportOnnx` exports. Each class's entry (a typed `LayerExport`) is written beside
 * the class, in `<layer>.onnx.ts`, whose `onnx` record names the file's exportable classes; this
 * file imports each record explicitly, one line per file — no registration by import side
 * effect. A class added to a record is exported, and the option tests (a mapped type over
 * `ExportableName`) do not compile until it has a case. The exporter looks a model up by its
 * exact class: a subclass may change `forward`, so it is refused rather than exported as its base.
 */
import type { LayerExport } from './graph/layerExport.js';
import type { SequenceEmitter, SequenceLookup } from './graph/graph.js';
import { onnx as linear } from '../nn/linear.onnx.js';
import { onnx as layerNorm } from '../nn/layerNorm.onnx.js';
import { onnx as multihead } from '../nn/attention/multihead.onnx.js';
import { onnx as transformer } from '../nn/attention/transformer.onnx.js';
import { onnx as sparse } from '../nn/attention/sparse.onnx.js';
import { onnx as linearAttention } from '../nn/attention/linear.onnx.js';
import { onnx as blocks } from '../nn/composite/blocks.onnx.js';
import { onnx as serial } from '../nn/composite/serial.onnx.js';
import { onnx as parallel } from '../nn/composite/parallel.onnx.js';
import { onnx as fusion } from '../nn/composite/fusion.onnx.js';
import { onnx as dropout } from '../nn/dropout.onnx.js';
import { onnx as positional } from '../nn/attention/positional.onnx.js';
import { onnx as pooling } from '../nn/attention/pooling.onnx.js';
import { onnx as hierarchical } from '../nn/attention/hierarchical.onnx.js';
import { onnx as scoring } from '../nn/attention/scoring.onnx.js';
import { onnx as crossModal } from '../nn/attention/crossModal.onnx.js';
import { onnx as fusionModel } from '../models/fusion.onnx.js';

/** Every exportable class by name (the key is the class's name; a test checks it). */
export const EXPORTERS = {
  ...linear, ...layerNorm, ...multihead, ...transformer, ...sparse, ...linearAttention, ...blocks, ...serial, ...parallel, ...fusion,
  ...dropout, ...positional, ...pooling, ...hierarchical, ...scoring, ...crossModal, ...fusionModel,
};

/** The class names `exportOnnx` exports. */
export type ExportableName = keyof typeof EXPORTERS;

const BY_CLASS = new Map<unknown, LayerExport<object>>(Object.values(EXPORTERS).map((e) => [e.cls, e as unknown as LayerExport<object>]));

/** The export entry of `model`'s exact class, or null. */
export function exporterOf(model: object): LayerExport<object> | null {
  return BY_CLASS.get(model.constructor) ?? null;
}

const SEQUENCE_NAMES = (Object.values(EXPORTERS) as LayerExport<object>[]).filter((e) => e.sequence !== undefined).map((e) => e.cls.name);

/** The sequence layers, for a graph: a composite's children are emitted through it. */
export const SEQUENCE_LAYERS: SequenceLookup = {
  of: (m) => (exporterOf(m)?.sequence as SequenceEmitter<object> | undefined) ?? null,
  names: SEQUENCE_NAMES,
};
