/**
 * The Trainer: epochs of shuffled mini-batches with SGD / Adam / AdamW (parameter groups
 * without decay for biases, norms and embeddings), a learning-rate schedule, gradient
 * clipping and accumulation, early stopping on the validation loss with the best weights
 * restored, callbacks, and checkpoints. A checkpoint is one safetensors file holding the
 * weights, the optimiser buffers and (in its metadata) the trainer state — epoch, step,
 * history, schedule and every generator (batch order and each dropout's) — so a resumed run
 * continues exactly as if it had never stopped.
 */
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { ConfigError, ValueError, clipText } from '../errors.js';
import { checkOptions, validateConfig } from '../config.js';
import { backward } from '../autograd/tape.js';
import { add, mul } from '../ops/index.js';
import { MultiHeadAttention } from '../nn/attention/multihead.js';
import { hasAttentionMaps } from '../analysis/report.js';
import { entropyLoss, headDiversityLoss } from '../analysis/regularizers.js';
import type { Module } from '../nn/module.js';
import type { Batch, EncodedDataset } from '../data/dataset.js';
import { modelLoss, type TaskModel } from '../models/heads.js';
import { Adam, AdamW, SGD, clipGradNorm, decayGroups, optimTensors, splitOptimTensors, type Optimizer } from './optim.js';
import { LrSchedule } from './schedules.js';
import { TRAIN_DEFAULTS, trainOptionsSchema, type TrainOptions } from './trainOptions.js';
import { decodeSafetensors, encodeSafetensors, CheckpointError } from '../tensor/safetensors.js';
import { parseTrainerState, type TrainerState } from './trainerState.js';
import { checkRows, meanLoss, validationPass, type TargetMetrics } from './evaluate.js';
import { fitLbfgs, LBFGS_DEFAULTS } from './lbfgs.js';
import { LinearModel } from '../models/baselines.js';
import { FusionModel } from '../models/fusion.js';

/** Checkpoint tensor names of the weights' moving average: `__ema__.<parameter index>`. */
const EMA_PREFIX = '__ema__.';

/**
 * One epoch of the history. `valid` holds the validation metrics per target (as `evaluate` names
 * them: accuracy, f1 of the positive class, macroF1, auc; rmse…), computed from the same
 * forward pass as `validLoss`; absent without validation rows. An undefined metric (AUC with one
 * class present) is NaN, null once written as JSON.
 */
export interface EpochRecord { epoch: number; trainLoss: number; validLoss: number | null; valid?: Record<string, TargetMetrics>; lr: number; seconds: number; best: boolean }

export interface StepInfo { epoch: number; step: number; loss: number; lr: number; rows: number; epochRows: number }

/** Hooks called by the loop (analysis code attaches here). */
export interface TrainerCallbacks {
  onStep?: (info: StepInfo) => void;
  onEpochEnd?: (record: EpochRecord, trainer: Trainer) => void;
  /** A checkpoint is ready: `last` always, `best` when the epoch improved the validation loss. */
  onCheckpoint?: (kind: 'last' | 'best', bytes: Uint8Array, trainer: Trainer) => void;
}

export interface FitResult { history: EpochRecord[]; bestEpoch: number; bestValidLoss: number | null }

/** Every Generator the model's modules hold (dropout and feature generators), in a fixed walk order. */
export function moduleGenerators(model: Module): Generator[] {
  const out: Generator[] = [];
  const seen = new Set<Generator>();
  for (const [, m] of model.namedModules()) {
    for (const value of Object.values(m)) if (value instanceof Generator && !seen.has(value)) { seen.add(value); out.push(value); }
  }
  return out;
}

/**
 * @example
 * const trainer = new Trainer(model, dataset, { train, valid }, { epochs: 10, lr: 3e-3 }, { seed: 0 });
 * trainer.callbacks.push({ onEpochEnd: (r) => console.log(r.epoch, r.validLoss) });
 * const { bestEpoch } = trainer.run();
 */
export class Trainer {
  readonly options: TrainOptions & { epochs: number; batchSize: number };
  readonly optimizer: Optimizer<{ lr?: number }>;
  readonly schedule: LrSchedule;
  readonly callbacks: TrainerCallbacks[] = [];
  private readonly dataRng: Generator;
  private st: TrainerState;
  private bestWeights: Float32Array[] | null = null;
  /** The weights' moving average (options.ema), one array per parameter; null when off. */
  private ema: Float32Array[] | null = null;
  private readonly params;
  private readonly lbfgs: boolean;

