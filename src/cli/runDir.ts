/**
 * A run directory: everything a training run saves, each file written atomically (a temp
 * file in the same folder, fsync, rename, fsync of the folder), so a process killed at any
 * moment leaves either the previous complete file or the new one — never a torn one.
 *
 *   config.json         the validated config (data path made absolute)
 *   preprocessor.json   the fitted preprocessing (vocabularies, statistics, classes)
 *   split.json          train / valid / test row indices
 *   model.safetensors   the best weights so far (lowest validation loss)
 *   last.safetensors    the resumable checkpoint: weights, optimiser buffers, trainer state
 *   metrics.jsonl       one line per epoch, then the test metrics
 *   result.json         the final summary
 *   entropy.jsonl       attention entropy per layer and head on probe rows, per epoch
 *   report.json         the attention report the viewer reads (attnkit inspect)
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError, DataError, clipText, previewList } from '../errors.js';
import { Generator } from '../tensor/random.js';
import type { PreprocessorState } from '../data/preprocessor.js';
import { Preprocessor } from '../data/preprocessor.js';
import { buildModel } from '../models/build.js';
import type { TaskModel } from '../models/heads.js';
import { decodeSafetensors } from '../tensor/safetensors.js';
import type { SplitName } from '../viz/report.js';
import { parseRunConfig, type RunConfig } from '../train/runConfig.js';

/** Called by writeFileAtomic between its complete temp file and the rename; none unless a test sets one. */
let beforeRename: ((path: string) => void) | null = null;

/**
 * Installs (or, with null, removes) a hook writeFileAtomic calls after its temp file is written
 * and before the rename — the worst moment a crash could pick. Only tests set one (the preload
 * test/cli/crashHook.ts kills the process there); the CLI itself never does.
 */
export function setBeforeRenameHook(hook: ((path: string) => void) | null): void {
  beforeRename = hook;
}

/**
 * Writes a file atomically: readers see the old content or the new, never a partial file.
 * `content` is the bytes, or a function that writes them in parts through `write` (a file too
 * large to hold in memory).
 */
export function writeFileAtomic(path: string, content: Uint8Array | string | ((write: (bytes: Uint8Array) => void) => void)): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'w', 0o644);
  try {
    const write = (bytes: Uint8Array): void => {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    };
    if (typeof content === 'function') content(write);
    else write(typeof content === 'string' ? Buffer.from(content) : content);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  closeSync(fd);
  beforeRename?.(path);
  renameSync(tmp, path);
  try { const dfd = openSync(dir, 'r'); fsyncSync(dfd); closeSync(dfd); } catch { /* directories cannot be fsynced on every platform */ }
}

/**
 * Removes `path` (a temporary file or folder, recursively) if the process is stopped by SIGINT
 * or SIGTERM before the returned `release()` is called; the signal then takes its usual course
 * (the process exits by it) unless another listener handles it. Node delivers signals between
 * event-loop turns, so this covers the asynchronous parts of a job.
 */
export function removeOnInterrupt(path: string): () => void {
  const handlers: [NodeJS.Signals, () => void][] = [];
  const release = (): void => { for (const [s, h] of handlers.splice(0)) process.removeListener(s, h); };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const handler = (): void => {
      rmSync(path, { recursive: true, force: true });
      release();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    handlers.push([signal, handler]);
    process.on(signal, handler);
  }
  return release;
}

export const RUN_FILES = {
  config: 'config.json', preprocessor: 'preprocessor.json', split: 'split.json', best: 'model.safetensors',
  last: 'last.safetensors', metrics: 'metrics.jsonl', result: 'result.json', entropy: 'entropy.jsonl', report: 'report.json',
  /** The test split's summary `attnkit inspect` computes (train.splitSummary), served to the viewer as dataset.json. */
  viewerDataset: 'viewer-dataset.json',
} as const;

/** writeFileAtomic's temp name for a run file, `.<file>.<pid>.<8 hex>.tmp`, and nothing else. */
const RUN_TEMP = new RegExp(`^\\.(${Object.values(RUN_FILES).map((f) => f.replace(/\./g, '\\.')).join('|')})\\.\\d+\\.[0-9a-f]{8}\\.tmp$`);

/** Leftover temp files of run-file writes a killed process never finished (other files in `dir` are left alone). */
export function removeStaleTemps(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir)) if (RUN_TEMP.test(f)) { unlinkSync(join(dir, f)); n++; }
  return n;
}

