/**
 * The trainer state inside a checkpoint is validated before anything is restored: every bad
 * field is a CheckpointError naming the field and its (truncated) value, a refused checkpoint
 * leaves the trainer untouched, and a resumed run always ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, Tensor, data, models, train } from '../../src/index.js';

const schema = { fields: [{ name: 'x', kind: 'numeric' }, { name: 'c', kind: 'categorical' }], targets: [{ name: 'y', task: 'binary' }] };
const rng0 = new Generator(4);
const records = Array.from({ length: 48 }, (_, i) => {
  const x = rng0.normal();
  return { x, c: ['a', 'b'][i % 2], y: x + (i % 2) - 0.5 > 0 ? 1 : 0 };
});
const pre = data.Preprocessor.fit(schema, records);
const ds = pre.encode(records).dataset;
const split = data.splitIndices(ds.size, { seed: 1 });
const opts = { epochs: 3, lr: 0.01, batchSize: 16 };
const model = (): models.FusionModel => new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { dim: 8, heads: 2, layers: 1, dropout: 0.1 }, new Generator(9));
const trainer = (): train.Trainer => new train.Trainer(model(), ds, split, opts, { seed: 5 });

// the checkpoint after epoch 2 of 3, and its trainer state
const source = trainer();
let last: Uint8Array | null = null;
source.callbacks.push({ onCheckpoint: (kind, bytes, t) => { if (kind === 'last' && t.epoch === 2) last = bytes; } });
source.run();
const file = train.decodeSafetensors(last!);
const good = JSON.parse(file.metadata.trainer) as Record<string, unknown>;

/** The checkpoint with its trainer state replaced by `state` (an object, or raw JSON text). */
function withState(state: unknown): Uint8Array {
  const text = typeof state === 'string' ? state : JSON.stringify(state);
  return train.encodeSafetensors(file.tensors, { ...file.metadata, trainer: text });
}
const edit = (f: (s: Record<string, unknown>) => void): Uint8Array => { const s = structuredClone(good); f(s); return withState(s); };

function refused(bytes: Uint8Array, pattern: RegExp): train.CheckpointError {
  const t = trainer();
  let caught: unknown;
  try { t.resume(bytes, null, 'last.safetensors'); } catch (e) { caught = e; }
  assert.ok(caught instanceof train.CheckpointError, `expected a CheckpointError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : 'no error'}`);
  assert.match(caught.message, pattern);
  assert.ok(caught.message.length < 400, `message bounded: ${caught.message.length} characters`);
  return caught;
}

test('the untouched state resumes', () => {
  const t = trainer();
  t.resume(withState(good), null, 'last.safetensors');
  assert.equal(t.epoch, 2);
});

test('each bad field of the trainer state is a CheckpointError naming the field and the value', () => {
  refused(edit((s) => { s.epoch = 'five'; }), /last\.safetensors: trainer state: epoch: expected .*, got "five"/);
  refused(edit((s) => { s.epoch = 1.5; }), /epoch: expected an integer.*got 1\.5/);
  refused(edit((s) => { s.epoch = -1; }), /epoch: expected .*0.*got -1/);
  refused(edit((s) => { s.epoch = 1e300; }), /epoch: .*got 1e\+300/);
  refused(edit((s) => { s.history = 5; }), /history: expected .*array.*got 5/i);
  refused(edit((s) => { delete s.schedule; }), /schedule: missing/);
  refused(edit((s) => { (s.schedule as Record<string, unknown>).bad = 'x'; }), /schedule\.bad: expected .*got "x"/);
  refused(edit((s) => { (s.history as Record<string, unknown>[])[1].trainLoss = null; }), /history\[1\]\.trainLoss: expected .*got null/);
  refused(edit((s) => { (s.history as Record<string, unknown>[])[0].best = 'yes'; }), /history\[0\]\.best: expected .*got "yes"/);
  refused(edit((s) => { s.step = -3; }), /step: expected .*got -3/);
  refused(edit((s) => { s.dataRng = [1, 2, 3]; }), /dataRng: .*got \[1,2,3\]/);
  refused(edit((s) => { (s.generators as unknown[][])[0] = [1, 2, 3, 2 ** 32, null]; }), /generators\[0\]\[3\]: expected .*got 4294967296/);
  refused(edit((s) => { s.stopped = 0; }), /stopped: expected .*boolean.*got 0/i);
  refused(edit((s) => { s.best = 'low'; }), /best: expected .*got "low"/);
  refused(edit((s) => { s.surprise = 1; }), /surprise: unknown key/);
  refused(withState('[1, 2]'), /trainer state: expected an object, got \[1,2\]/);
  refused(withState('{"epoch": '), /trainer state is not valid JSON/);
});

