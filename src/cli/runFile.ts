/**
 * Runs a config file (YAML or JSON) from Node: reads it, applies `--set key=value` overrides,
 * validates it, loads the data (a file through the readers, or a built-in dataset adapter)
 * and trains. The `attnkit train` command is a thin layer over this.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';
import { readRecords } from '../data/node/readers.js';
import { DATASETS } from '../data/node/datasets.js';
import { parseRunConfig, prepareRun, trainOnRecords, type PreparedRun, type RunConfig, type RunResult } from '../train/runConfig.js';
import type { SavedRun } from './runDir.js';
import type { DataRecord, RowOrigin, SkippedRow } from '../data/preprocessor.js';
import type { Schema } from '../data/schema.js';
import type { TrainerCallbacks } from '../train/trainer.js';

/** Sets `a.b.c=value` in a plain object (value parsed as YAML: numbers, booleans, lists…); returns the object. */
export function applyOverride(config: Record<string, unknown>, assignment: string): Record<string, unknown> {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set: expected key=value, got '${assignment}'`);
  const path = assignment.slice(0, eq).split('.');
  let value: unknown;
  try { value = parseYaml(assignment.slice(eq + 1)); } catch { value = assignment.slice(eq + 1); }
  let node: Record<string, unknown> = config;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (next === null || typeof next !== 'object' || Array.isArray(next)) throw new ConfigError(`--set ${assignment}: '${key}' is not an object in the config`);
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
  return config;
}

/** Reads and validates a config file with overrides; relative data paths resolve against the file's folder. */
export function loadRunConfig(path: string, overrides: string[] = []): RunConfig {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? `no such config file '${path}'` : code === 'EISDIR' ? `'${path}' is a directory, not a config file`
      : `cannot read the config file '${path}' (${(e as Error).message})`);
  }
  let raw: unknown;
  try { raw = parseYaml(text); } catch (e) { throw new ConfigError(`${path}: not valid YAML/JSON (${(e as Error).message.split('\n')[0]})`); }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${path}: a config must be a mapping of sections (data, schema, model, train…)`);
  for (const o of overrides) applyOverride(raw as Record<string, unknown>, o);
  const config = parseRunConfig(raw);
  if (config.data.path && !isAbsolute(config.data.path)) config.data.path = resolve(dirname(path), config.data.path);
  return config;
}

/** The records a config names: a file through the readers, or a built-in adapter (with its schema). */
export async function loadRecords(config: RunConfig): Promise<{ records: DataRecord[]; origins?: RowOrigin[]; schema?: Schema; skipped: SkippedRow[] }> {
  if (config.data.dataset) {
    const adapter = DATASETS[config.data.dataset];
    if (!adapter) throw new ConfigError(`data.dataset '${config.data.dataset}' is not a built-in dataset (${Object.keys(DATASETS).join(', ')})`);
    const loaded = adapter.load();
    return { records: config.data.limit ? loaded.records.slice(0, config.data.limit) : loaded.records, schema: loaded.schema, skipped: [] };
  }
  const path = config.data.path!;
  // a missing file or a directory is a mistake in the config, not in the data
  if (!existsSync(path)) throw new ConfigError(`data.path: no such file '${path}'`);
  if (statSync(path).isDirectory()) throw new ConfigError(`data.path: '${path}' is a directory, not a data file`);
  const { records, origins, skipped } = await readRecords(path, { format: config.data.format, onError: config.data.onError, limit: config.data.limit });
  return { records, origins, skipped };
}

/**
 * Loads the config's data and trains (no run directory; `attnkit train` adds one).
 *
 * @example
 * const run = await trainFromConfigFile('examples/configs/wages.yaml', { set: ['train.epochs=5'] });
 * console.log(run.metrics);
 */
export async function trainFromConfigFile(path: string, options: { set?: string[]; callbacks?: TrainerCallbacks } = {}): Promise<RunResult> {
  const config = loadRunConfig(path, options.set);
  const { records, origins, schema, skipped } = await loadRecords(config);
  const run = trainOnRecords(config, records, { schema, origins, callbacks: options.callbacks });
  return { ...run, skipped: [...skipped, ...run.skipped] };
}

/** A saved run prepared again: its data re-read and encoded with the saved preprocessing and split. */
export async function reopen(saved: SavedRun): Promise<PreparedRun> {
  const { records, origins, schema } = await loadRecords(saved.config);
  return prepareRun(saved.config, records, { schema, origins, preprocessor: saved.preprocessorState, split: saved.split });
}