/**
 * A new run directory under `root` named `<name>-<UTC timestamp>` (or exactly `out`), holding
 * the run's config, fitted preprocessing and split. config.json is written last and marks the
 * run as created: a directory without it (a run killed while being created) holds no run, and
 * creating a run there again replaces what it holds; one with it is a run to `--resume`.
 */
export function createRunDir(options: { root?: string; out?: string; name?: string }, files: { config: RunConfig; preprocessor: PreprocessorState; split: SavedRun['split'] }): string {
  const dir = options.out ? resolve(options.out) : resolve(options.root ?? 'runs', `${options.name ?? 'run'}-${new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '')}`);
  if (existsSync(join(dir, RUN_FILES.config))) throw new ConfigError(`run directory '${dir}' already holds a run; resume it with --resume, or choose another --out`);
  mkdirSync(dir, { recursive: true });
  removeStaleTemps(dir);
  writeFileAtomic(join(dir, RUN_FILES.preprocessor), JSON.stringify(files.preprocessor) + '\n');
  writeFileAtomic(join(dir, RUN_FILES.split), JSON.stringify(files.split) + '\n');
  writeFileAtomic(join(dir, RUN_FILES.config), JSON.stringify(files.config, null, 2) + '\n');
  return dir;
}

function readJson(dir: string, file: string): unknown {
  const p = join(dir, file);
  if (!existsSync(p)) throw new DataError(`'${dir}' is not a complete run directory: ${file} is missing`);
  try { return JSON.parse(readFileSync(p, 'utf8')); } catch (e) { throw new DataError(`${p}: not valid JSON (${(e as Error).message})`); }
}

/**
 * The rows a run's report and viewer show: its test rows, or, for a split without any (`split.test: 0`),
 * its validation rows, or else its training rows.
 */
export function reportRows(split: { train: number[]; valid: number[]; test: number[] }): number[] {
  return split[reportSplit(split)];
}

/** Which split reportRows takes its rows from. */
export function reportSplit(split: { train: number[]; valid: number[]; test: number[] }): SplitName {
  return split.test.length ? 'test' : split.valid.length ? 'valid' : 'train';
}

/** What a run directory holds, read back and validated. */
export interface SavedRun {
  dir: string;
  config: RunConfig;
  preprocessorState: PreprocessorState;
  preprocessor: Preprocessor;
  split: { train: number[]; valid: number[]; test: number[] };
}

export function readRun(dir: string): SavedRun {
  const d = resolve(dir);
  if (!existsSync(d)) throw new ConfigError(`no such run directory '${dir}'`);
  if (!existsSync(join(d, RUN_FILES.config))) {
    // a folder of runs (runs/ as train names them) is not one: name the runs in it rather than suggest training into it
    const runs = statSync(d).isDirectory() ? readdirSync(d).filter((n) => existsSync(join(d, n, RUN_FILES.config))).sort() : [];
    if (runs.length) throw new ConfigError(`'${d}' is a folder of runs, not a run: give one of them (${previewList(runs.map((n) => `'${clipText(join(dir, n))}'`), 3, 200)})`);
    throw new ConfigError(`'${d}' holds no run yet: it has no ${RUN_FILES.config} (a run killed while it was being created, or not a run directory); start the run again with attnkit train <config> --out ${d}`);
  }
  const config = parseRunConfig(readJson(d, RUN_FILES.config));
  // runs saved before data.limitBy took a built-in dataset's first rows: they must reopen onto the same rows
  if (config.data.dataset && config.data.limit && !config.data.limitBy) config.data.limitBy = 'first';
  const preprocessorState = readJson(d, RUN_FILES.preprocessor) as PreprocessorState;
  const split = readJson(d, RUN_FILES.split) as SavedRun['split'];
  return { dir: d, config, preprocessorState, preprocessor: Preprocessor.fromState(preprocessorState), split };
}

/** The run's model with its best weights (model.safetensors). */
export function loadRunModel(run: SavedRun): TaskModel {
  const model = buildModel(run.config.model, run.preprocessor.fieldInfo(), run.preprocessor.targetInfo(), new Generator(run.config.seed ?? 0));
  const path = join(run.dir, RUN_FILES.best);
  if (!existsSync(path)) throw new DataError(`${run.dir}: no ${RUN_FILES.best} yet (the run saved no epoch)`);
  const { tensors } = decodeSafetensors(readFileSync(path), path);
  model.loadStateDict(tensors);
  model.eval();
  return model;
}
