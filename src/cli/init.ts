/**
 * `attnkit init <data file> --target <column>`: reads a sample of the file, types each column
 * from its contents (data.inferSchema) and writes a starter run config with a comment above each
 * field saying why it got its kind, and the training defaults written out.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, relative, resolve } from 'node:path';
import { ConfigError, DataError, clipText } from '../errors.js';
import { streamRecords, formatOf } from '../data/node/readers.js';
import { inferSchema, type InferredSchema } from '../data/infer.js';
import type { DataRecord } from '../data/preprocessor.js';
import type { TaskKind } from '../data/schema.js';
import { SPLIT_DEFAULTS } from '../data/dataset.js';
import { TRAIN_DEFAULTS } from '../train/trainOptions.js';
import { LBFGS_DEFAULTS } from '../train/lbfgs.js';
import { writeFileAtomic } from './runDir.js';

/** Rows `init` reads from a file at most (enough to type columns; the config trains on every row). */
export const INIT_SAMPLE_ROWS = 10_000;
/** `init` writes a 3-member independent ensemble for a file of at most this many rows (read whole): the tabular suite's finding. */
export const INIT_ENSEMBLE_MAX_ROWS = 5_000;

export interface InitOptions { target: string; out?: string; task?: TaskKind; force?: boolean; sample?: number; encoding?: 'utf-8' | 'latin1' }

export interface InitResult { config: string; text: string; rows: number; sampled: boolean; schema: InferredSchema }

const YAML_WORDS = /^(true|false|yes|no|on|off|null|y|n|~)$/i;

/** A YAML scalar: plain when that reads back as the same string, else JSON's double-quoted form (valid YAML). */
function scalar(x: string | number | boolean): string {
  if (typeof x !== 'string') return String(x);
  return /^[A-Za-z_][\w.-]*$/.test(x) && !YAML_WORDS.test(x) ? x : JSON.stringify(x);
}

/** Text for a `#` comment: a line break (a CSV header may hold one) would end the comment and break the YAML. */
const oneLine = (s: string): string => s.replace(/\r\n|[\r\n\u2028\u2029]/g, '\\n');

