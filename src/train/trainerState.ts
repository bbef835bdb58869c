/**
 * The trainer state a checkpoint carries (epoch, step, history, schedule, generators…), read
 * back and validated before anything is restored: a checkpoint is a file, and a file can say
 * anything. A wrong type would otherwise loop forever (`"epoch": "five"` never reaches the last
 * epoch) or fail later as an untyped TypeError.
 */
import { pathOf, v } from '../config.js';
import { CheckpointError } from '../tensor/safetensors.js';
import { clipText, preview } from '../errors.js';

const count = v.pipe(v.number('a number'), v.safeInteger('an integer'), v.minValue(0, 'an integer ≥ 0'));
const finite = v.pipe(v.number('a number'), v.finite('a finite number'));
const nonNeg = v.pipe(v.number('a number'), v.finite('a finite number'), v.minValue(0, 'a number ≥ 0'));
const finiteOrNull = v.nullable(v.pipe(v.number('a number or null'), v.finite('a finite number or null')));
const u32 = v.pipe(v.number('a number'), v.safeInteger('an integer'), v.minValue(0, 'a 32-bit unsigned integer'), v.maxValue(0xffffffff, 'a 32-bit unsigned integer'));
/** A strict object that is not an array (valibot's object schemas accept arrays, as typeof does). */
const record = <E extends v.ObjectEntries>(entries: E, message: string) =>
  v.pipe(v.custom<Record<string, unknown>>((x) => x !== null && typeof x === 'object' && !Array.isArray(x), message), v.strictObject(entries, message));

const GEN = '[s0, s1, s2, s3, spare] (a generator state)';
/** Generator.getState(): four 32-bit words and the spare normal deviate (null when there is none). */
const generatorState = v.pipe(v.array(v.unknown(), GEN), v.length(5, GEN), v.strictTuple([u32, u32, u32, u32, finiteOrNull], GEN));

const epochRecord = record({
  epoch: count,
  trainLoss: finite,
  validLoss: finiteOrNull,
  /** Validation metrics per target; JSON writes an undefined one (NaN: AUC with one class) as null, read back as NaN. */
  valid: v.optional(v.record(v.string(), v.record(v.string(), v.pipe(v.nullable(v.number('a number or null')), v.transform((x) => x ?? NaN)), 'metrics by name'), 'metrics by target')),
  lr: nonNeg,
  seconds: finite,   // wall-clock: a clock stepped back can make it negative
  best: v.boolean('a boolean'),
}, 'an epoch record');

/** The trainer state as `Trainer.checkpoint()` writes it (every key required, no others). */
export const trainerStateSchema = record({
  epoch: count,
  step: count,
  history: v.array(epochRecord, 'an array of epoch records'),
  best: finiteOrNull,
  bestEpoch: count,
  schedule: record({ plateauFactor: v.pipe(nonNeg, v.maxValue(1, 'a number in [0, 1]')), best: finite, bad: count }, 'a schedule state'),
  dataRng: generatorState,
  generators: v.array(generatorState, 'an array of generator states'),
  optimizerStep: count,
  stopped: v.boolean('a boolean'),
}, 'an object');
/** Generator states as `getState()` gives them (JSON turns the spare's NaN into null, which `setState` takes). */
export type TrainerState = Omit<v.InferOutput<typeof trainerStateSchema>, 'dataRng' | 'generators'> & { dataRng: number[]; generators: number[][] };

/**
 * Parses and validates the trainer state of a checkpoint (its `trainer` metadata, JSON text):
 * types, ranges and the state's agreement with itself (one history record per epoch, numbered
 * 1…epoch; bestEpoch within them and `best` its validation loss; one optimiser step per trainer
 * step). Throws CheckpointError naming the field and its value.
 *
 * @example
 * const st = parseTrainerState(decodeSafetensors(bytes).metadata.trainer, 'last.safetensors');
 * st.epoch;   // epochs completed
 */
export function parseTrainerState(text: string, where: string): TrainerState {
  const fail = (msg: string): never => { throw new CheckpointError(`${where}: trainer state: ${msg}`); };
  let raw: unknown;
  try { raw = JSON.parse(text); } catch { throw new CheckpointError(`${where}: the trainer state is not valid JSON`); }
  const r = v.safeParse(trainerStateSchema, raw, { abortEarly: true });
  if (!r.success) {
    const issue = r.issues[0];
    const full = issue.path?.length ? pathOf(issue) : '';
    const path = clipText(full, 110, 30);   // a key can be 100 KB long
    const at = path ? `${path}: ` : '';
    // a strict object reports a missing key with input undefined and an unknown key with expected 'never'
    if (issue.type === 'strict_object' && issue.expected === 'never') fail(`${at}unknown key`);
    if (issue.type === 'strict_object' && path && !('input' in issue && issue.input !== undefined)) fail(`${at}missing`);
    fail(`${at}expected ${issue.message}, got ${preview(issue.input)}`);
  }
  const st = r.output as TrainerState;
  if (st.history.length !== st.epoch) fail(`epoch ${st.epoch} but ${st.history.length} history records (one per completed epoch)`);
  st.history.forEach((h, i) => { if (h.epoch !== i + 1) fail(`history[${i}].epoch: ${h.epoch}, expected ${i + 1}`); });
  if (st.bestEpoch > st.epoch) fail(`bestEpoch: ${st.bestEpoch} is past epoch ${st.epoch}`);
  if (st.epoch > 0 && st.bestEpoch === 0) fail(`bestEpoch: 0 after ${st.epoch} epochs (the first epoch is always the best so far)`);
  const bestLoss = st.bestEpoch ? st.history[st.bestEpoch - 1].validLoss : null;
  if (st.best !== bestLoss) fail(`best: ${preview(st.best)} is not the validation loss of bestEpoch ${st.bestEpoch} (${preview(bestLoss)})`);
  if (st.optimizerStep !== st.step) fail(`optimizerStep: ${st.optimizerStep} differs from step ${st.step} (the trainer steps the optimiser once per step)`);
  return st;
}