  constructor(readonly model: TaskModel, readonly dataset: EncodedDataset, readonly split: { train: number[]; valid?: number[]; test?: number[] }, options: unknown, readonly seeds: { seed: number }) {
    const o = validateConfig(trainOptionsSchema, options ?? {}, 'Trainer');
    this.options = { ...o, epochs: o.epochs ?? TRAIN_DEFAULTS.epochs, batchSize: o.batchSize ?? TRAIN_DEFAULTS.batchSize };
    if (split == null) throw new ValueError('Trainer: give the split, { train, valid?, test? } lists of row indices (splitIndices makes one)');
    checkOptions('Trainer split', split, { train: true, valid: true, test: true });   // splitIndices' result passes whole
    checkOptions('Trainer seeds', seeds, { seed: true });
    checkRows('Trainer', split.train, dataset.size);
    if (split.valid?.length) checkRows('Trainer', split.valid, dataset.size);
    if (!Number.isInteger(seeds.seed)) throw new ValueError(`Trainer: seed must be an integer, got ${seeds.seed}`);
    const named = model.namedParameters();
    this.params = named.map(([, p]) => p);
    const groups = o.decayExempt === false ? this.params : decayGroups(named);
    const lr = o.lr ?? TRAIN_DEFAULTS.lr;
    // the linear model is the logistic / linear regression reference: trained to its optimum
    this.lbfgs = (o.optimizer ?? (model instanceof LinearModel ? 'lbfgs' : TRAIN_DEFAULTS.optimizer)) === 'lbfgs';
    if (this.lbfgs && o.ema) throw new ConfigError(`Trainer: ema (${o.ema}) averages the steps of a stochastic optimiser; the 'lbfgs' fit has none (drop ema, or choose adamw, adam or sgd)`);
    if (o.ema) this.ema = this.params.map((p) => Float32Array.from(p.data as Float32Array));
    // the maps a forward returns are one member's: the other independent members would go unregularised
    const members = model instanceof FusionModel ? model.memberModels.length : 0;
    if (members > 0 && (o.remedies?.entropy || o.remedies?.diversity)) {
      throw new ConfigError(`Trainer: remedies.${o.remedies.entropy ? 'entropy' : 'diversity'} regularises the attention maps a forward returns, which for a model of ${members + 1} independent members (model.ensembleMode independent) are the first member's only; train one model, or members sharing a backbone (ensembleMode shared)`);
    }
    this.optimizer = o.optimizer === 'sgd' ? new SGD(groups, { lr, momentum: o.momentum ?? 0.9, nesterov: o.nesterov, weightDecay: o.weightDecay ?? 0 })
      : o.optimizer === 'adam' ? new Adam(groups, { lr, weightDecay: o.weightDecay ?? 0 })
        : new AdamW(groups, { lr, weightDecay: o.weightDecay ?? TRAIN_DEFAULTS.weightDecay });
    const accumulate = o.accumulate ?? 1;
    const stepsPerEpoch = Math.ceil(Math.ceil(split.train.length / this.options.batchSize) / accumulate);
    this.schedule = new LrSchedule(o.schedule ?? { type: 'cosine', warmup: o.warmup ?? TRAIN_DEFAULTS.warmup }, stepsPerEpoch * this.options.epochs, stepsPerEpoch);
    this.dataRng = new Generator(seeds.seed);
    this.st = { epoch: 0, step: 0, history: [], best: null, bestEpoch: 0, schedule: this.schedule.state(), dataRng: [], generators: [], optimizerStep: 0, stopped: false };
  }

  /** Epochs completed so far. */
  get epoch(): number { return this.st.epoch; }
  get history(): EpochRecord[] { return this.st.history; }
  /** Whether every epoch ran or early stopping ended the run. */
  get finished(): boolean { return this.st.stopped || this.st.epoch >= this.options.epochs; }

  /**
   * The options this trainer runs with, every default filled in (what a run's config.json
   * records): epochs, batchSize, optimizer, lr, weightDecay, schedule, clipNorm, accumulate.
   */
  resolvedOptions(): TrainOptions {
    const { warmup, ...o } = this.options;
    if (this.lbfgs) return { ...o, optimizer: 'lbfgs', weightDecay: o.weightDecay ?? LBFGS_DEFAULTS.l2 };
    const optimizer = o.optimizer ?? TRAIN_DEFAULTS.optimizer;
    return {
      ...o, optimizer, lr: o.lr ?? TRAIN_DEFAULTS.lr,
      weightDecay: o.weightDecay ?? (optimizer === 'adamw' ? TRAIN_DEFAULTS.weightDecay : 0),
      schedule: o.schedule ?? { type: 'cosine', warmup: warmup ?? TRAIN_DEFAULTS.warmup },
      clipNorm: o.clipNorm ?? TRAIN_DEFAULTS.clipNorm, accumulate: o.accumulate ?? 1, patience: o.patience ?? TRAIN_DEFAULTS.patience,
      ema: o.ema ?? TRAIN_DEFAULTS.ema,
    };
  }

