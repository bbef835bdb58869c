/** The `train` namespace: the fitting loop, predictions, evaluation and metrics. */
export { fit } from './fit.js';
export { fitLbfgs, LBFGS_DEFAULTS } from './lbfgs.js';
export type { LbfgsOptions, LbfgsResult } from './lbfgs.js';
export type { FitOptions } from './fit.js';
export { evaluate, predict, predictionRecord, meanLoss, validationPass, formatMetrics, positiveClass } from './evaluate.js';
export type { TargetMetrics } from './evaluate.js';
export { splitSummary, describePrediction } from './splitSummary.js';
export type { DatasetSummary, Prediction } from './splitSummary.js';
export { Trainer, trainOptionsSchema, moduleGenerators, TRAIN_DEFAULTS } from './trainer.js';
export type { TrainOptions, TrainerCallbacks, EpochRecord, StepInfo, FitResult } from './trainer.js';
export { LrSchedule, scheduleSchema } from './schedules.js';
export type { ScheduleConfig, ScheduleState } from './schedules.js';
export { accuracy, classScores, macroF1, rocAuc, mae, rmse, r2 } from './metrics.js';
export type { ClassScores } from './metrics.js';
export { runConfigSchema, parseRunConfig, prepareRun, trainOnRecords } from './runConfig.js';
export type { RunConfig, RunResult, PreparedRun } from './runConfig.js';
export { encodeSafetensors, decodeSafetensors, CheckpointError, MAX_HEADER_BYTES, MAX_TENSORS, MAX_DIMS } from '../tensor/safetensors.js';
export type { SafetensorsFile } from '../tensor/safetensors.js';
