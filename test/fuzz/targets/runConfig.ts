/**
 * The run-config parser as `attnkit train` uses it (`loadRunConfig`: a YAML/JSON file, `--set`
 * overrides, validation, then the data schema): valid configs of every model type, mutated —
 * keys removed, retyped, added or duplicated; YAML aliases (shared, self-referencing, expanding);
 * non-finite numbers; truncated or garbled text; odd overrides. Only ConfigError may escape.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError, Generator, data } from '../../../src/index.js';
import { loadRunConfig } from '../../../src/cli/runFile.js';
import { chance, clone, mutateObject, oddValue, pick, type FuzzTarget } from '../harness.js';

const SCHEMA = {
  fields: [
    { name: 'x', kind: 'numeric' }, { name: 'colour', kind: 'categorical' }, { name: 'note', kind: 'text', minCount: 1 },
    { name: 'series', kind: 'timeSeries', patchSize: 2 }, { name: 'img', kind: 'image', height: 2, width: 2, patchSize: 1 },
  ],
  targets: [{ name: 'y', task: 'binary' }, { name: 'r', task: 'regression' }],
};
const BLOCKS: unknown[] = [
  { type: 'selfAttention', numHeads: 2 }, { type: 'conv', kernelSize: 3 }, { type: 'feedForward', hidden: 16 },
  { type: 'parallel', merge: 'attention', branches: [{ type: 'selfAttention', numHeads: 2 }, { type: 'conv', kernelSize: 3, causal: true }] },
  { type: 'serial', layers: [{ type: 'localAttention', numHeads: 2, window: 4 }, { type: 'linearAttention', numHeads: 2 }], norm: 'pre' },
  { type: 'fusion', mechanisms: [{ type: 'transformer', numHeads: 2 }, { type: 'conv', kernelSize: 5 }], gate: 'token' },
];
const MODELS: unknown[] = [
  { type: 'fusion', strategy: 'early', dim: 8, heads: 2, layers: 1 }, { type: 'fusion', strategy: 'latent', numLatents: 4 },
  { type: 'fusion', strategy: 'crossModal', sources: ['table'] }, { type: 'mlp', hidden: [8, 4], dropout: 0.1 }, { type: 'linear' },
  { type: 'textCnn', field: 'note', kernelSizes: [3, 5] }, { type: 'tcn', field: 'series', levels: 2 },
  { type: 'cnn2d', field: 'img', height: 2, width: 2, patchSize: 1 },
];
const TRAIN: unknown[] = [
  { epochs: 3, lr: 0.01 }, { optimizer: 'sgd', momentum: 0.9, nesterov: true, batchSize: 16 },
  { schedule: { type: 'plateau', factor: 0.5, patience: 2 }, patience: 4, clipNorm: 0 },
  { warmup: 0.1, accumulate: 2, labelSmoothing: 0.1, remedies: { entropy: { weight: 0.1 }, dropHead: { p: 0.1, schedule: 'v' } } },
];
const KEYS = ['name', 'seed', 'data', 'path', 'dataset', 'format', 'onError', 'limit', 'schema', 'fields', 'targets', 'kind', 'task', 'split', 'valid', 'test',
  'stratify', 'model', 'type', 'strategy', 'dim', 'heads', 'layers', 'block', 'branches', 'merge', 'train', 'lr', 'epochs', 'schedule', 'remedies'];

function validConfig(rng: Generator): Record<string, unknown> {
  const model = clone(pick(rng, MODELS)) as Record<string, unknown>;
  if (model.strategy === 'early' && chance(rng, 0.5)) model.block = clone(pick(rng, BLOCKS));
  const c: Record<string, unknown> = {
    ...(chance(rng, 0.5) ? { name: `run${rng.int(0, 9)}` } : {}), ...(chance(rng, 0.5) ? { seed: rng.int(0, 100) } : {}),
    data: chance(rng, 0.8) ? { path: pick(rng, ['rows.csv', 'rows.jsonl', '/abs/rows.tsv']), ...(chance(rng, 0.3) ? { onError: 'skip', limit: 50 } : {}) } : { dataset: 'penguins' },
    model,
  };
  if ((c.data as Record<string, unknown>).path || chance(rng, 0.3)) c.schema = clone(SCHEMA);
  if (chance(rng, 0.5)) c.split = { valid: pick(rng, [0.1, 0.2, 0.5]), test: pick(rng, [0.1, 0.2, 0.4]), stratify: chance(rng, 0.5) };
  if (chance(rng, 0.6)) c.train = clone(pick(rng, TRAIN));
  return c;
}

/** Text-level edits YAML allows and a schema cannot see: aliases, special floats, garbage. */
function editText(rng: Generator, text: string): string {
  switch (rng.int(0, 9)) {
    case 0: return text.replace(/^model:/m, 'model: &m').replace(/^(\s+)block:.*$/m, '$1block: *m') + (chance(rng, 0.5) ? '\nextra: *m\n' : '');
    case 1: return `${text}\nx: &x { type: serial, layers: [*x] }\n`.replace(/^model:(.*)$/m, 'model:$1');
    case 2: return text.replace(/lr: [^\n,}]+/, `lr: ${pick(rng, ['.inf', '-.inf', '.nan', '1e999', '0', '-1', '"0.1"', '~'])}`);
    case 3: return text.replace(/(valid|test|dim|epochs|heads|seed): [^\n,}]+/, `$1: ${pick(rng, ['.inf', '.nan', '1e308', '-0', '0.95', '2.5', '"x"', '[]', '{}'])}`);
    case 4: return `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n${text}`;
    case 5: return text.slice(0, rng.int(0, text.length + 1));
    case 6: { const i = rng.int(0, text.length); return text.slice(0, i) + pick(rng, ['\t', ':', '{', '[', '&', '*', '!', '%', '"', '\n- ', '<<: *m\n', '\u0000', '#']) + text.slice(i + 1); }
    case 7: return `${text}\n${text.split('\n')[rng.int(0, text.split('\n').length)]}\n`;   // a duplicated key
    default: return `${'['.repeat(rng.int(1, 3000))}${chance(rng, 0.5) ? ']'.repeat(rng.int(0, 3000)) : ''}`;
  }
}

