/** The reproduction suite's studies by name (`attnkit experiment <name>`; more arrive with the suite). */
import type { Experiment } from './types.js';
import { fusionExperiment } from './fusion.js';
import { scoringExperiment } from './scoring.js';

export const EXPERIMENTS: Record<string, Experiment> = {
  [scoringExperiment.name]: scoringExperiment,
  [fusionExperiment.name]: fusionExperiment,
};
export type { Experiment, ExperimentOptions, ExperimentResult } from './types.js';
