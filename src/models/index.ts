/** The `models` namespace: the fusion model, its field tokenizers, task heads and the baselines. */
export { FieldTokenizer } from './fieldTokenizers.js';
export type { FieldTokens } from './fieldTokenizers.js';
export { TaskHeads, taskLoss, modelLoss } from './heads.js';
export type { TaskModel, TaskOutputs } from './heads.js';
export { FusionModel, EnsembleHeads, ensembleOutputs, fusionConfigSchema, maskedMean } from './fusion.js';
export type { FusionModelConfig } from './fusion.js';
export { LinearModel, MLPModel, TextCNN, TCN, SmallCNN2d } from './baselines.js';
export { buildModel, modelConfigSchema } from './build.js';
export type { ModelConfig } from './build.js';
