/** Node-only data pieces: file readers and the built-in dataset adapters. */
export { readRecords, streamRecords, formatOf } from './readers.js';
export type { ReadOptions, RecordFormat, SourcedRecord } from './readers.js';
export {
  spamAssassin, cpsWages, penguins, sotu, usBirths, mnist, seattleWeather, movies, co2, sentimentSentences, splitEmail, messageStats, DATASETS, datasetPackageVersion,
} from './datasets.js';
export type { LoadedDataset } from './datasets.js';
