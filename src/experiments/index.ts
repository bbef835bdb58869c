/** The reproduction suite's studies by name (`attnkit experiment <name>`; more arrive with the suite). */
import type { Experiment } from './types.js';
import { fusionExperiment } from './fusion.js';
import { scoringExperiment } from './scoring.js';
import { headsExperiment } from './heads.js';
import { poolingExperiment } from './pooling.js';
import { explanationsExperiment } from './explanations.js';
import { remediesExperiment } from './remedies.js';
import { efficientExperiment } from './efficient.js';
import { cnnExperiment } from './cnn.js';
import { hierarchicalExperiment } from './hierarchical.js';

export const EXPERIMENTS: Record<string, Experiment> = {
  [headsExperiment.name]: headsExperiment,
  [scoringExperiment.name]: scoringExperiment,
  [poolingExperiment.name]: poolingExperiment,
  [hierarchicalExperiment.name]: hierarchicalExperiment,
  [fusionExperiment.name]: fusionExperiment,
  [cnnExperiment.name]: cnnExperiment,
  [efficientExperiment.name]: efficientExperiment,
  [remediesExperiment.name]: remediesExperiment,
  [explanationsExperiment.name]: explanationsExperiment,
};
export type { Experiment, ExperimentOptions, ExperimentResult } from './types.js';
