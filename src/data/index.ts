/** The `data` namespace: schemas, fitted encoders, encoded datasets and batches (browser-safe). */
export { parseSchema, DEFAULT_MISSING } from './schema.js';
export type { Schema, FieldSpec, FieldKind, TargetSpec, TaskKind } from './schema.js';
export { NumericEncoder, CategoricalEncoder, normalQuantile, MISSING_ID, UNKNOWN_ID } from './tabular.js';
export type { NumericCell, NumericState, CategoricalState } from './tabular.js';
export { tokenize, Vocabulary, TextFieldEncoder, KeyValueEncoder, parsePairs, PAD_ID, UNK_ID, KEY_MARKER_ID } from './text.js';
export type { TextState, KeyValueCell, KeyValueState } from './text.js';
export { SeriesEncoder, ImageEncoder } from './patches.js';
export type { SeriesCell, SeriesState } from './patches.js';
export { Preprocessor } from './preprocessor.js';
export type { DataRecord, RowOrigin, EncodeOptions, SkippedRow, FieldInfo, TargetInfo, PreprocessorState } from './preprocessor.js';
export { EncodedDataset, splitIndices } from './dataset.js';
export type { Column, FieldBatch, TargetColumn, Batch, SplitOptions } from './dataset.js';
export { recordSchema, validateRecords, fieldCoverage } from './validate.js';
