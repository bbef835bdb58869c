/**
 * `attnkit export <run> model.onnx`: the run's best fusion model as an ONNX graph, plus the
 * sidecar `model.attnkit.json` a server needs to turn raw records into the graph's inputs (the
 * fitted preprocessing, the model's fields and targets, the graph's inputs and outputs).
 * `--verify` runs the graph in onnxruntime-node (when installed) on the run's test rows and
 * compares every output with attnkit's own.
 */
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { noGrad } from '../autograd/tape.js';
import { FusionModel } from '../models/fusion.js';
import { predict } from '../train/evaluate.js';
import type { FieldInfo, PreprocessorState, TargetInfo } from '../data/preprocessor.js';
import { exportOnnx, fusionOnnxInputs } from '../onnx/export.js';
import { DERIVED_OUTPUT } from '../models/fusion.onnx.js';
import { loadRunModel, readRun, writeFileAtomic } from './runDir.js';
import { reopen } from './runFile.js';

/** What `model.attnkit.json` holds. */
export interface OnnxSidecar {
  format: 'attnkit-onnx';
  version: 1;
  model: 'FusionModel';
  /** The run it came from and when. */
  run: string;
  exportedAt: string;
  preprocessor: PreprocessorState;
  /** The fields the model reads (its `sources` may have left some out), in graph-input order. */
  fields: FieldInfo[];
  targets: TargetInfo[];
}

/** `model.onnx` → `model.attnkit.json` (same folder). */
export function sidecarPath(onnxPath: string): string {
  return join(dirname(onnxPath), `${basename(onnxPath).replace(/\.onnx$/i, '')}.attnkit.json`);
}

/**
 * What an export wrote. `verified`: the test rows run, the largest |ONNX Runtime − attnkit| over
 * every graph output (divided by |attnkit| where that is above 1, for values in target units)
 * and the outputs compared.
 */
export interface ExportResult { onnx: string; sidecar: string; bytes: number; verified?: { rows: number; maxAbsError: number; outputs: string[] } }

/** The graph output beside each target's raw one, by task (see the fusion model's ONNX emission). */

/**
 * The largest difference between the graph's `got` and attnkit's `expected`: absolute, or with
 * `relative` (values in target units, which can be large) relative to their size when above 1.
 */
export function verifyError(got: ArrayLike<number>, expected: ArrayLike<number>, relative: boolean): number {
  let worst = 0;
  for (let j = 0; j < got.length; j++) {
    const d = Math.abs(got[j] - expected[j]) / (relative ? Math.max(1, Math.abs(expected[j])) : 1);
    if (!(d <= worst)) worst = d;                                                // NaN is the worst
  }
  return worst;
}

/**
 * Exports a run directory's model; with `verify`, checks every output of the graph in
 * onnxruntime-node on up to 256 test rows: raw outputs against the model's forward, the
 * probability / value outputs against `predict` (what `attnkit predict` prints).
 */
export async function exportRun(runDir: string, outPath: string, options: { verify?: boolean } = {}): Promise<ExportResult> {
  const saved = readRun(runDir);
  const model = loadRunModel(saved);
  if (!(model instanceof FusionModel)) {
    throw new ConfigError(`export: the run's model is a ${model.constructor.name}; ONNX export covers the fusion model (model.type: fusion) and the attention layers (exportOnnx in code)`);
  }
  const bytes = exportOnnx(model);
  const sidecar: OnnxSidecar = {
    format: 'attnkit-onnx', version: 1, model: 'FusionModel', run: saved.dir, exportedAt: new Date().toISOString(),
    preprocessor: saved.preprocessorState, fields: model.fields, targets: model.targets,
  };
  const result: ExportResult = { onnx: outPath, sidecar: sidecarPath(outPath), bytes: bytes.length };
  if (options.verify) {
    let ort: typeof import('onnxruntime-node');
    try {
      ort = await import('onnxruntime-node');
    } catch {
      throw new ConfigError('export --verify runs the graph in onnxruntime-node; install it first (npm install onnxruntime-node)');
    }
    const session = await ort.InferenceSession.create(bytes);
    const { dataset } = await reopen(saved);
    const rows = saved.split.test.slice(0, 256);
    if (rows.length === 0) throw new ConfigError('export --verify: the run has no test rows to run the graph on (split.test is empty); export without --verify, or train with a test split');
    // what `attnkit predict` gives: probabilities, class probabilities [n·K], values in target units
    const preds = predict(model, dataset, rows);
    const derived = Object.fromEntries(model.targets.map((t) => [t.name, { name: `${t.name}.${DERIVED_OUTPUT[t.task]}`, width: t.task === 'multiclass' ? t.outputs : 1, targetUnits: t.task === 'regression' }]));
    const checked = new Set<string>();
    let worst = 0;
    const check = (name: string, out: { data: unknown } | undefined, expected: ArrayLike<number>, relative: boolean): void => {
      if (!out) throw new ConfigError(`export --verify: the graph has no output '${name}'; please report this`);
      const got = out.data as Float32Array;
      if (got.length !== expected.length) throw new ConfigError(`export --verify: the graph's output '${name}' has ${got.length} values, attnkit ${expected.length}; please report this`);
      worst = Math.max(worst, verifyError(got, expected, relative));
      checked.add(name);
    };
    for (let i = 0; i < rows.length; i += 64) {
      const batchRows = rows.slice(i, i + 64);
      const batch = dataset.batch(batchRows);
      const feeds = Object.fromEntries(Object.entries(fusionOnnxInputs(model, batch)).map(([k, x]) => [k, new ort.Tensor(x.type, x.data, x.dims)]));
      const got = await session.run(feeds);
      const expected = noGrad(() => model.forward(batch).outputs);
      for (const [name, t] of Object.entries(expected)) {
        check(name, got[name], t.data as Float32Array, false);                    // raw outputs: absolute
        const d = derived[name];
        check(d.name, got[d.name], preds[name].subarray(i * d.width, (i + batchRows.length) * d.width), d.targetUnits);
      }
    }
    const unchecked = session.outputNames.filter((n) => !checked.has(n));
    if (unchecked.length) throw new ConfigError(`export --verify: the graph's outputs ${unchecked.join(', ')} have no attnkit counterpart to check; please report this`);
    if (!(worst <= 1e-4)) throw new ConfigError(`export --verify: ONNX Runtime and attnkit differ by ${worst} (> 1e-4) on the test rows; please report this`);
    result.verified = { rows: rows.length, maxAbsError: worst, outputs: [...checked] };
  }
  writeFileAtomic(outPath, bytes);
  writeFileAtomic(result.sidecar, JSON.stringify(sidecar) + '\n');
  return result;
}
