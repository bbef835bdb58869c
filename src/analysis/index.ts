/** The `analysis` namespace: attention diagnostics, rollout, attributions and the report the viewer reads. */
export { layerStats, headRedundancy, entropyByHead } from './stats.js';
export type { HeadStats, LayerStats } from './stats.js';
export { rollout, gradTimesAttention } from './rollout.js';
export { clsRollout, clsGradAttention, predictedScore } from './clsRow.js';
export { buildReport, sampleReport, diagnostics, probeWeights, probeEntropy, tokenLabels, hasAttentionMaps, attentionShape } from './report.js';
export type { AttentionReport, SampleReport, ReportToken, EntropyPoint } from './report.js';
export { rowEntropy, entropyLoss, headDiversityLoss } from './regularizers.js';