  /** Runs the remaining epochs (all of them, or those after a resumed checkpoint). */
  run(): FitResult {
    if (this.lbfgs) return this.runLbfgs();
    const { batchSize, epochs } = this.options;
    const accumulate = this.options.accumulate ?? 1;
    const clip = this.options.clipNorm ?? TRAIN_DEFAULTS.clipNorm;
    const dh = this.options.remedies?.dropHead;
    const dropHeads = dh ? this.model.namedModules().map(([, m]) => m).filter((m): m is MultiHeadAttention => m instanceof MultiHeadAttention) : [];
    const total = this.schedule.totalSteps;
    const dropHeadRate = (step: number): number => (dh!.schedule === 'v' ? dh!.p * Math.abs(1 - (2 * step) / Math.max(1, total)) : dh!.p);
    this.model.train();
    // the average starts at the weights training starts from (set after the constructor, e.g. loaded)
    if (this.ema && this.st.step === 0) this.ema = this.params.map((p) => Float32Array.from(p.data as Float32Array));
    while (!this.finished) {
      const epoch = this.st.epoch + 1;
      const t0 = Date.now();
      let lossSum = 0, rows = 0, micro = 0;
      this.optimizer.zeroGrad();
      const batches = [...this.dataset.batches(batchSize, this.dataRng, this.split.train)];
      // each micro-batch's loss is weighted by its share of its accumulation group's rows, so
      // accumulated micro-batches give the gradient of the one large batch they make up
      const groupRows = batches.map((_, bi) => {
        const g0 = bi - (bi % accumulate);
        return batches.slice(g0, g0 + accumulate).reduce((n, r) => n + r.length, 0);
      });
      batches.forEach((idx, bi) => {
        const b = this.dataset.batch(idx);
        if (dropHeads.length) for (const m of dropHeads) m.dropHead = dropHeadRate(this.st.step);
        const loss = this.loss(b);
        const value = loss.item();
        if (!Number.isFinite(value)) throw new ValueError(`Trainer: the loss became ${value} at epoch ${epoch}, step ${this.st.step}; lower the learning rate (now ${this.optimizer.lr.toExponential(2)})`);
        backward(accumulate > 1 ? mul(loss, b.size / groupRows[bi]) : loss);
        lossSum += value * b.size;
        rows += b.size;
        if (++micro === accumulate || bi === batches.length - 1) {
          this.optimizer.lrScale = this.schedule.factor(this.st.step);
          if (clip > 0) clipGradNorm(this.params, clip);
          this.optimizer.step();
          this.updateEma();
          this.optimizer.zeroGrad();
          this.st.step++;
          micro = 0;
        }
        for (const c of this.callbacks) c.onStep?.({ epoch, step: this.st.step, loss: value, lr: this.optimizer.lr, rows, epochRows: this.split.train.length });
      });
      // validated, kept as the best and saved as the best checkpoint: the moving average where there is one
      const { validation, improved, bestBytes } = this.averaged(() => {
        const validation = this.split.valid?.length ? validationPass(this.model, this.dataset, this.split.valid) : null;
        const loss = validation ? validation.loss : null;
        // without a validation set the latest epoch is the best one
        const improved = loss === null || this.st.best === null || loss < this.st.best;
        if (improved) this.bestWeights = this.params.map((p) => Float32Array.from(p.data as Float32Array));
        const bestBytes = improved && this.callbacks.some((c) => c.onCheckpoint)
          ? encodeSafetensors(this.model.stateDict(), { epoch: String(epoch), validLoss: String(loss ?? '') }) : null;
        return { validation, improved, bestBytes };
      });
      const validLoss = validation ? validation.loss : null;
      this.schedule.epochEnd(validLoss);
      if (improved) { this.st.best = validLoss; this.st.bestEpoch = epoch; }
      const rec: EpochRecord = { epoch, trainLoss: lossSum / rows, validLoss, ...(validation ? { valid: validation.metrics } : {}), lr: this.optimizer.lr, seconds: (Date.now() - t0) / 1000, best: improved };
      this.st.history.push(rec);
      this.st.epoch = epoch;
      if (validLoss !== null && epoch - this.st.bestEpoch >= (this.options.patience ?? TRAIN_DEFAULTS.patience)) this.st.stopped = true;
      for (const c of this.callbacks) c.onEpochEnd?.(rec, this);
      if (this.callbacks.some((c) => c.onCheckpoint)) {
        const last = this.checkpoint();
        for (const c of this.callbacks) {
          if (bestBytes) c.onCheckpoint?.('best', bestBytes, this);
          c.onCheckpoint?.('last', last, this);
        }
      }
      if (epoch >= epochs) break;
    }
    if (this.bestWeights) this.params.forEach((p, i) => (p.data as Float32Array).set(this.bestWeights![i]));
    this.model.eval();
    return { history: this.st.history, bestEpoch: this.st.bestEpoch || this.st.history.length, bestValidLoss: this.st.best };
  }

