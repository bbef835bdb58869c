/** ONNX emission of Dropout: the identity (export is inference). It keeps the key-mask input, so it can stand in for any block. */
import { sequenceLayer, type LayerExport } from '../onnx/graph/layerExport.js';
import { Dropout } from './dropout.js';

const dropoutOnnx: LayerExport<Dropout> = sequenceLayer(Dropout, { keyMask: true, widths: () => ({ C: null, out: null }), emit: (_g, x) => x });

/** This file's exportable classes by name, collected by src/onnx/registry.ts. */
export const onnx = { Dropout: dropoutOnnx };
