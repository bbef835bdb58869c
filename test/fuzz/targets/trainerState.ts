/**
 * The trainer state inside a resumable checkpoint (`Trainer.resume`): a valid state of a
 * finished 2-epoch run, mutated — retyped, missing and extra fields, huge and non-finite
 * numbers, deep nesting, wrong arrays, states that disagree with themselves, torn JSON text —
 * and also rebuilt as other valid states (earlier epochs, other generator words). It goes
 * into a real checkpoint and through `Trainer.resume`; only CheckpointError may escape. A
 * state that is accepted must describe itself honestly and its run must end: the resumed
 * trainer runs its remaining epochs and never more than it was configured for.
 */
import { Generator, data, models, train } from '../../../src/index.js';
import { chance, clone, mutateObject, nested, oddValue, pick, type FuzzTarget } from '../harness.js';

const schema = { fields: [{ name: 'x', kind: 'numeric' }], targets: [{ name: 'y', task: 'binary' }] };
const recRng = new Generator(7);
const records = Array.from({ length: 12 }, (_, i) => ({ x: recRng.normal(), y: i % 2 }));
const pre = data.Preprocessor.fit(schema, records);
const ds = pre.encode(records).dataset;
const split = { train: [0, 1, 2, 3, 4, 5, 6, 7], valid: [8, 9, 10, 11] };
const EPOCHS = 2;
const trainer = new train.Trainer(
  new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 4, heads: 1, layers: 1, dropout: 0.1 }, new Generator(1)),
  ds, split, { epochs: EPOCHS, batchSize: 8 }, { seed: 3 },
);
let last: Uint8Array | null = null;
trainer.callbacks.push({ onCheckpoint: (kind, bytes) => { if (kind === 'last') last = bytes; } });
trainer.run();
trainer.callbacks.length = 0;
const file = train.decodeSafetensors(last!);
const VALID = JSON.parse(file.metadata.trainer) as Record<string, unknown>;
const KEYS = [...Object.keys(VALID), 'trainLoss', 'validLoss', 'lr', 'seconds', 'plateauFactor', 'bad'];

let epochsRun = 0;
trainer.callbacks.push({ onEpochEnd: () => { if (++epochsRun > EPOCHS) throw new Error(`trainerState: a resumed run went past its ${EPOCHS} epochs`); } });

const u32 = (rng: Generator): number => rng.int(0, 2 ** 31 - 1) * 2 + rng.int(0, 2);
const HUGE = [2 ** 53, 2 ** 53 + 2, 1e21, 1e300, Number.MAX_VALUE, -Number.MAX_VALUE, 2 ** 32, 2 ** 32 - 1, -0, 5e-324];

/** Another valid state: the run as it stood after `epoch` epochs (0, 1 or 2), with other generator words. */
function validVariant(rng: Generator): Record<string, unknown> {
  const s = clone(VALID);
  const epoch = rng.int(0, EPOCHS + 1);
  const history = (s.history as Record<string, unknown>[]).slice(0, epoch);
  const best = history.reduce<number>((b, h, i) => (h.validLoss as number) < (history[b]?.validLoss as number) ? i : b, 0);
  Object.assign(s, { epoch, history, bestEpoch: epoch ? best + 1 : 0, best: epoch ? history[best].validLoss : null, stopped: chance(rng, 0.2) });
  s.step = s.optimizerStep = epoch * rng.int(0, 3);
  if (chance(rng, 0.5)) s.dataRng = [u32(rng), u32(rng), u32(rng), u32(rng), chance(rng, 0.5) ? null : rng.normal()];
  if (chance(rng, 0.3)) (s.schedule as Record<string, unknown>).plateauFactor = rng.uniform();
  return s;
}

/** JSON text of `value`; a value too deep for JSON.stringify is spliced in as text. */
function toText(rng: Generator, value: unknown): string {
  try { return JSON.stringify(value) ?? 'null'; } catch {
    const depth = rng.int(1000, 200_000);
    return JSON.stringify({ ...VALID, [pick(rng, KEYS)]: '@@' }).replace('"@@"', `${'['.repeat(depth)}0${']'.repeat(depth)}`);
  }
}

const target: FuzzTarget<string> = {
  name: 'trainerState',
  allowed: [train.CheckpointError],
  ciCount: 1000,
  generate(rng) {
    const s = chance(rng, 0.3) ? validVariant(rng) : clone(VALID);
    let value: unknown = s;
    for (let m = rng.int(0, 4); m > 0; m--) {
      switch (rng.int(0, 8)) {
        case 0: s[pick(rng, KEYS)] = oddValue(rng); break;
        case 1: s[pick(rng, KEYS)] = pick(rng, HUGE); break;
        case 2: delete s[pick(rng, Object.keys(s))]; break;
        case 3: s[pick(rng, ['epoch', 'step', 'bestEpoch', 'optimizerStep'])] = pick(rng, ['five', '2', 2.5, -1, null, [2], { n: 2 }, true]); break;
        case 4: if (Array.isArray(s.history)) {   // a copy: a mutation may have given the array its own 'constructor'
          const h = [...s.history as unknown[]];
          h.splice(rng.int(0, 3), rng.int(0, 2), pick(rng, [oddValue(rng), clone(VALID.history as unknown[])[0], 5, nested(rng.int(2, 40))]));
          s.history = h;
        } break;
        case 5: s[pick(rng, ['dataRng', 'generators'])] = pick(rng, [[1, 2, 3], [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, NaN], [[1, 2, 3, 4, null]], [], [-1, 0, 0, 0, null], ['1', '2', '3', '4', null]]); break;
        case 6: value = mutateObject(rng, value, KEYS); break;
        default: value = pick(rng, [[], {}, null, 'state', [s], { trainer: s }]);
      }
    }
    const text = toText(rng, value);
    if (chance(rng, 0.05)) return text.slice(0, rng.int(0, text.length));                              // torn text
    if (chance(rng, 0.05)) { const i = rng.int(0, text.length); return text.slice(0, i) + pick(rng, ['"', ',', '}', '\\u0000', 'NaN', '1e999']) + text.slice(i); }
    return text;
  },
  run(text) {
    trainer.resume(train.encodeSafetensors(file.tensors, { ...file.metadata, trainer: text }), null, 'fuzz');
    const h = trainer.history;
    if (!Number.isSafeInteger(trainer.epoch) || h.length !== trainer.epoch || h.some((r, i) => r.epoch !== i + 1)) {
      throw new Error(`trainerState: accepted a state whose epoch (${String(trainer.epoch).slice(0, 40)}) disagrees with its history`);
    }
    epochsRun = 0;
    trainer.run();
    return trainer.history.length;
  },
  describe: (text) => (text.length > 300 ? `${text.slice(0, 300)}… (${text.length} characters)` : text),
};
export default target;
