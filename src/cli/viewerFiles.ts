/**
 * The files of the live attention viewer, for `attnkit inspect` (served) and `attnkit inspect
 * --export` (written to a folder): the page, its script (src/viz/app.ts bundled with
 * `attnkit/browser`, so the page runs the model itself), the package's wasm/ files, and per run
 * `runs/<k>/`: the config, the fitted preprocessing, the best weights, the report and the test
 * split's records (`records.json`, written here from the run's data) and the split's summary
 * (`dataset.json`: every row's prediction, attribution and entropy, computed here in Node by
 * train.splitSummary, with the functions the page uses, and written atomically to the run's
 * viewer-dataset.json), so the page runs its model only for the record it shows.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import { PAGE_HTML, WASM_BASE_GLOBAL } from '../viz/page.js';
import type { DataRecord } from '../data/preprocessor.js';
import { loadRunModel, readRun, RUN_FILES, writeFileAtomic, type SavedRun } from './runDir.js';
import { splitSummary, type DatasetSummary } from '../train/splitSummary.js';
import { reopen } from './runFile.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, '..', '..');

/** What the page reads for one run: `runs/<k>/records.json`. */
export interface ViewerRecords {
  title: string;
  /** Dataset row of each test record. */
  rows: number[];
  records: DataRecord[];
  /** The encoded truth per target: class index (binary 0/1) or the value (regression). */
  truth: Record<string, number[]>;
  /** Class names per classification target, in class order (binary: [negative, positive]). */
  classNames: Record<string, string[]>;
}

/** The test split's records of a saved run, with their truth and the targets' class names. */
export async function viewerRecords(saved: SavedRun): Promise<ViewerRecords> {
  const run = await reopen(saved);
  const rows = saved.split.test;
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
  return { title: saved.config.name ?? saved.dir, rows, records: rows.map((r) => run.records[r]), truth, classNames };
}

/**
 * The test split's summary of a saved run (train.splitSummary on this process's backend),
 * written atomically to `<run>/viewer-dataset.json`; returns that path. Computed again on each call
 * (the run's weights may have changed since).
 */
export function writeViewerSummary(saved: SavedRun, recs: ViewerRecords): { path: string; summary: DatasetSummary } {
  const pre = saved.preprocessor;
  const target = pre.targetInfo()[0];
  const summary = splitSummary(loadRunModel(saved), pre, recs.records, recs.classNames[target.name] ?? []);
  const path = join(saved.dir, RUN_FILES.viewerDataset);
  writeFileAtomic(path, JSON.stringify(summary));
  return { path, summary };
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
export async function viewerFiles(dirs: string[]): Promise<Map<string, string | { path: string }>> {
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
    const recs = await viewerRecords(saved);
    files.set(`runs/${k}/records.json`, JSON.stringify(recs));
    files.set(`runs/${k}/dataset.json`, { path: writeViewerSummary(saved, recs).path });
    runs.push({ id: String(k), title: recs.title });
  }
  files.set('runs.json', JSON.stringify({ runs }));
  return files;
}