  /** optimizer 'lbfgs': one full-batch fit to the optimum, recorded as epoch 1 (and the best). */
  private runLbfgs(): FitResult {
    if (!this.finished) {
      const t0 = Date.now();
      fitLbfgs(this.model, this.dataset, this.split.train, { l2: this.options.weightDecay ?? LBFGS_DEFAULTS.l2 });
      const validation = this.split.valid?.length ? validationPass(this.model, this.dataset, this.split.valid) : null;
      const validLoss = validation ? validation.loss : null;
      const rec: EpochRecord = { epoch: 1, trainLoss: meanLoss(this.model, this.dataset, this.split.train), validLoss, ...(validation ? { valid: validation.metrics } : {}), lr: 0, seconds: (Date.now() - t0) / 1000, best: true };
      Object.assign(this.st, { epoch: 1, best: validLoss, bestEpoch: 1, stopped: true });
      this.st.history.push(rec);
      for (const c of this.callbacks) c.onEpochEnd?.(rec, this);
      if (this.callbacks.some((c) => c.onCheckpoint)) {
        const last = this.checkpoint();
        const best = encodeSafetensors(this.model.stateDict(), { epoch: '1', validLoss: String(validLoss ?? '') });
        for (const c of this.callbacks) { c.onCheckpoint?.('best', best, this); c.onCheckpoint?.('last', last, this); }
      }
    }
    this.model.eval();
    return { history: this.st.history, bestEpoch: this.st.bestEpoch || this.st.history.length, bestValidLoss: this.st.best };
  }

  /** One step of the moving average (options.ema) toward the weights, with TensorFlow's warm-up of the decay. */
  private updateEma(): void {
    if (!this.ema) return;
    const t = this.st.step;
    const d = Math.min(this.options.ema!, (1 + t) / (10 + t));
    this.params.forEach((p, i) => {
      const w = p.data as Float32Array, a = this.ema![i];
      for (let j = 0; j < a.length; j++) a[j] = d * a[j] + (1 - d) * w[j];
    });
  }

  /** Runs `fn` with the moving average in the parameters (the weights put back after), or as they are without ema. */
  private averaged<R>(fn: () => R): R {
    if (!this.ema) return fn();
    const live = this.params.map((p) => Float32Array.from(p.data as Float32Array));
    this.params.forEach((p, i) => (p.data as Float32Array).set(this.ema![i]));
    try { return fn(); } finally { this.params.forEach((p, i) => (p.data as Float32Array).set(live[i])); }
  }

  /** The task loss of a batch plus the configured attention remedies. */
  private loss(b: Batch): Tensor {
    const r = this.options.remedies;
    const needMaps = Boolean(r?.entropy || r?.diversity);
    if (!needMaps) return modelLoss(this.model.targets, this.model.forward(b), b, { labelSmoothing: this.options.labelSmoothing });
    if (!hasAttentionMaps(this.model)) throw new ConfigError('Trainer: the entropy and diversity remedies need attention maps (model type fusion, strategy early, without a custom block)');
    const out = this.model.forward(b, { needWeights: true });
    let loss = modelLoss(this.model.targets, out, b, { labelSmoothing: this.options.labelSmoothing });
    if (r!.entropy) loss = add(loss, mul(entropyLoss(out.weights!, out.keyMask!, { floor: r!.entropy.floor }), r!.entropy.weight));
    if (r!.diversity) loss = add(loss, mul(headDiversityLoss(out.weights!), r!.diversity.weight));
    return loss;
  }

