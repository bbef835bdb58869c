/** The CLI commands (main.ts parses arguments; these do the work and return exit codes). */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, clipText, previewList } from '../errors.js';
import { DATASETS } from '../data/node/datasets.js';
import { readRecords } from '../data/node/readers.js';
import { fieldCoverage } from '../data/validate.js';
import type { DataRecord } from '../data/preprocessor.js';
import { prepareRun, testMetrics, type PreparedRun } from '../train/runConfig.js';
import { evaluate, formatMetrics, predict, predictionRecord } from '../train/evaluate.js';
import type { EpochRecord } from '../train/trainer.js';
import { buildReport, hasAttentionMaps, probeEntropy, type EntropyPoint } from '../analysis/report.js';
import { exportViewer, startInspectServer } from './inspect.js';
import { EXPERIMENTS } from '../experiments/index.js';
import { loadRecords, loadRunConfig, reopen } from './runFile.js';
import { createRunDir, loadRunModel, readRun, removeStaleTemps, reportRows, RUN_FILES, writeFileAtomic } from './runDir.js';
import { encodeProgress, progressCallbacks } from './progress.js';
import { exportRun } from './exportRun.js';
import { exportPytorch, importWeights } from './pytorch/export.js';
import { encodeRun } from './pytorch/encode.js';
import { decodeSafetensors } from '../tensor/safetensors.js';

const out = (s: string): void => { process.stdout.write(`${s}\n`); };

function metricsLines(history: EpochRecord[], test?: Record<string, Record<string, number>> | null): string {
  return [...history.map((h) => JSON.stringify(h)), ...(test ? [JSON.stringify({ test })] : [])].join('\n') + '\n';
}

/** A saved run's data encoded again with its own preprocessing and split (nothing refitted). */

export interface TrainFlags { set?: string[]; out?: string; resume?: string; quiet?: boolean; json?: boolean }

