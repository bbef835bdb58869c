/**
 * The report as the page sees it: a structural copy of analysis/report.ts's JSON shape
 * (viz/ never imports the engine — the JSON is the only contract, and the browser test
 * checks the page against a real report).
 */
export interface Token { field: string; label: string }
export interface Sample {
  row: number; tokens: Token[]; target: string; prediction: string; layers: number[][][][]; rollout: number[]; gradAttention: number[];
  fields: { field: string; rollout: number; gradAttention: number }[];
}
export interface HeadStats { entropy: number; normEntropy: number; maxWeight: number; support: number; distance: number; entropyHist: number[]; distanceProfile: number[] }
export interface Report {
  version: 1;
  title: string;
  createdAt: string;
  model: { type: string; strategy?: string; layers: number; heads: number; parameters: number };
  note?: string;
  samples: Sample[];
  diagnostics: { heads: HeadStats[]; redundancy: number[][] }[] | null;
  entropyHistory: { epoch: number; entropy: number[][] }[];
  history: { epoch: number; trainLoss: number; validLoss: number | null }[];
  gates: Record<string, { names: string[]; values: number[] }>;
  metrics: Record<string, Record<string, number>> | null;
}

/** How the viewer and the CLI's logs name the split a run's records are of (ViewerRecords.split). */
export const SPLIT_NAMES = { test: 'test', valid: 'validation', train: 'training' } as const;
/** A run's splits by their keys in split.json. */
export type SplitName = keyof typeof SPLIT_NAMES;

/** `runs/<k>/records.json`: the test split's records (a structural copy of cli/viewerFiles.ts's ViewerRecords). */
export interface ViewerRecords {
  title: string;
  /** 'test', or for a run without test rows 'valid' (else 'train'); absent (= 'test') in older files. */
  split?: SplitName;
  rows: number[];
  records: Record<string, unknown>[];
  truth: Record<string, number[]>;
  classNames: Record<string, string[]>;
}
