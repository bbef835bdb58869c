/**
 * ONNX export, verified by running every exported graph in onnxruntime-node and comparing with
 * attnkit's own forward (max |error| ≤ 1e-4), at two batch/sequence sizes (dynamic axes) and
 * with padded keys; unsupported layers are refused by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { ConfigError, Generator, Module, Tensor, exportOnnx, nn, randn, tensor } from '../../src/index.js';

function maskFor(B: number, T: number): Tensor {
  // row b keeps T − b real tokens (at least one)
  return tensor(Uint8Array.from({ length: B * T }, (_, i) => (i % T < Math.max(1, T - Math.floor(i / T)) ? 1 : 0)), { shape: [B, T] });
}

async function check(name: string, model: Module, run: (x: Tensor, keyMask: Tensor | null) => Tensor, C: number, withMask: boolean): Promise<void> {
  model.eval();
  const session = await ort.InferenceSession.create(exportOnnx(model, { keyMask: withMask }));
  for (const [B, T] of [[2, 5], [3, 9]]) {
    const x = randn([B, T, C], { rng: new Generator(B * 10 + T) });
    const keyMask = withMask ? maskFor(B, T) : null;
    const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', x.data as Float32Array, [B, T, C]) };
    if (keyMask) feeds.keyMask = new ort.Tensor('bool', keyMask.data as Uint8Array, [B, T]);
    const out = (await session.run(feeds)).y;
    const expected = run(x, keyMask);
    assert.deepEqual([...out.dims], [...expected.shape], `${name} [${B},${T}] shape`);
    let worst = 0;
    const got = out.data as Float32Array;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected.data[i]));
    assert.ok(worst <= 1e-4, `${name} [${B},${T}]: max |ORT − attnkit| = ${worst}`);
  }
}

const rng = (): Generator => new Generator(3);

test('Linear and LayerNorm export and match in ONNX Runtime', async () => {
  const lin = new nn.Linear(6, 4, { rng: rng() });
  await check('Linear', lin, (x) => lin.forward(x), 6, false);
  const ln = new nn.LayerNorm(6);
  ln.weight!.data.set([1, 2, 0.5, 1, 1.5, 0.3]); ln.bias!.data.set([0, 1, -1, 0.5, 0, 0.2]);
  await check('LayerNorm', ln, (x) => ln.forward(x), 6, false);
});

test('MultiHeadAttention (self-attention with padded keys) matches in ONNX Runtime', async () => {
  const m = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: rng() });
  await check('MultiHeadAttention', m, (x, keyMask) => m.forward(x, x, x, { keyMask }).output, 8, true);
  await check('MultiHeadAttention (no mask)', m, (x) => m.forward(x).output, 8, false);
});

test('Transformer encoder layers and stacks (pre/post-norm, ReLU/GELU) match in ONNX Runtime', async () => {
  for (const [normFirst, activation] of [[true, 'gelu'], [false, 'relu']] as const) {
    const layer = new nn.TransformerEncoderLayer({ dModel: 8, nhead: 2, dimFeedforward: 16, normFirst, activation, dropout: 0, rng: rng() });
    await check(`TransformerEncoderLayer ${normFirst ? 'pre' : 'post'} ${activation}`, layer, (x, keyMask) => layer.forward(x, { keyMask }), 8, true);
  }
  const enc = new nn.TransformerEncoder({ dModel: 8, nhead: 4, dimFeedforward: 16, numLayers: 3, normFirst: true, finalNorm: true, activation: 'gelu', dropout: 0, rng: rng() });
  await check('TransformerEncoder', enc, (x, keyMask) => enc.forward(x, { keyMask }), 8, true);
});

test('AttentionPooling (one and several queries) matches in ONNX Runtime', async () => {
  for (const numQueries of [1, 3]) {
    const pool = new nn.AttentionPooling({ embedDim: 8, numHeads: 2, numQueries, rng: rng() });
    await check(`AttentionPooling ×${numQueries}`, pool, (x, keyMask) => pool.forward(x, { keyMask }).output, 8, true);
  }
});

test('unsupported layers are refused with an error naming them', () => {
  const sparse = new nn.SparseSelfAttention({ embedDim: 8, numHeads: 2, pattern: 'window', window: 1, rng: rng() });
  assert.throws(() => exportOnnx(sparse), (e: Error) => e instanceof ConfigError && /exportOnnx: SparseSelfAttention is not supported \(supported: Linear/.test(e.message));
  const rope = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rope: true, rng: rng() });
  assert.throws(() => exportOnnx(rope), /rope or alibi is not supported/);
});
