/**
 * `attnkit export <run> <dir> --format pytorch`: the run as a PyTorch project —
 * model.py (generated nn.Module), model.safetensors (the run's best weights in PyTorch's names),
 * train.py (DDP), safetensors_io.py, train_config.json (the run's optimisation) and README.md.
 * `attnkit import <dir | file.safetensors> <run>` brings trained weights back.
 */
import { existsSync, mkdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../errors.js';
import { CheckpointError, decodeSafetensors, encodeSafetensors } from '../../tensor/safetensors.js';
import { fmtShape } from '../../errors.js';
import { fromTorchStateDict, toTorchStateDict } from '../../nn/torchNames.js';
import { decayGroups } from '../../train/optim.js';
import { TRAIN_DEFAULTS } from '../../train/trainOptions.js';
import { LBFGS_DEFAULTS } from '../../train/lbfgs.js';
import { LinearModel } from '../../models/baselines.js';
import type { TaskModel } from '../../models/heads.js';
import { loadRunModel, readRun, RUN_FILES, writeFileAtomic, type SavedRun } from '../runDir.js';
import { modelFields, modelPy, inputName, targetName } from './modelPy.js';
import { SAFETENSORS_IO_PY } from './safetensorsIo.py.js';
import { TRAIN_PY } from './train.py.js';
import { fieldKindOf } from '../../data/fields/index.js';
import { readmePy } from './readme.js';

/** train_config.json: what train.py needs of the run's `train:` section, defaults resolved as the Trainer resolves them. */
export function trainConfig(saved: SavedRun, model: TaskModel): Record<string, unknown> {
  const o = saved.config.train ?? {};
  if (o.remedies) throw new ConfigError(`export --format pytorch: train.remedies (${Object.keys(o.remedies).join(', ')}) is not expressed in train.py yet; export a run without it`);
  // as the Trainer resolves it: the linear model fits by full-batch L-BFGS unless the config says otherwise
  const optimizer = o.optimizer ?? (model instanceof LinearModel ? 'lbfgs' : TRAIN_DEFAULTS.optimizer);
  const lbfgs = optimizer === 'lbfgs';
  const named = model.namedParameters();
  // the Trainer's groups: every parameter decays with decayExempt false, else decayGroups' first group;
  // fitLbfgs's L2 is on every parameter but biases
  const decayed = new Set(lbfgs ? named.filter(([n]) => !/bias$/.test(n)).map(([, p]) => p)
    : o.decayExempt === false ? named.map(([, p]) => p) : decayGroups(named).find((g) => !g.options)?.params ?? []);
  const noDecay = named.filter(([, p]) => !decayed.has(p)).map(([n]) => n);
  return {
    run: saved.dir,
    epochs: o.epochs ?? TRAIN_DEFAULTS.epochs, batchSize: o.batchSize ?? TRAIN_DEFAULTS.batchSize, optimizer, lr: o.lr ?? TRAIN_DEFAULTS.lr,
    momentum: o.momentum ?? 0.9, nesterov: o.nesterov ?? false,
    weightDecay: o.weightDecay ?? (lbfgs ? LBFGS_DEFAULTS.l2 : optimizer === 'adamw' ? TRAIN_DEFAULTS.weightDecay : 0),
    // 'lbfgs': one full-batch fit of the mean loss + (weightDecay / 2)·‖w‖² (src/train/lbfgs.ts)
    ...(lbfgs ? { lbfgs: { maxIter: LBFGS_DEFAULTS.maxIter, gradTol: LBFGS_DEFAULTS.gradTol, history: LBFGS_DEFAULTS.history } } : {}),
    noDecay: Object.keys(toTorchStateDict(Object.fromEntries(noDecay.map((n) => [n, 0])))),
    schedule: o.schedule ?? { type: 'cosine', warmup: o.warmup ?? TRAIN_DEFAULTS.warmup },
    clipNorm: o.clipNorm ?? TRAIN_DEFAULTS.clipNorm, accumulate: o.accumulate ?? 1, labelSmoothing: o.labelSmoothing ?? 0,
    ...(o.patience !== undefined ? { patience: o.patience } : {}),
    ...(o.ema ? { ema: o.ema } : {}),
    seed: saved.config.seed ?? 0,
    targets: model.targets.map((t) => ({
      name: t.name, task: t.task, outputs: t.outputs, weight: t.weight, loss: t.loss,
      ...(t.classWeights ? { classWeights: t.classWeights } : {}), ...(t.mean !== undefined ? { mean: t.mean, std: t.std } : {}),
    })),
  };
}

/** The encoded tensors model.py's forward reads: name → dtype and shape of one row. */
export function modelInputs(saved: SavedRun, model: TaskModel): Record<string, { dtype: string; shape: (number | string)[] }> {
  const out: Record<string, { dtype: string; shape: (number | string)[] }> = {};
  for (const f of modelFields(model, saved.preprocessor.fieldInfo())) {
    for (const x of fieldKindOf(f.kind).onnx) {
      const dims = x.dims(f.name, f).slice(1).map((d) => (typeof d === 'number' ? d : f.maxLength ?? f.numPatches ?? d));
      out[inputName(f.name, x.key)] = { dtype: x.dtype === 'float' ? 'float32' : x.dtype === 'bool' ? 'bool' : 'int32', shape: dims };
    }
  }
  return out;
}

export interface PytorchExport { dir: string; files: string[]; parameters: number }

/** Writes the PyTorch project of a run into `dir` (created if missing; the files it writes are replaced). */
export function exportPytorch(runDir: string, dir: string): PytorchExport {
  const saved = readRun(runDir);
  const model = loadRunModel(saved);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new ConfigError(`export --format pytorch: '${dir}' is a file; give a folder for the project`);
  const inputs = modelInputs(saved, model);
  const files: Record<string, string | Uint8Array> = {
    'model.py': modelPy(model, { run: saved.dir, inputs: inputs as Record<string, { dtype: string; shape: number[] }> }),
    'train_config.json': JSON.stringify(trainConfig(saved, model), null, 2) + '\n',
    'model.safetensors': encodeSafetensors(toTorchStateDict(model.stateDict()), { format: 'pt', run: saved.dir }),
    'safetensors_io.py': SAFETENSORS_IO_PY,
    'train.py': TRAIN_PY,
    // encode writes class indices as int32, binary labels and regression values as float32
    'README.md': readmePy(saved, inputs, model.targets.map((t) => ({ name: targetName(t.name), dtype: t.task === 'multiclass' ? 'int32' : 'float32' }))),
  };
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileAtomic(join(dir, name), content);
  return { dir: resolve(dir), files: Object.keys(files), parameters: model.numParameters() };
}

export interface ImportResult { run: string; from: string; parameters: number }

/**
 * Loads PyTorch weights (names as model.py's, e.g. train.py's model.safetensors) into a run's
 * model, checked name by name and shape by shape, and makes them the run's best weights;
 * the attention report and the saved test metrics (metrics.jsonl's, result.json's) are dropped so eval / inspect use the new ones.
 */
export function importWeights(source: string, runDir: string): ImportResult {
  const file = existsSync(source) && statSync(source).isDirectory() ? join(source, 'model.safetensors') : source;
  if (!existsSync(file)) throw new ConfigError(`import: no such file '${file}'${file !== source ? ` (a folder gives its model.safetensors)` : ''}`);
  const saved = readRun(runDir);
  const model = loadRunModel(saved);
  const { tensors } = decodeSafetensors(readFileSync(file), file);
  const state = fromTorchStateDict(tensors);
  const own = model.namedParameters();
  const torchName = (n: string): string => Object.keys(toTorchStateDict({ [n]: 0 }))[0];
  for (const [name, p] of own) {
    const t = state[name];
    if (!t) throw new CheckpointError(`import: ${file} has no '${torchName(name)}' (the model's parameter '${name}' ${fmtShape(p.shape)}); was it written for another run?`);
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new CheckpointError(`import: ${file}: '${torchName(name)}' has shape ${fmtShape(t.shape)}, the model's '${name}' is ${fmtShape(p.shape)}`);
    }
    if (t.dtype !== p.dtype) throw new CheckpointError(`import: ${file}: '${torchName(name)}' is ${t.dtype}, the model's '${name}' is ${p.dtype}`);
  }
  const known = new Set(own.map(([n]) => n));
  const extra = Object.keys(state).find((n) => !known.has(n));
  if (extra !== undefined) throw new CheckpointError(`import: ${file} holds '${torchName(extra)}', which the run's model has no parameter for`);
  model.loadStateDict(state);
  writeFileAtomic(join(saved.dir, RUN_FILES.best), encodeSafetensors(model.stateDict(), { imported: resolve(file) }));
  const report = join(saved.dir, RUN_FILES.report);
  if (existsSync(report)) unlinkSync(report);
  const result = join(saved.dir, RUN_FILES.result);
  if (existsSync(result)) {
    // the summary's test metrics were the replaced weights'; it says where the new ones came from
    const { test: _old, ...rest } = JSON.parse(readFileSync(result, 'utf8')) as Record<string, unknown>;
    writeFileAtomic(result, JSON.stringify({ ...rest, imported: resolve(file) }, null, 2) + '\n');
  }
  const metrics = join(saved.dir, RUN_FILES.metrics);
  if (existsSync(metrics)) {
    const kept = readFileSync(metrics, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('{"test"'));
    writeFileAtomic(metrics, kept.length ? kept.join('\n') + '\n' : '');
  }
  return { run: saved.dir, from: resolve(file), parameters: model.numParameters() };
}
