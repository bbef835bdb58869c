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
import type { FieldInfo, PreprocessorState, TargetInfo } from '../data/preprocessor.js';
import { exportOnnx, fusionOnnxInputs } from '../onnx/export.js';
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

export interface ExportResult { onnx: string; sidecar: string; bytes: number; verified?: { rows: number; maxAbsError: number } }

/** Exports a run directory's model; with `verify`, checks it in onnxruntime-node on up to 256 test rows. */
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
    let worst = 0;
    for (let i = 0; i < rows.length; i += 64) {
      const batch = dataset.batch(rows.slice(i, i + 64));
      const feeds = Object.fromEntries(Object.entries(fusionOnnxInputs(model, batch)).map(([k, x]) => [k, new ort.Tensor(x.type, x.data, x.dims)]));
      const got = await session.run(feeds);
      const expected = noGrad(() => model.forward(batch).outputs);
      for (const [name, t] of Object.entries(expected)) {
        const g = got[name].data as Float32Array;
        for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(g[j] - t.data[j]));
      }
    }
    if (!(worst <= 1e-4)) throw new ConfigError(`export --verify: ONNX Runtime and attnkit differ by ${worst} (> 1e-4) on the test rows; please report this`);
    result.verified = { rows: rows.length, maxAbsError: worst };
  }
  writeFileAtomic(outPath, bytes);
  writeFileAtomic(result.sidecar, JSON.stringify(sidecar) + '\n');
  return result;
}
