/**
 * Runs a config file (YAML or JSON) from Node: reads it, applies `--set key=value` overrides,
 * validates it, loads the data (a file through the readers, or a built-in dataset adapter)
 * and trains. The `attnkit train` command is a thin layer over this.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml, parseDocument } from 'yaml';
import { ConfigError, clipText } from '../errors.js';
import { MAX_CONFIG_DEPTH } from '../config.js';
import { readRecords } from '../data/node/readers.js';
import { classKey } from '../data/dataset.js';
import { DATASETS } from '../data/node/datasets.js';
import { parseRunConfig, prepareRun, trainOnRecords, type PreparedRun, type RunConfig, type RunResult } from '../train/runConfig.js';
import type { SavedRun } from './runDir.js';
import type { DataRecord, RowOrigin, SkippedRow } from '../data/preprocessor.js';
import type { Schema } from '../data/schema.js';
import type { TrainerCallbacks } from '../train/trainer.js';

/** Longest `--set key=value` accepted (parsing YAML is slow; a long value belongs in the file). */
const MAX_OVERRIDE_CHARS = 16_384;

/** Sets `a.b.c=value` in a plain object (value parsed as YAML: numbers, booleans, lists…); returns the object. */
export function applyOverride(config: Record<string, unknown>, assignment: string): Record<string, unknown> {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set: expected key=value, got '${assignment}'`);
  const path = assignment.slice(0, eq).split('.');
  // these would reach Object.prototype (and change every object in the process), not the config
  const bad = path.find((k) => k === '__proto__' || k === 'constructor' || k === 'prototype');
  if (bad) throw new ConfigError(`--set ${assignment.slice(0, 80)}: '${bad}' cannot be a config key`);
  if (assignment.length > MAX_OVERRIDE_CHARS) throw new ConfigError(`--set ${clipText(assignment, 40)}: ${assignment.length} characters; an override is at most ${MAX_OVERRIDE_CHARS} (put it in the config file)`);
  const deep = yamlDepthProblem(assignment.slice(eq + 1), MAX_CONFIG_DEPTH);
  if (deep) throw new ConfigError(`--set ${assignment.slice(0, 80)}: nested deeper than ${MAX_CONFIG_DEPTH} levels`);
  let value: unknown;
  try { value = parseYaml(assignment.slice(eq + 1), { logLevel: 'silent' }); } catch { value = assignment.slice(eq + 1); }
  let node: Record<string, unknown> = config;
  for (const key of path.slice(0, -1)) {
    const next = Object.hasOwn(node, key) ? node[key] : undefined;   // an inherited member (toString) is no section
    if (next === undefined) node[key] = {};
    else if (next === null || typeof next !== 'object' || Array.isArray(next)) throw new ConfigError(`--set ${assignment}: '${key}' is not an object in the config`);
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
  return config;
}

/** Largest config file read (64 KiB; real ones are a few KB): a bigger file is not a config, and parsing it would be slow. */
export const MAX_CONFIG_BYTES = 2 ** 16;

/**
 * An upper estimate of a YAML text's nesting, in one linear pass: open flow brackets outside
 * quotes and comments, plus the stack of block indentation levels, plus `- ` markers opening a
 * line. The YAML parser recurses per level and takes seconds on a few KB nested thousands deep
 * before it overflows the stack, so deeper texts are refused before it sees them.
 */
function yamlDepthProblem(text: string, max: number): string | null {
  const indents: number[] = [];
  let flow = 0, quote = '';
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    let i = 0;
    if (!quote && flow === 0) {
      while (line[i] === ' ') i++;
      if (i < line.length && line[i] !== '#') {
        while (indents.length && indents[indents.length - 1] >= i) indents.pop();
        indents.push(i);
        let dashes = 0;
        while (line.startsWith('- ', i + 2 * dashes) || line.startsWith('? ', i + 2 * dashes)) dashes++;
        if (indents.length + dashes > max) return `line ${n + 1}`;
      }
    }
    for (; i < line.length; i++) {
      const c = line[i];
      if (quote) { if (c === '\\' && quote === '"') i++; else if (c === quote) quote = ''; }
      else if (c === '"' || c === "'") quote = c;
      else if (c === '#' && (i === 0 || line[i - 1] === ' ' || line[i - 1] === '\t')) break;
      else if (c === '[' || c === '{') { if (++flow + indents.length > max) return `line ${n + 1}`; }
      else if (c === ']' || c === '}') flow = Math.max(0, flow - 1);
    }
  }
  return null;
}

/** Reads and validates a config file with overrides; relative data paths resolve against the file's folder. */
export function loadRunConfig(path: string, overrides: string[] = []): RunConfig {
  if (!existsSync(path)) throw new ConfigError(`no such config file '${path}'`);
  const st = statSync(path);
  if (st.isDirectory()) throw new ConfigError(`'${path}' is a directory, not a config file`);
  if (st.size > MAX_CONFIG_BYTES) throw new ConfigError(`'${path}' is ${st.size} bytes; a config file is at most ${MAX_CONFIG_BYTES} bytes (is it the data file?)`);
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) { throw new ConfigError(`cannot read the config file '${path}' (${(e as Error).message})`); }
  const deep = yamlDepthProblem(text, MAX_CONFIG_DEPTH);
  if (deep) throw new ConfigError(`${path}: nested deeper than ${MAX_CONFIG_DEPTH} levels at ${deep}`);
  let raw: unknown;
  // errors and warnings alike: an unresolved tag (`!fancy run`) would otherwise become a string silently
  const doc = parseDocument(text, { logLevel: 'silent' });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw new ConfigError(`${path}: not valid YAML/JSON (${problem.message.split('\n')[0]})`);
  try { raw = doc.toJS({ maxAliasCount: 100 }); } catch (e) { throw new ConfigError(`${path}: not valid YAML/JSON (${(e as Error).message.split('\n')[0]})`); }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${path}: a config must be a mapping of sections (data, schema, model, train…)`);
  for (const o of overrides) applyOverride(raw as Record<string, unknown>, o);
  const config = parseRunConfig(raw);
  if (config.data.path && !isAbsolute(config.data.path)) config.data.path = resolve(dirname(path), config.data.path);
  return config;
}