  /** The resumable checkpoint: weights, optimiser buffers (`__optim__.<buffer>.<i>`) and trainer state. */
  checkpoint(): Uint8Array {
    const opt = this.optimizer.state();
    const tensors: Record<string, Tensor> = { ...this.model.stateDict(), ...optimTensors(opt.buffers) };
    this.ema?.forEach((a, i) => { tensors[`${EMA_PREFIX}${i}`] = new Tensor(Float32Array.from(a), [a.length]); });
    const state: TrainerState = {
      ...this.st, schedule: this.schedule.state(), dataRng: this.dataRng.getState(),
      generators: moduleGenerators(this.model).map((g) => g.getState()), optimizerStep: opt.step,
    };
    return encodeSafetensors(tensors, { trainer: JSON.stringify(state), format: 'attnkit-checkpoint' });
  }

  /**
   * Continues from a `checkpoint()` (and the best weights, from the `best` checkpoint, so the
   * best epoch can still be restored at the end). Throws CheckpointError on a mismatch or a
   * malformed trainer state (see parseTrainerState); a refused checkpoint leaves the trainer as
   * it was.
   */
  resume(last: Uint8Array, best?: Uint8Array | null, where = 'checkpoint'): void {
    const f = decodeSafetensors(last, where);
    if (f.metadata.format !== 'attnkit-checkpoint' || !f.metadata.trainer) throw new CheckpointError(`${where}: not a resumable attnkit checkpoint (no trainer state)`);
    const st = parseTrainerState(f.metadata.trainer, where);
    const gens = moduleGenerators(this.model);
    if (st.generators.length !== gens.length) throw new CheckpointError(`${where}: trainer state: ${st.generators.length} generator states for a model with ${gens.length}`);
    const bestWeights = best ? this.readBest(best, `${where} (best)`) : null;
    const ema = this.readEma(f.tensors, where);
    const { buffers, rest: weights } = splitOptimTensors(f.tensors, this.params.length, (k) => {
      throw new CheckpointError(`${where}: optimiser buffer '${clipText(k)}' does not name a parameter of a model with ${this.params.length}`);
    });
    // each step checks everything before it changes anything: the weights are checked, the
    // optimiser's state restored (or refused unchanged), and only then the weights copied
    try { this.model.checkStateDict(weights); } catch (e) { throw new CheckpointError(`${where}: weights do not fit this model (${(e as Error).message})`); }
    try { this.optimizer.loadState({ step: st.optimizerStep, buffers }); } catch (e) { throw new CheckpointError(`${where}: ${(e as Error).message}`); }
    this.model.loadStateDict(weights);
    gens.forEach((g, i) => g.setState(st.generators[i]));
    this.dataRng.setState(st.dataRng);
    this.schedule.loadState(st.schedule);
    this.st = st;
    if (bestWeights) this.bestWeights = bestWeights;
    if (ema) this.ema = ema;
  }

  /**
   * Takes the moving average's arrays (`__ema__.<i>`) out of a checkpoint's tensors: one per
   * parameter, of its size, when this trainer averages; none when it does not.
   */
  private readEma(tensors: Record<string, Tensor>, where: string): Float32Array[] | null {
    const keys = Object.keys(tensors).filter((k) => k.startsWith(EMA_PREFIX));
    if (!this.ema) {
      if (keys.length) throw new CheckpointError(`${where}: the checkpoint holds a moving average of the weights (ema) and this run has none; resume with the ema it was trained with`);
      return null;
    }
    if (!keys.length) throw new CheckpointError(`${where}: this run averages the weights (ema ${this.options.ema}) and the checkpoint has no average; resume without ema, as it was trained`);
    const out = this.params.map((p, i) => {
      const t = tensors[`${EMA_PREFIX}${i}`];
      if (!t || t.size !== p.size) throw new CheckpointError(`${where}: moving average ${i} is ${t ? `${t.size} values` : 'missing'}, parameter ${i} has ${p.size}`);
      return Float32Array.from(t.data);
    });
    if (keys.length !== this.params.length) throw new CheckpointError(`${where}: ${keys.length} moving-average arrays for a model with ${this.params.length} parameters`);
    for (const k of keys) delete tensors[k];
    return out;
  }

  /** The weights of a `best` checkpoint, in parameter order. */
  private readBest(bytes: Uint8Array, where: string): Float32Array[] {
    const b = decodeSafetensors(bytes, where);
    const names = this.model.namedParameters().map(([n]) => n);
    return this.params.map((p, i) => {
      const t = b.tensors[names[i]];
      if (!t || t.size !== p.size) throw new CheckpointError(`${where}: missing or misshapen '${names[i]}'`);
      return Float32Array.from(t.data);
    });
  }
}
