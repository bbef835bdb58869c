/**
 * The files of the live attention viewer, for `attnkit inspect` (served) and `attnkit inspect
 * --export` (written to a folder): the page, its script (src/viz/app.ts bundled with
 * `attnkit/browser`, so the page runs the model itself), the package's wasm/ files, and per run
 * `runs/<k>/`: the config, the fitted preprocessing, the best weights, the report, the test
 * split's records (`records.json`, from the run's data) and the split's summary (`dataset.json`:
 * every row's prediction, attribution and entropy, computed here in Node by train.splitSummary
 * with the functions the page uses), so the page runs its model only for the record it shows.
 * Records and summary are cached in the run's viewer-dataset.json, keyed by the hashes of the
 * weights, the run's files and the data (viewerData).
 */
import { VERSION } from '../version.js';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasetPackageVersion } from '../data/node/datasets.js';
import { ConfigError } from '../errors.js';
import { PAGE_HTML, WASM_BASE_GLOBAL } from '../viz/page.js';
import { SPLIT_NAMES, type SplitName } from '../viz/report.js';
import type { DataRecord } from '../data/preprocessor.js';
import { loadRunModel, readRun, reportRows, reportSplit, RUN_FILES, writeFileAtomic, type SavedRun } from './runDir.js';
import { splitSummary, type DatasetSummary } from '../train/splitSummary.js';
import { reopen } from './runFile.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, '..', '..');

/** What the page reads for one run: `runs/<k>/records.json`. */
export interface ViewerRecords {
  title: string;
  /** The split the records are of: the test split, or for a run without test rows its validation (else training) split (reportRows); absent in files from before, which were all 'test'. */
  split?: SplitName;
  /** Dataset row of each record. */
  rows: number[];
  records: DataRecord[];
  /** The encoded truth per target: class index (binary 0/1) or the value (regression). */
  truth: Record<string, number[]>;
  /** Class names per classification target, in class order (binary: [negative, positive]). */
  classNames: Record<string, string[]>;
}

/** The test split's records of a saved run (see reportRows for a split without), with their truth and the targets' class names. */
export async function viewerRecords(saved: SavedRun): Promise<ViewerRecords> {
  const run = await reopen(saved);
  const rows = reportRows(saved.split);
  const batch = run.dataset.batch(rows);
  const truth: Record<string, number[]> = {}, classNames: Record<string, string[]> = {};
  const schemaTargets = saved.preprocessorState.schema.targets;
  for (const t of saved.preprocessor.targetInfo()) {
    const y = batch.targets[t.name];
    truth[t.name] = y ? Array.from(y.data as ArrayLike<number>, (v) => (t.task === 'regression' && t.mean !== undefined ? v * t.std! + t.mean : v)) : [];
    if (t.task === 'multiclass') classNames[t.name] = t.classes!;
    else if (t.task === 'binary') {
      // the names the data gives (a run saved before binary targets kept their names has classes ['0', '1'])
      const positive = schemaTargets.find((s) => s.name === t.name)?.positive;
      if (positive === undefined) classNames[t.name] = t.classes ?? ['0', '1'];
      else {
        const other = run.records.map((r) => r[t.name]).find((v) => v !== null && v !== undefined && String(v) !== String(positive));
        classNames[t.name] = [other === undefined ? `not ${String(positive)}` : String(other), String(positive)];
      }
    }
  }
  return { title: runTitle(saved), split: reportSplit(saved.split), rows, records: rows.map((r) => run.records[r]), truth, classNames };
}

/** Bumped when the cached viewer data's shape or its computation changes: older caches are recomputed. */
const VIEWER_CACHE_VERSION = 3;   // 3: the sentiment dataset's classes are named (negative / positive)
/** The package's version (package.json at the package root: two levels above src/cli/ and dist/cli/). */
export const ATTNKIT_VERSION = VERSION;

const runTitle = (saved: SavedRun): string => saved.config.name ?? saved.dir;

/** `<run>/viewer-dataset.json`: the page's records and the split's summary, with the hashes they were computed from. */
interface ViewerCache { version: number; key: Record<string, string>; records: ViewerRecords; summary: DatasetSummary }

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/**
 * The data a run's records come from, fingerprinted without loading it: a data file's bytes
 * (sha256), or a built-in dataset's name, npm package and version (its records are fixed by them).
 */
