/**
 * Record validation (`data.validateRecords`, what a prediction server runs on request bodies)
 * and then encoding by the fitted Preprocessor: valid records of every field kind, mutated —
 * wrong types, huge / NaN / ±∞ / float32-overflowing numbers, missing and extra fields, odd
 * strings, nesting, batches of the wrong size. Only DataError may escape either step.
 */
import { DataError, Generator, data } from '../../../src/index.js';
import { FUSION_TEST_SCHEMA } from '../../helpers.js';
import { chance, clone, mutateObject, oddValue, pick, type FuzzTarget } from '../harness.js';

const WORDS = ['good', 'bad', 'fine', 'odd', 'new'];

function record(rng: Generator): Record<string, unknown> {
  return {
    x1: chance(rng, 0.1) ? null : rng.normal(), x2: chance(rng, 0.2) ? String(rng.normal()) : rng.normal(), x3: rng.normal(),
    cat: pick(rng, ['a', 'b', 'c', null, 'unseen', 3, true]),
    text: Array.from({ length: rng.int(0, 6) }, () => pick(rng, WORDS)).join(' '),
    kv: pick(rng, [{ mood: pick(rng, WORDS), n: rng.int(0, 3) }, [['mood', 'good'], ['n', 1]], 'mood=good n=1', null]),
    series: chance(rng, 0.1) ? null : Array.from({ length: rng.int(0, 9) }, () => rng.normal()),
    img: chance(rng, 0.1) ? null : Array.from({ length: 4 }, () => rng.uniform()),
    y: rng.int(0, 2), k: pick(rng, ['p', 'q', 'r']), r: 3 + 2 * rng.normal(),
  };
}

const fitRng = new Generator(11);
const pre = data.Preprocessor.fit(FUSION_TEST_SCHEMA, Array.from({ length: 40 }, () => record(fitRng)) as data.DataRecord[]);
const fields = pre.fieldInfo(), targets = pre.targetInfo();
const KEYS = [...fields.map((f) => f.name), ...targets.map((t) => t.name)];

const NUMBERS = [NaN, Infinity, -Infinity, 1e39, -3.5e38, 3.4e38, 1e308, 5e-324, -0, 2 ** 53 + 1, 0];
const STRINGS = ['', ' ', 'NaN', '1e999', '0x10', '1,5', ' 7 ', 'Infinity', '-', '\u0000', '💥', '__proto__', 'x'.repeat(5000)];

type Input = unknown;

const target: FuzzTarget<Input> = {
  name: 'records',
  allowed: [DataError],
  ciCount: 3000,
  generate(rng) {
    const n = rng.int(1, 4);
    const recs: unknown[] = Array.from({ length: n }, () => record(rng));
    for (let m = rng.int(0, 4); m > 0; m--) {
      const r = recs[rng.int(0, recs.length)] as Record<string, unknown>;
      switch (rng.int(0, 6)) {
        case 0: r[pick(rng, KEYS)] = pick(rng, NUMBERS); break;
        case 1: r[pick(rng, KEYS)] = pick(rng, STRINGS); break;
        case 2: delete r[pick(rng, KEYS)]; break;
        case 3: if (Array.isArray(r.series)) (r.series as unknown[])[rng.int(0, r.series.length + 1)] = pick(rng, [...NUMBERS, '1', null, [1]]); break;
        case 4: r[pick(rng, ['extra', 'X1', '__proto__', 'constructor', ''])] = oddValue(rng); break;
        default: mutateObject(rng, r, KEYS);
      }
    }
    if (chance(rng, 0.02)) return oddValue(rng);
    if (chance(rng, 0.02)) return { records: pick(rng, [[], clone(recs).concat(Array(rng.int(1000, 1100)).fill(recs[0])), recs[0], null]) };
    if (chance(rng, 0.02)) return { records: recs, extra: 1 };
    return n === 1 && chance(rng, 0.5) ? recs[0] : { records: recs };
  },
  run(input) {
    const recs = data.validateRecords(fields, input, { where: 'fuzz', targets });
    return pre.encode(recs, { targets: false });
  },
};
export default target;