export async function trainCommand(configPath: string | undefined, o: TrainFlags): Promise<number> {
  let run: PreparedRun, dir: string;
  if (o.resume) {
    if (configPath || o.set?.length) throw new ConfigError('train: --resume continues a saved run with its saved config; give no config file or --set with it');
    const saved = readRun(o.resume);
    run = await reopen(saved);
    dir = saved.dir;
    removeStaleTemps(dir);
    const last = join(dir, RUN_FILES.last), best = join(dir, RUN_FILES.best);
    const imported = existsSync(best) ? decodeSafetensors(readFileSync(best), best).metadata.imported : undefined;
    if (imported !== undefined) {
      throw new ConfigError(`train: --resume: ${dir}'s best weights were imported from ${imported} (attnkit import); resuming would continue attnkit's own training from its last checkpoint and replace them. Evaluate, predict or export the imported weights; to train further, train in PyTorch (train.py) and import again`);
    }
    if (existsSync(last)) run.trainer.resume(readFileSync(last), existsSync(best) ? readFileSync(best) : null, last);
    if (!o.quiet) process.stderr.write(`resuming ${dir} after epoch ${run.trainer.epoch}\n`);
  } else {
    if (!configPath) throw new ConfigError('train: give a config file (attnkit train config.yaml) or --resume <run>');
    if (o.out && existsSync(o.out) && !statSync(o.out).isDirectory()) throw new ConfigError(`train: --out '${o.out}' is a file; give a directory for the run (created if missing)`);
    const config = loadRunConfig(configPath, o.set);
    const { records, origins, schema, skipped } = await loadRecords(config);
    run = prepareRun(config, records, { schema, origins });
    run.skipped.unshift(...skipped);
    // the saved config records what the run used: the trainer's options with every default filled in
    // a built-in dataset's limit records how it took its rows (readRun reads a run without it as 'first')
    const data = config.data.dataset && config.data.limit ? { ...config.data, limitBy: config.data.limitBy ?? 'stratified' } : config.data;
    dir = createRunDir({ out: o.out, name: config.name }, { config: { ...config, data, seed: config.seed ?? 0, train: run.trainer.resolvedOptions() }, preprocessor: run.preprocessor.state(), split: run.split });
    if (!o.quiet) {
      process.stderr.write(`run ${dir}: ${run.split.train.length} train / ${run.split.valid.length} valid / ${run.split.test.length} test rows, ${run.model.numParameters().toLocaleString('en-US')} parameters\n`);
      if (run.skipped.length) process.stderr.write(`skipped ${run.skipped.length} malformed rows, first: ${run.skipped[0].reason}\n`);
      if (!run.split.valid.length) process.stderr.write('no validation rows: no early stopping, and the last epoch\'s weights are kept as the best (raise split.valid, or give more rows)\n');
      if (!run.split.test.length) process.stderr.write('no test rows: the run will report no test metrics (raise split.test, or give more rows; attnkit eval <run> --data <file> tests it later)\n');
    }
  }
  const { trainer } = run;
  // attention entropy per layer and head on fixed probe rows, after every epoch (kept across resumes)
  const probe = (run.split.valid.length ? run.split.valid : run.split.train).slice(0, 32);
  const entropyPath = join(dir, RUN_FILES.entropy);
  const entropy: EntropyPoint[] = existsSync(entropyPath)
    ? readFileSync(entropyPath, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as EntropyPoint).filter((p) => p.epoch <= trainer.epoch)
    : [];
  trainer.callbacks.push(progressCallbacks({ quiet: o.quiet || o.json, epochs: trainer.options.epochs }));
  trainer.callbacks.push({
    onEpochEnd: (r, t) => {
      writeFileAtomic(join(dir, RUN_FILES.metrics), metricsLines(t.history));
      const e = probeEntropy(run.model, run.dataset, probe);
      if (e) {
        entropy.push({ epoch: r.epoch, entropy: e });
        writeFileAtomic(entropyPath, entropy.map((p) => JSON.stringify(p)).join('\n') + '\n');
      }
    },
    onCheckpoint: (kind, bytes) => writeFileAtomic(join(dir, kind === 'best' ? RUN_FILES.best : RUN_FILES.last), bytes),
  });
  const result = trainer.run();
  const metrics = testMetrics(run);
  writeFileAtomic(join(dir, RUN_FILES.metrics), metricsLines(trainer.history, metrics));
  writeReport(dir, run, trainer.history, metrics, entropy);
  // class names in id order, so a reader knows what precision/recall/f1 (binary: of the positive class, the last) are of
  const classes = Object.fromEntries(run.model.targets.filter((t) => t.classes).map((t) => [t.name, t.classes!]));
  const summary = { run: dir, epochs: trainer.history.length, bestEpoch: result.bestEpoch, bestValidLoss: result.bestValidLoss, test: metrics, classes, skipped: run.skipped.length };
  writeFileAtomic(join(dir, RUN_FILES.result), JSON.stringify(summary, null, 2) + '\n');
  if (o.json) out(JSON.stringify(summary));
  else {
    if (metrics) {
      out(`test metrics (best epoch ${result.bestEpoch} of ${trainer.history.length}):`);
      out(formatMetrics(metrics, run.model.targets));
    } else out(`no test rows, so no test metrics (best epoch ${result.bestEpoch} of ${trainer.history.length})`);
    out(`run directory: ${dir}`);
    // from a source checkout the command is the npm script; installed, it is the attnkit binary
    const cmd = fileURLToPath(import.meta.url).endsWith('.ts') ? 'npm run attnkit -- inspect' : 'attnkit inspect';
    // a model without attention maps (linear, MLP, CNN…) still has its predictions, curves and metrics in the viewer
    out(hasAttentionMaps(run.model) ? `look at its attention: ${cmd} ${dir}` : `look at its predictions: ${cmd} ${dir}`);
  }
  return 0;
}

export async function evalCommand(runDir: string, o: { data?: string; json?: boolean; strict?: boolean; encoding?: 'utf-8' | 'latin1' }): Promise<number> {
  const saved = readRun(runDir);
  const model = loadRunModel(saved);
  let metrics: Record<string, Record<string, number>>;
  if (o.data) {
    const { records, origins } = await readRecords(o.data, { onError: saved.config.data.onError, encoding: o.encoding ?? saved.config.data.encoding });
    checkCoverage('eval', saved, records, o.data, o.strict);
    const { dataset, skipped } = saved.preprocessor.encode(records, { origins, onError: saved.config.data.onError });
    if (skipped.length) process.stderr.write(`skipped ${skipped.length} rows, first: ${skipped[0].reason}\n`);
    metrics = evaluate(model, dataset, Array.from({ length: dataset.size }, (_, i) => i));
  } else {
    if (!saved.split.test.length) throw new ConfigError(`eval: ${saved.dir} has no test rows (its split.test gave none); give rows to test on with --data <file>`);
    metrics = evaluate(model, (await reopen(saved)).dataset, saved.split.test);
  }
  out(o.json ? JSON.stringify(metrics) : formatMetrics(metrics, model.targets));
  return 0;
}