function dataFingerprint(saved: SavedRun): string {
  const d = saved.config.data;
  const opts = JSON.stringify({ limit: d.limit ?? null, format: d.format ?? null, encoding: d.encoding ?? null, onError: d.onError ?? null });
  if (d.dataset) {
    const { package: pkg, version } = datasetPackageVersion(d.dataset);
    return sha256(`dataset ${d.dataset} ${pkg}@${version} ${opts}`);
  }
  const path = d.path!;
  return existsSync(path) && statSync(path).isFile() ? sha256(Buffer.concat([readFileSync(path), Buffer.from(opts)])) : sha256(`missing ${path}`);
}

/** What the cached viewer data depends on: the best weights, the preprocessing, config and split, and the data. */
function viewerCacheKey(saved: SavedRun): Record<string, string> {
  const file = (f: string): string => (existsSync(join(saved.dir, f)) ? sha256(readFileSync(join(saved.dir, f))) : 'none');
  return {
    weights: file(RUN_FILES.best), preprocessor: file(RUN_FILES.preprocessor), config: file(RUN_FILES.config), split: file(RUN_FILES.split),
    data: dataFingerprint(saved),
    // the code that turns data into records and summaries (a dataset adapter's labels, say) changes between versions
    attnkit: ATTNKIT_VERSION,
  };
}

function readCache(path: string, key: Record<string, string>): ViewerCache | null {
  if (!existsSync(path)) return null;
  try {
    const c = JSON.parse(readFileSync(path, 'utf8')) as ViewerCache;
    const same = c.version === VIEWER_CACHE_VERSION && Object.keys(key).length === Object.keys(c.key ?? {}).length && Object.entries(key).every(([k, v]) => c.key[k] === v);
    return same && c.records && c.summary ? c : null;
  } catch {
    return null;   // an unreadable cache is computed again
  }
}

/** Progress of a long step on stderr: a bar on a terminal, a line every 10 s otherwise. */
export type ViewerLog = (line: string) => void;

function summaryProgress(log: ViewerLog | undefined, what: string, split: string): ((done: number, total: number) => void) | undefined {
  if (!log) return undefined;
  const tty = Boolean(process.stderr.isTTY);
  let last = Date.now();
  const t0 = Date.now();
  return (done, total) => {
    const line = `${what}: ${done}/${total} ${split} rows (${((Date.now() - t0) / 1000).toFixed(0)} s)`;
    if (tty) process.stderr.write(`\r${line}${done === total ? '\n' : ''}`);
    else if (done === total || Date.now() - last > 10_000) { last = Date.now(); log(line); }
  };
}

/**
 * The page's data for a saved run: the test split's records (`records.json`) and the split's
 * summary (`dataset.json`, train.splitSummary on the backend of the process that computed it). Both are cached in
 * `<run>/viewer-dataset.json` (written atomically), keyed by the sha256 of the best weights, the
 * preprocessing, config and split files and the data (viewerCacheKey): a second call with
 * the same run and data reads them back at once; new weights or data compute them again.
 * `log` gets what it does (computing, with progress, or reading the cache).
 *
 * @example
 * const { records, summary, cached } = await viewerData(readRun('runs/spam-fusion-…'));
 */
export async function viewerData(saved: SavedRun, log?: ViewerLog): Promise<{ records: ViewerRecords; summary: DatasetSummary; cached: boolean; path: string }> {
  const path = join(saved.dir, RUN_FILES.viewerDataset);
  const key = viewerCacheKey(saved);
  const hit = readCache(path, key);
  if (hit) {
    log?.(`${saved.dir}: the ${SPLIT_NAMES[reportSplit(saved.split)]} split's summary for the viewer is cached (${RUN_FILES.viewerDataset}, same weights and data)`);
    // the title names the run's folder as given now (a run moved or opened by another path)
    return { records: { ...hit.records, title: runTitle(saved) }, summary: hit.summary, cached: true, path };
  }
  log?.(`${saved.dir}: computing the ${SPLIT_NAMES[reportSplit(saved.split)]} split's summary for the viewer (${reportRows(saved.split).length} rows; cached for the next time)…`);
  const records = await viewerRecords(saved);
  const target = saved.preprocessor.targetInfo()[0];
  const summary = splitSummary(loadRunModel(saved), saved.preprocessor, records.records, records.classNames[target.name] ?? [], 16, summaryProgress(log, saved.dir, SPLIT_NAMES[reportSplit(saved.split)]));
  const cache: ViewerCache = { version: VIEWER_CACHE_VERSION, key, records, summary };
  writeFileAtomic(path, JSON.stringify(cache));
  return { records, summary, cached: false, path };
}

