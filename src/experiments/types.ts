/** The shape every study of the reproduction suite has: `attnkit experiment <name>` runs one. */
export interface ExperimentOptions {
  /** The small configuration: fewer seeds, epochs and rows (the whole suite stays within CI time). */
  quick: boolean;
  seeds?: number[];
  /** Progress lines (stderr). */
  log: (line: string) => void;
}

export interface ExperimentResult {
  /** Markdown for docs/EXPERIMENTS.md: settings, the measured table beside published numbers, the reading. */
  markdown: string;
  /** The raw measurements. */
  json: unknown;
}

export interface Experiment {
  name: string;
  /** Study number in the reproduction suite's issue. */
  study: number;
  title: string;
  run(options: ExperimentOptions): Promise<ExperimentResult>;
}