/**
 * A file's columns against the run's fields: a renamed column would be read as missing in every
 * row, without a word. Warns on stderr, or with `strict` throws a ConfigError (exit 2).
 */
function checkCoverage(command: 'eval' | 'predict', saved: ReturnType<typeof readRun>, records: readonly DataRecord[], input: string, strict?: boolean): void {
  const { absent, unknown } = records.length ? fieldCoverage(saved.preprocessor.fieldInfo(), records, saved.preprocessor.targetInfo()) : { absent: [], unknown: [] };
  if (!absent.length && !unknown.length) return;
  const list = (xs: string[], one: string, many: string): string => `${xs.length > 1 ? many : one} ${previewList(xs.map((x) => `'${clipText(x)}'`), 5, 90)}`;
  const problem = [
    ...(absent.length ? [`${list(absent, "the model's field", "the model's fields")} ${absent.length > 1 ? 'are' : 'is'} absent from every row of ${input} (${command === 'eval' ? 'evaluated' : 'predicted'} as missing)`] : []),
    ...(unknown.length ? [`${list(unknown, 'column', 'columns')} ${unknown.length > 1 ? 'are not fields' : 'is not a field'} of the model (ignored)`] : []),
  ].join('; ');
  if (strict) throw new ConfigError(`${command} --strict: ${problem}`);   // a usage error: main prints it, exit 2
  process.stderr.write(`attnkit ${command}: warning: ${problem}; --strict makes this an error\n`);
}

export async function predictCommand(runDir: string, input: string, o: { out?: string; strict?: boolean; encoding?: 'utf-8' | 'latin1' }): Promise<number> {
  const saved = readRun(runDir);
  const model = loadRunModel(saved);
  const { records, origins } = await readRecords(input, { encoding: o.encoding ?? saved.config.data.encoding });
  checkCoverage('predict', saved, records, input, o.strict);
  const { dataset } = saved.preprocessor.encode(records, { origins, targets: false });
  const rows = Array.from({ length: dataset.size }, (_, i) => i);
  const preds = predict(model, dataset, rows);
  const targets = saved.preprocessor.targetInfo();
  const lines = rows.map((i) => {
    const rec = { row: i, ...(origins[i]?.line !== undefined ? { line: origins[i].line } : {}), ...predictionRecord(targets, preds, i) };
    return JSON.stringify(rec);
  });
  if (o.out) {
    writeFileAtomic(o.out, lines.join('\n') + '\n');
    process.stderr.write(`${lines.length} predictions written to ${o.out}\n`);
  } else out(lines.join('\n'));
  return 0;
}

export async function exportCommand(runDir: string, outPath: string, o: { verify?: boolean; json?: boolean; format?: 'onnx' | 'pytorch' }): Promise<number> {
  if (o.format === 'pytorch') {
    if (o.verify) throw new ConfigError('export --format pytorch: --verify checks ONNX graphs; the PyTorch project is checked by its tests (test/cli/pytorch*.test.ts)');
    const r = exportPytorch(runDir, outPath);
    if (o.json) out(JSON.stringify(r));
    else out(`wrote ${r.files.join(', ')} to ${r.dir} (${r.parameters.toLocaleString('en-US')} parameters); see ${join(r.dir, 'README.md')}`);
    return 0;
  }
  const r = await exportRun(runDir, outPath, { verify: o.verify });
  if (o.json) out(JSON.stringify(r));
  else {
    out(`wrote ${r.onnx} (${(r.bytes / 1024).toFixed(1)} KiB) and ${r.sidecar}`);
    if (r.verified) out(`verified in onnxruntime-node on ${r.verified.rows} test rows: max |ONNX − attnkit| = ${r.verified.maxAbsError.toExponential(2)}`);
  }
  return 0;
}

