/** The `train` namespace: the fitting loop, predictions, evaluation and metrics. */
export { fit, evaluate, predict, meanLoss } from './fit.js';
export type { FitOptions, FitResult, EpochRecord, TargetMetrics } from './fit.js';
export { accuracy, macroF1, rocAuc, mae, rmse, r2 } from './metrics.js';
export { runConfigSchema, parseRunConfig, trainOnRecords } from './runConfig.js';
export type { RunConfig, RunResult } from './runConfig.js';
export { encodeSafetensors, decodeSafetensors, CheckpointError, MAX_HEADER_BYTES } from './safetensors.js';
export type { SafetensorsFile } from './safetensors.js';