/** A shell word: as it is when plain, else single-quoted (so the printed commands run as shown). */
const shellWord = (s: string): string => (/^[\w./@%+=:,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

function flow(o: object): string {
  const part = (v: unknown): string => (Array.isArray(v) ? `[${v.map(part).join(', ')}]` : scalar(v as string));
  return `{ ${Object.entries(o).map(([k, v]) => `${k}: ${part(v)}`).join(', ')} }`;
}

/** Reads at most `limit` records (the readers' streaming, so a large file is not read whole). */
async function sample(path: string, limit: number, encoding?: 'utf-8' | 'latin1'): Promise<{ records: DataRecord[]; more: boolean }> {
  const records: DataRecord[] = [];
  let more = false;
  for await (const { record } of streamRecords(path, { limit: limit + 1, encoding })) {
    if (records.length === limit) { more = true; break; }
    records.push(record);
  }
  return { records, more };
}

/** The config text for an inferred schema (comments first, then each section). */
export function initConfigText(s: InferredSchema, o: { dataPath: string; name: string; command: string; sampled: boolean; file: string; onError: boolean; encoding?: 'latin1' }): string {
  const L: string[] = [];
  L.push(oneLine(`# Written by \`${o.command}\` from ${o.sampled ? `the first ${s.rows.toLocaleString('en-US')} rows of` : `all ${s.rows.toLocaleString('en-US')} rows of`} ${o.file}.`));
  L.push('# Each field\'s comment says why it got its kind (counts from those rows). Edit kinds and options, then:');
  L.push('#   attnkit train <this file>');
  L.push(`name: ${scalar(o.name)}`);
  L.push('seed: 0');
  L.push('data:');
  L.push(`  path: ${scalar(o.dataPath)}   # relative to this file's folder`);
  if (o.encoding) L.push(`  encoding: ${o.encoding}`);
  if (o.onError) L.push('  onError: skip   # rows without a target (or with a bad cell) are left out and listed');
  L.push('schema:');
  L.push('  fields:');
  for (const f of s.fields) {
    L.push(`    # ${oneLine(`${f.name}: ${f.reason}`)}`);
    if (f.spec) L.push(`    - ${flow(f.spec)}`);
    else L.push(`    # - { name: ${scalar(f.name)}, kind: categorical }`);
  }
  L.push('  targets:');
  L.push(`    # ${oneLine(`${s.target.spec.name}: ${s.target.reason}`)}`);
  L.push(`    - ${flow(s.target.spec)}`);
  L.push(`# rows held out: valid (early stopping, the best epoch) and test (the metrics printed at the end)${s.target.spec.task === 'regression' ? '' : ','}`);
  if (s.target.spec.task !== 'regression') L.push('# stratified by the target\'s classes');
  L.push(`split: { valid: ${SPLIT_DEFAULTS.valid}, test: ${SPLIT_DEFAULTS.test}${s.target.spec.task === 'regression' ? '' : ', stratify: true'} }`);
  L.push('# FT-Transformer-style early fusion: one token per numeric or categorical field, tokens per word or patch;');
  L.push('# try { type: mlp } or { type: linear } as baselines');
  if (!o.sampled && s.rows <= INIT_ENSEMBLE_MAX_ROWS) {
    L.push(`# a small table (${s.rows.toLocaleString('en-US')} rows, at most ${INIT_ENSEMBLE_MAX_ROWS.toLocaleString('en-US')}): three models from their own initial values, trained side by side`);
    L.push('# and averaged (a deep ensemble), at 3x the time of one; on the tabular suite (569-2,988 rows) it met');
    L.push('# the baselines on 4 tables of 5, one model on 2 (docs/EXPERIMENTS.md). Drop ensemble and ensembleMode for one model');
    L.push('model: { type: fusion, strategy: early, ensemble: 3, ensembleMode: independent }');
  } else {
    L.push('model: { type: fusion, strategy: early }');
  }
  L.push('# the trainer\'s defaults, written out: cosine schedule with warm-up (fraction of steps), gradient');
  L.push('# norm clipped; patience stops after that many epochs without a better validation loss. The optimiser');
  L.push('# and weight decay are left to the model (uncomment to pin them): AdamW for fusion and mlp, full-batch');
  L.push('# L-BFGS to the optimum for linear (the logistic / linear regression reference)');
  L.push('train:');
  L.push(`  epochs: ${TRAIN_DEFAULTS.epochs}`);
  L.push(`  batchSize: ${TRAIN_DEFAULTS.batchSize}`);
  L.push(`  lr: ${TRAIN_DEFAULTS.lr}`);
  L.push(`  # optimizer: ${TRAIN_DEFAULTS.optimizer}   # the default; model: linear defaults to lbfgs`);
  L.push(`  # weightDecay: ${TRAIN_DEFAULTS.weightDecay}   # AdamW's default; lbfgs: l2 ${LBFGS_DEFAULTS.l2}`);
  L.push(`  warmup: ${TRAIN_DEFAULTS.warmup}`);
  L.push(`  clipNorm: ${TRAIN_DEFAULTS.clipNorm}`);
  L.push(`  patience: ${TRAIN_DEFAULTS.patience}`);
  L.push('  # ema: 0.99   # validate and keep a moving average of the weights (off by default)');
  return L.join('\n') + '\n';
}

/**
 * Writes a starter config for `dataPath` predicting `target` (default `<data name>.yaml` beside
 * the data). Refuses to overwrite an existing file unless `force`.
 */
export async function initConfig(dataPath: string, o: InitOptions): Promise<InitResult> {
  if (!existsSync(dataPath)) throw new DataError(`init: no such data file '${dataPath}'`);
  if (statSync(dataPath).isDirectory()) throw new ConfigError(`init: '${dataPath}' is a directory, not a data file`);
  formatOf(dataPath);   // an unknown extension is a DataError before anything is read
  const out = o.out ?? resolve(dirname(dataPath), `${basename(dataPath, extname(dataPath))}.yaml`);
  if (existsSync(out) && statSync(out).isDirectory()) throw new ConfigError(`init: --out '${out}' is a directory; give the config file's path`);
  const limit = o.sample ?? INIT_SAMPLE_ROWS;
  const { records, more } = await sample(dataPath, limit, o.encoding);
  if (records.length === 0) throw new DataError(`init: '${dataPath}' holds no records (an empty file, or a header without rows)`);
  const schema = inferSchema(records, o.target, { task: o.task });
  const spec = schema.target.spec;
  if (spec.task === 'multiclass' && spec.classes!.length < 2) {
    const where = more ? `the first ${records.length} rows (the --sample read; a file sorted by its target shows one class first)` : `all ${records.length} row${records.length === 1 ? '' : 's'}`;
    throw new ConfigError(`init: target '${clipText(o.target)}' has one value ('${clipText(spec.classes![0])}') in ${where}: a classifier needs two classes or more; ${more ? 'pass a larger --sample, or ' : ''}check the --target column`);
  }
  // after the data and the target are checked, so a wrong --target is not hidden behind --force
  if (existsSync(out) && !o.force) throw new ConfigError(`init: '${out}' exists; pass --force to overwrite it, or --out another.yaml`);
  const dataRel = relative(dirname(resolve(out)), resolve(dataPath)) || basename(dataPath);
  const command = `attnkit init ${shellWord(basename(dataPath))} --target ${shellWord(o.target)}${o.task ? ` --task ${o.task}` : ''}`;
  const text = initConfigText(schema, {
    dataPath: dataRel, name: basename(dataPath, extname(dataPath)), command, sampled: more, file: basename(dataPath),
    onError: schema.target.missing > 0, ...(o.encoding === 'latin1' ? { encoding: 'latin1' as const } : {}),
  });
  mkdirSync(dirname(resolve(out)), { recursive: true });   // --out's folder may not exist yet
  writeFileAtomic(out, text);
  return { config: out, text, rows: records.length, sampled: more, schema };
}

/** `attnkit init`: writes the config and prints what it chose (or the result as JSON). */
export async function initCommand(dataPath: string, o: InitOptions & { json?: boolean }): Promise<number> {
  if (!o.target) throw new ConfigError('init: give the column to predict with --target <column>');
  const { json, ...rest } = o;
  const r = await initConfig(dataPath, rest);
  const fields = r.schema.fields.filter((f) => f.spec);
  const excluded = r.schema.fields.filter((f) => !f.spec);
  if (json) {
    process.stdout.write(`${JSON.stringify({
      config: r.config, rows: r.rows, sampled: r.sampled, target: r.schema.target.spec,
      fields: r.schema.fields.map((f) => ({ name: f.name, kind: f.spec?.kind ?? null, reason: f.reason })),
    })}\n`);
    return 0;
  }
  const byKind = new Map<string, number>();
  for (const f of fields) byKind.set(f.spec!.kind, (byKind.get(f.spec!.kind) ?? 0) + 1);
  const t = r.schema.target.spec;
  const lines = [
    `read ${r.rows.toLocaleString('en-US')} rows of ${dataPath}${r.sampled ? ` (a sample: the first ${r.rows.toLocaleString('en-US')}; the config trains on every row)` : ''}`,
    `target ${t.name}: ${t.task}${t.task === 'binary' ? `, positive class '${t.positive}'` : t.task === 'multiclass' ? ` with ${t.classes!.length} classes` : ''}`,
    `${fields.length} fields: ${[...byKind].map(([k, n]) => `${n} ${k}`).join(', ')}`,
    ...(excluded.length ? [`excluded: ${excluded.map((f) => `${f.name}: ${f.reason.replace(/^excluded: /, '')}`).join('; ')}`] : []),
    `wrote ${r.config}; each field's comment says why. Next: attnkit train ${shellWord(relative(process.cwd(), r.config) || r.config)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