export async function encodeCommand(runDir: string, data: string, outPath: string, o: { shards?: string; chunk?: string; quiet?: boolean; json?: boolean; encoding?: 'utf-8' | 'latin1' }): Promise<number> {
  const shards = Number(o.shards ?? 1), chunkRows = Number(o.chunk ?? 4096);
  if (!Number.isInteger(shards) || shards < 1) throw new ConfigError(`encode: --shards must be a positive integer, got '${o.shards}'`);
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new ConfigError(`encode: --chunk must be a positive integer, got '${o.chunk}'`);
  const bar = o.quiet || o.json ? null : encodeProgress();
  const r = await encodeRun(runDir, data, outPath, { shards, chunkRows, encoding: o.encoding, onProgress: bar?.update });
  bar?.stop();
  if (o.json) out(JSON.stringify(r));
  else {
    out(`encoded ${r.rows} rows${r.skipped ? ` (${r.skipped} skipped)` : ''}${r.targets ? ' with targets' : ' without targets'} into ${r.files.length === 1 ? r.files[0] : `${r.files.length} shards: ${r.files[0]} …`}`);
    for (const [name, t] of Object.entries(r.tensors)) out(`  ${name}  ${t.dtype} [N${t.shape.map((d) => `, ${d}`).join('')}]`);
  }
  return 0;
}

export async function importCommand(weights: string, runDir: string, o: { json?: boolean }): Promise<number> {
  const r = importWeights(weights, runDir);
  if (o.json) out(JSON.stringify(r));
  else out(`imported ${r.from} into ${r.run} (${r.parameters.toLocaleString('en-US')} parameters); now attnkit eval / predict / inspect / export use these weights`);
  return 0;
}

export function datasetsCommand(o: { json?: boolean }): number {
  const list = Object.entries(DATASETS).map(([name, d]) => ({ name, package: d.package, description: d.description }));
  if (o.json) out(JSON.stringify(list));
  else for (const d of list) out(`${d.name.padEnd(14)} ${d.description}  (npm package ${d.package})`);
  return 0;
}

/** Writes report.json: sample maps and diagnostics on test rows, curves, entropy history, gates, metrics. */
function writeReport(dir: string, run: PreparedRun, history: EpochRecord[], metrics: Record<string, Record<string, number>> | null, entropyHistory: EntropyPoint[]): void {
  const rows = reportRows(run.split);
  const report = buildReport({
    title: run.config.name ?? dir, model: run.model, state: run.preprocessor.state(), dataset: run.dataset,
    rows: rows.slice(0, 4), probeRows: rows.slice(0, 32), records: run.records, history, entropyHistory, metrics,
  });
  writeFileAtomic(join(dir, RUN_FILES.report), JSON.stringify(report) + '\n');
}

export async function inspectCommand(runDirs: string[], o: { port?: string; host?: string; export?: string }): Promise<number> {
  if (runDirs.length > 2) throw new ConfigError(`inspect: give one run, or two to compare side by side (got ${runDirs.length})`);
  const saved = runDirs.map((d) => readRun(d));
  for (const s of saved) {
    if (existsSync(join(s.dir, RUN_FILES.report))) continue;
    process.stderr.write(`building the attention report of ${s.dir}…\n`);
    const model = loadRunModel(s);
    const run = await reopen(s);
    const lines = existsSync(join(s.dir, RUN_FILES.metrics)) ? readFileSync(join(s.dir, RUN_FILES.metrics), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)) : [];
    const history = lines.filter((l) => typeof l.epoch === 'number') as EpochRecord[];
    const test = lines.find((l) => l.test)?.test ?? testMetrics({ model, dataset: run.dataset, split: s.split });
    writeReport(s.dir, { ...run, model }, history, test, []);
  }
  const log = (line: string): void => { process.stderr.write(`${line}\n`); };
  if (o.export !== undefined) {
    const r = await exportViewer(saved.map((s) => s.dir), o.export, { log });
    out(`wrote the viewer (${r.files} files) to ${r.dir}: serve that folder with any static file server; the model runs in the page`);
    return 0;
  }
  const port = o.port === undefined ? 7801 : Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`inspect: --port must be an integer in [0, 65535], got '${o.port}'`);
  const server = await startInspectServer({ dirs: saved.map((s) => s.dir), port, host: o.host, log });
  out(`attnkit viewer for ${saved.map((s) => s.dir).join(' and ')}: ${server.url}  (Ctrl-C to stop)`);
  await new Promise<void>((res) => process.once('SIGINT', () => { void server.close().then(res); }));
  return 0;
}