/**
 * `data.limit` of a built-in dataset with `limitBy: 'stratified'` (the default): the adapters list their
 * rows class by class (MNIST's zeros first, SpamAssassin's ham before its spam), so the first n rows could
 * hold one class. For a class target, each class keeps its share of the n rows (largest remainders),
 * the first rows of each in the adapter's order, and the rows stay in that order; otherwise the first n.
 */
export function limitRows(records: DataRecord[], schema: Schema, n: number): DataRecord[] {
  const target = schema.targets[0];
  if (!target || target.task === 'regression' || n >= records.length) return records.slice(0, n);
  const counts = new Map<string, number>();
  for (const r of records) {
    const k = classKey(r[target.name]);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const exact = [...counts].map(([k, c]) => ({ k, q: (n * c) / records.length }));
  const quota = new Map(exact.map(({ k, q }) => [k, Math.floor(q)]));
  let left = n - [...quota.values()].reduce((a, b) => a + b, 0);
  for (const { k } of [...exact].sort((a, b) => (b.q - Math.floor(b.q)) - (a.q - Math.floor(a.q)))) if (left-- > 0) quota.set(k, quota.get(k)! + 1);
  return records.filter((r) => {
    const k = classKey(r[target.name]), q = quota.get(k)!;
    if (q === 0) return false;
    quota.set(k, q - 1);
    return true;
  });
}

/** The records a config names: a file through the readers, or a built-in adapter (with its schema). */
export async function loadRecords(config: RunConfig): Promise<{ records: DataRecord[]; origins?: RowOrigin[]; schema?: Schema; skipped: SkippedRow[] }> {
  if (config.data.dataset) {
    const adapter = DATASETS[config.data.dataset];
    if (!adapter) throw new ConfigError(`data.dataset '${config.data.dataset}' is not a built-in dataset (${Object.keys(DATASETS).join(', ')})`);
    const loaded = adapter.load();
    const { limit, limitBy } = config.data;
    const records = !limit ? loaded.records : limitBy === 'first' ? loaded.records.slice(0, limit) : limitRows(loaded.records, loaded.schema, limit);
    return { records, schema: loaded.schema, skipped: [] };
  }
  const path = config.data.path!;
  // a directory is a mistake in the config (a missing file stays a DataError: the data may come later)
  if (existsSync(path) && statSync(path).isDirectory()) throw new ConfigError(`data.path: '${path}' is a directory, not a data file`);
  const { records, origins, skipped } = await readRecords(path, { format: config.data.format, onError: config.data.onError, limit: config.data.limit, encoding: config.data.encoding });
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
