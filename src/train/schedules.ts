/**
 * Learning-rate schedules as a factor on the optimiser's lr, per optimiser step:
 * constant; linear warm-up then cosine decay (default) or linear decay; step decay every k
 * epochs; reduce-on-plateau of the validation loss. The state is JSON, for checkpoints.
 */
import { validateConfig, v } from '../config.js';

const frac = v.pipe(v.number(), v.minValue(0), v.maxValue(1));
const posInt = v.pipe(v.number(), v.integer(), v.minValue(1));

export const scheduleSchema = v.variant('type', [
  v.strictObject({ type: v.literal('constant'), warmup: v.optional(frac) }),
  /** warm-up over a fraction of all steps (default 0.05), then cosine to minFactor (default 0). */
  v.strictObject({ type: v.literal('cosine'), warmup: v.optional(frac), minFactor: v.optional(frac) }),
  v.strictObject({ type: v.literal('linear'), warmup: v.optional(frac), minFactor: v.optional(frac) }),
  /** multiply by gamma every `everyEpochs` epochs. */
  v.strictObject({ type: v.literal('step'), everyEpochs: posInt, gamma: v.optional(frac) }),
  /** multiply by factor after `patience` epochs without a better validation loss, down to minFactor. */
  v.strictObject({ type: v.literal('plateau'), factor: v.optional(frac), patience: v.optional(posInt), minFactor: v.optional(frac) }),
]);
export type ScheduleConfig = v.InferOutput<typeof scheduleSchema>;

export interface ScheduleState { plateauFactor: number; best: number; bad: number }

/**
 * @example
 * const s = new LrSchedule({ type: 'cosine', warmup: 0.1 }, totalSteps, stepsPerEpoch);
 * opt.lrScale = s.factor(step);
 */
export class LrSchedule {
  readonly config: ScheduleConfig;
  private st: ScheduleState = { plateauFactor: 1, best: Infinity, bad: 0 };
  constructor(config: unknown, readonly totalSteps: number, readonly stepsPerEpoch: number) {
    this.config = validateConfig(scheduleSchema, config ?? { type: 'cosine' }, 'LrSchedule');
  }

  /** The factor for optimiser step `step` (0-based). */
  factor(step: number): number {
    const c = this.config;
    if (c.type === 'step') return Math.pow(c.gamma ?? 0.1, Math.floor(step / this.stepsPerEpoch / c.everyEpochs));
    if (c.type === 'plateau') return this.st.plateauFactor;
    const warm = Math.round((c.warmup ?? (c.type === 'constant' ? 0 : 0.05)) * this.totalSteps);
    if (step < warm) return (step + 1) / warm;
    if (c.type === 'constant') return 1;
    const t = Math.min(1, (step - warm) / Math.max(1, this.totalSteps - warm));
    const min = c.minFactor ?? 0;
    return min + (1 - min) * (c.type === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * t)) : 1 - t);
  }

  /** Feeds an epoch's validation loss (used by 'plateau'). */
  epochEnd(validLoss: number | null): void {
    const c = this.config;
    if (c.type !== 'plateau' || validLoss === null) return;
    if (validLoss < this.st.best) { this.st.best = validLoss; this.st.bad = 0; return; }
    if (++this.st.bad >= (c.patience ?? 2)) {
      this.st.plateauFactor = Math.max(c.minFactor ?? 0.01, this.st.plateauFactor * (c.factor ?? 0.5));
      this.st.bad = 0;
    }
  }

  state(): ScheduleState { return { ...this.st, best: Number.isFinite(this.st.best) ? this.st.best : Number.MAX_VALUE }; }
  loadState(s: ScheduleState): void { this.st = { ...s, best: s.best === Number.MAX_VALUE ? Infinity : s.best }; }
}