/**
 * Runs the benchmark (bench/run.ts; it needs the repository's dev dependencies — the peers —
 * so it lives in a clone, not in the published package). Arguments pass through.
 */
export async function benchCommand(args: string[]): Promise<number> {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = [join(here, '..', '..'), process.cwd()].find((d) => existsSync(join(d, 'bench', 'run.ts')));
  if (!root) throw new ConfigError('bench: the benchmark runs from a clone of the attnkit repository (bench/run.ts and its peers are dev dependencies); run `npm run bench` there');
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'run.ts'), ...args], { stdio: 'inherit', cwd: root });
  return new Promise((res) => child.on('close', (c) => res(c ?? 1)));
}

const EXPERIMENTS_DOC = 'docs/EXPERIMENTS.md';

/** Replaces (or appends) the section of one experiment in the experiments document, between its markers. */
export function upsertSection(doc: string, name: string, body: string): string {
  const begin = `<!-- experiment:${name} -->`, end = `<!-- /experiment:${name} -->`;
  const block = `${begin}\n${body.trim()}\n${end}`;
  const i = doc.indexOf(begin), j = doc.indexOf(end);
  if (i >= 0 && j > i) return doc.slice(0, i) + block + doc.slice(j + end.length);
  return `${doc.trimEnd()}\n\n${block}\n`;
}

/** The document with its marked study sections in the given order (text before the first section kept). */
export function orderSections(doc: string, order: string[]): string {
  const re = /<!-- experiment:([\w-]+) -->[\s\S]*?<!-- \/experiment:\1 -->/g;
  const blocks = new Map<string, string>();
  for (const m of doc.matchAll(re)) blocks.set(m[1], m[0]);
  if (blocks.size === 0) return doc;
  const head = doc.slice(0, doc.search(/<!-- experiment:/)).trimEnd();
  const names = [...order.filter((n) => blocks.has(n)), ...[...blocks.keys()].filter((n) => !order.includes(n))];
  return `${head}\n\n${names.map((n) => blocks.get(n)).join('\n\n')}\n`;
}

/** `attnkit experiment <name|all>`: runs studies, prints their tables; full runs update docs/EXPERIMENTS.md (or --out). */
export async function experimentCommand(name: string, o: { quick?: boolean; seeds?: string; out?: string; json?: boolean }): Promise<number> {
  const names = name === 'all' ? Object.keys(EXPERIMENTS) : [name];
  for (const n of names) if (!EXPERIMENTS[n]) throw new ConfigError(`experiment: no study '${n}' (available: ${Object.keys(EXPERIMENTS).join(', ')}, all)`);
  const seeds = o.seeds?.split(',').map((x) => Number(x));
  if (seeds?.some((x) => !Number.isInteger(x))) throw new ConfigError(`experiment: --seeds must be integers separated by commas, got '${o.seeds}'`);
  const docPath = o.out ?? (o.quick ? undefined : EXPERIMENTS_DOC);
  for (const n of names) {
    const e = EXPERIMENTS[n];
    const t0 = Date.now();
    const r = await e.run({ quick: Boolean(o.quick), seeds, log: (l) => process.stderr.write(`${l}\n`) });
    const minutes = ((Date.now() - t0) / 60000).toFixed(1);
    const body = `## Study ${e.study}: ${e.title}\n\n\`attnkit experiment ${n}${o.quick ? ' --quick' : ''}\` (${minutes} min on the machine that ran it).\n\n${r.markdown}`;
    if (o.json) process.stdout.write(`${JSON.stringify({ experiment: n, ...r as object })}\n`);
    else out(body);
    if (docPath) {
      const doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '# Experiments\n\nEach study of the reproduction suite, as `attnkit experiment <name>` last measured it.\n';
      const order = Object.values(EXPERIMENTS).sort((a, b) => a.study - b.study).map((x) => x.name);
      writeFileAtomic(docPath, orderSections(upsertSection(doc, n, body), order));
      process.stderr.write(`${docPath} updated\n`);
    }
  }
  return 0;
}