/**
 * The page script: in a source checkout a fresh esbuild bundle of src/viz/app.ts (`attnkit/browser`
 * resolved to src/browser.ts); in the built package, dist/viz/app.js (scripts/build-viz.mjs).
 */
export async function viewerScript(): Promise<string> {
  const source = join(here, '..', 'viz', 'app.ts');
  if (existsSync(source)) {
    const esbuild = await import('esbuild');
    const r = await esbuild.build({ ...viewerBuildOptions(packageRoot), entryPoints: [source], write: false, logLevel: 'silent' });
    return r.outputFiles[0].text;
  }
  return readFileSync(join(here, '..', 'viz', 'app.js'), 'utf8');
}

/**
 * esbuild options shared with scripts/build-viz.mjs: `attnkit/browser` is this package's browser
 * entry; `import.meta.url` (used by the wasm loader to find wasm/) is the page's own folder, so the
 * page finds `wasm/` beside itself wherever it is served from.
 */
export function viewerBuildOptions(root: string): { bundle: true; format: 'esm'; platform: 'browser'; target: 'es2022'; alias: Record<string, string>; define: Record<string, string> } {
  return {
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    alias: { 'attnkit/browser': join(root, 'src', 'browser.ts') },
    define: { 'import.meta.url': `globalThis.${WASM_BASE_GLOBAL}` },
  };
}

/** The wasm/ files the page may fetch (name → path), or none when the package has no wasm build. */
export function wasmFiles(): Map<string, string> {
  const dir = join(packageRoot, 'wasm');
  const files = new Map<string, string>();
  if (!existsSync(dir)) return files;
  for (const f of readdirSync(dir)) if (/\.(wasm|mjs|js)$/.test(f)) files.set(f, join(dir, f));
  return files;
}

/** The run files the page reads from each run directory. */
export const VIEWER_RUN_FILES = [RUN_FILES.config, RUN_FILES.preprocessor, RUN_FILES.best, RUN_FILES.report] as const;

/**
 * Everything the viewer serves, as URL path (no leading slash) → content or file on disk.
 *
 * @example
 * const files = await viewerFiles(['runs/spam-fusion-…']);   // 'index.html', 'app.js', 'runs/0/model.safetensors', …
 */
export async function viewerFiles(dirs: string[], log?: ViewerLog): Promise<Map<string, string | { path: string }>> {
  if (dirs.length === 0) throw new ConfigError('inspect: give at least one run directory');
  const files = new Map<string, string | { path: string }>();
  files.set('index.html', PAGE_HTML);
  files.set('app.js', await viewerScript());
  for (const [name, path] of wasmFiles()) files.set(`wasm/${name}`, { path });
  const runs: { id: string; title: string }[] = [];
  for (const [k, dir] of dirs.entries()) {
    const saved = readRun(dir);
    for (const f of VIEWER_RUN_FILES) {
      const p = join(saved.dir, f);
      if (existsSync(p)) files.set(`runs/${k}/${f}`, { path: p });
      else if (f !== RUN_FILES.report) throw new ConfigError(`inspect: ${saved.dir} has no ${f} (a run that saved no epoch?)`);
    }
    const { records, summary } = await viewerData(saved, log);
    files.set(`runs/${k}/records.json`, JSON.stringify(records));
    files.set(`runs/${k}/dataset.json`, JSON.stringify(summary));
    runs.push({ id: String(k), title: records.title });
  }
  files.set('runs.json', JSON.stringify({ runs }));
  return files;
}