test('the state must agree with itself', () => {
  refused(edit((s) => { s.epoch = 3; }), /epoch 3 but 2 history records/);
  refused(edit((s) => { (s.history as Record<string, unknown>[])[1].epoch = 7; }), /history\[1\]\.epoch: 7, expected 2/);
  refused(edit((s) => { s.bestEpoch = 3; }), /bestEpoch: 3 is past epoch 2/);
  refused(edit((s) => { s.optimizerStep = (s.step as number) + 1; }), /optimizerStep: \d+ differs from step \d+/);
  refused(edit((s) => { s.best = 0.123; }), /best: 0\.123 is not the validation loss of bestEpoch/);
  refused(edit((s) => { (s.generators as unknown[]).pop(); }), /generator states for a model with/);
});

test('long and deep values are truncated in messages, never stringified whole', () => {
  const long = refused(edit((s) => { s.epoch = 'x'.repeat(100_000); }), /epoch: expected .*got "x+…/);
  assert.ok(long.message.length < 250, long.message);
  const deep = `[${'['.repeat(200_000)}0${']'.repeat(200_000)}]`;   // as text: JSON.stringify itself would overflow the stack
  refused(withState(JSON.stringify({ ...good, history: '@' }).replace('"@"', deep)), /history\[0\]: expected .*got \[\[\[/);
  refused(edit((s) => { s.generators = Array.from({ length: 100_000 }, () => 'g'); }), /generators\[0\]: expected/);
  refused(edit((s) => { s['k'.repeat(100_000)] = 1; }), /trainer state: k+…k+: unknown key$/);
});

test('a refused checkpoint leaves the trainer untouched', () => {
  const t = trainer();
  const before = t.model.parameters().flatMap((p) => Array.from(p.data));
  refused(edit((s) => { s.history = 5; }), /history/);
  assert.throws(() => t.resume(edit((s) => { s.history = 5; }), null, 'last.safetensors'), train.CheckpointError);
  assert.deepEqual(t.model.parameters().flatMap((p) => Array.from(p.data)), before, 'weights not loaded from a refused checkpoint');
  assert.equal(t.epoch, 0);
});

test('a checkpoint refused after its weights loaded (a wrong-size optimiser buffer) rolls the weights and optimiser back', () => {
  const t = trainer();
  t.run();                                                       // a trained trainer: weights and optimiser state to protect
  const before = t.model.parameters().flatMap((p) => Array.from(p.data));
  const optBefore = JSON.stringify(t.optimizer.state());
  const m0 = file.tensors['__optim__.m.0'];
  assert.ok(m0, 'the checkpoint holds __optim__.m.0');
  const tensors = { ...file.tensors, '__optim__.m.0': new Tensor(new Float64Array(m0.size + 1), [m0.size + 1]) };
  const bad = train.encodeSafetensors(tensors, file.metadata);   // a valid trainer state: refused only by loadState
  assert.throws(() => t.resume(bad, null, 'last.safetensors'), (e: unknown) => e instanceof train.CheckpointError && /'m' entry 0 has \d+ values/.test(e.message));
  assert.deepEqual(t.model.parameters().flatMap((p) => Array.from(p.data)), before, 'weights rolled back');
  assert.equal(JSON.stringify(t.optimizer.state()), optBefore, 'optimiser state rolled back');
  assert.equal(t.epoch, opts.epochs);
});

test('a checkpoint with a huge optimiser buffer name or 65,536 unknown tensors is refused in a short message', () => {
  const t = trainer();
  const short = (tensors: Record<string, Tensor>): void => assert.throws(() => t.resume(train.encodeSafetensors(tensors, file.metadata), null, 'last.safetensors'),
    (e: unknown) => e instanceof train.CheckpointError && e.message.length < 1000);
  short({ ...file.tensors, [`__optim__.m.${'9'.repeat(100_000)}`]: new Tensor(new Float64Array(1), [1]) });
  const many: Record<string, Tensor> = { ...file.tensors };
  for (let i = 0; i < 65_000; i++) many[`${'w'.repeat(200)}${i}`] = new Tensor(new Float32Array(1), [1]);
  short(many);
});

test('resume never loops: a valid state runs its remaining epochs, an invalid one is refused before run()', () => {
  const mutations: ((s: Record<string, unknown>) => void)[] = [
    (s) => { s.epoch = 'five'; }, (s) => { s.epoch = '2'; }, (s) => { s.epoch = null; }, (s) => { s.epoch = NaN; },
    (s) => { s.epoch = -5; }, (s) => { s.epoch = 2 ** 60; }, (s) => { s.step = 'x'; }, (s) => { s.stopped = 'no'; },
    (s) => { s.history = {}; }, (s) => { delete s.history; }, () => { /* untouched */ },
  ];
  for (const m of mutations) {
    const t = trainer();
    let epochs = 0;
    t.callbacks.push({ onEpochEnd: () => { if (++epochs > opts.epochs) throw new Error('resume looped past its epochs'); } });
    try { t.resume(edit(m), null, 'last.safetensors'); } catch (e) {
      assert.ok(e instanceof train.CheckpointError, `${String(m)}: ${(e as Error).name}: ${(e as Error).message}`);
      continue;
    }
    const r = t.run();
    assert.equal(r.history.length, opts.epochs, String(m));
    assert.ok(epochs <= 1, `${String(m)}: ${epochs} epochs after resuming at epoch 2 of 3`);
  }
});