const OVERRIDES = ['train.epochs=2', 'model.dim=16', 'split.valid=0.95', 'train.lr=.inf', 'model=1', 'data.path=', 'a.b.c.d=1', 'name.x=1', '=1', 'noequals',
  'train=[1, 2]', 'model.block={ type: serial, layers: [] }', 'seed=1e400', '__proto__.x=1', 'constructor.prototype.x=1', 'schema=~', 'train.lr=[1'];

const dir = mkdtempSync(join(tmpdir(), 'attnkit-fuzz-config-'));
const file = join(dir, 'config.yaml');

interface Input { text: string; set: string[] }

const target: FuzzTarget<Input> = {
  name: 'runConfig',
  allowed: [ConfigError],
  ciCount: 400,
  generate(rng) {
    let obj: unknown = validConfig(rng);
    for (let m = rng.int(0, 4); m > 0; m--) obj = mutateObject(rng, obj, KEYS);
    let text = JSON.stringify(obj) ?? 'null';
    // YAML (its writer recurses more deeply than JSON's: deep values stay JSON, which YAML reads too)
    if (chance(rng, 0.7)) try { text = stringify(obj === undefined ? null : obj, { aliasDuplicateObjects: false }); } catch { /* keep JSON */ }
    if (chance(rng, 0.3)) text = editText(rng, text);
    const set = chance(rng, 0.2) ? Array.from({ length: rng.int(1, 3) }, () => chance(rng, 0.8) ? pick(rng, OVERRIDES) : `${pick(rng, KEYS)}=${JSON.stringify(oddValue(rng))}`) : [];
    return { text, set };
  },
  run({ text, set }) {
    writeFileSync(file, text);
    const config = loadRunConfig(file, set);
    if (config.schema !== undefined) data.parseSchema(config.schema);
    return config;
  },
  describe: ({ text, set }) => `${JSON.stringify(text.slice(0, 250))} --set ${JSON.stringify(set)}`,
};
export default target;
