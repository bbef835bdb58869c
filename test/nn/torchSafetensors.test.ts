/**
 * PyTorch weights in and out: safetensors files written from PyTorch modules
 * (scripts/torch_safetensors_fixtures.py) load into the matching attnkit modules through the
 * name mapping and give PyTorch's outputs; attnkit writes them back under PyTorch's names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Generator, Module, Tensor, nn, tensor, train } from '../../src/index.js';
import { assertAllClose } from '../helpers.js';

interface J { shape: number[]; dtype: string; data: number[] }
interface Case { options: Record<string, number | boolean | string>; input: J; output: J; names: string[] }
const doc = JSON.parse(readFileSync(new URL('../fixtures/torch_safetensors.json', import.meta.url), 'utf8')) as { cases: Record<string, Case> };
const file = (name: string): Uint8Array => readFileSync(new URL(`../fixtures/torch_safetensors/${name}.safetensors`, import.meta.url));
const fromJ = (j: J): Tensor => (j.dtype === 'int32' ? tensor(Int32Array.from(j.data), { shape: j.shape }) : tensor(Float32Array.from(j.data), { shape: j.shape }));

function build(name: string, o: Case['options']): { module: Module; run: (x: Tensor) => Tensor } {
  const rng = new Generator(0);
  const n = (k: string): number => o[k] as number;
  switch (name) {
    case 'linear': { const m = new nn.Linear(n('inFeatures'), n('outFeatures'), { rng }); return { module: m, run: (x) => m.forward(x) }; }
    case 'layer_norm': { const m = new nn.LayerNorm(n('dim')); return { module: m, run: (x) => m.forward(x) }; }
    case 'embedding': { const m = new nn.Embedding(n('num'), n('dim'), { rng }); return { module: m, run: (x) => m.forward(x) }; }
    case 'conv1d': { const m = new nn.Conv1d(n('inChannels'), n('outChannels'), n('kernelSize'), { padding: n('padding'), rng }); return { module: m, run: (x) => m.forward(x) }; }
    case 'conv2d': { const m = new nn.Conv2d(n('inChannels'), n('outChannels'), n('kernelSize'), { padding: n('padding'), stride: n('stride'), rng }); return { module: m, run: (x) => m.forward(x) }; }
    case 'multihead_attention': { const m = new nn.MultiHeadAttention({ embedDim: n('embedDim'), numHeads: n('numHeads'), rng }); return { module: m, run: (x) => m.forward(x, x, x).output }; }
    case 'gru': {
      const m = new nn.GRU({ inputSize: n('inputSize'), hiddenSize: n('hiddenSize'), numLayers: n('numLayers'), bidirectional: o.bidirectional as boolean, rng });
      return { module: m, run: (x) => m.forward(x).output };
    }
    default: {
      const layer = { dModel: n('dModel'), nhead: n('nhead'), dimFeedforward: n('dimFeedforward'), activation: o.activation as 'relu' | 'gelu', normFirst: o.normFirst as boolean, dropout: 0, rng };
      const m = name === 'transformer_encoder_layer' ? new nn.TransformerEncoderLayer(layer) : new nn.TransformerEncoder({ ...layer, numLayers: n('numLayers'), finalNorm: o.finalNorm as boolean });
      return { module: m, run: (x) => m.forward(x).output };
    }
  }
}

for (const [name, c] of Object.entries(doc.cases)) {
  test(`PyTorch ${name}: its safetensors file loads by name mapping, the output equals PyTorch's, and it writes back under PyTorch's names`, () => {
    const { module, run } = build(name, c.options);
    nn.loadTorchSafetensors(module, file(name), `${name}.safetensors`);
    module.eval();
    assertAllClose(run(fromJ(c.input)), fromJ(c.output), { rtol: 1e-4, atol: 2e-5, msg: name });
    const back = train.decodeSafetensors(nn.torchSafetensors(module));
    const orig = train.decodeSafetensors(file(name));
    assert.deepEqual(Object.keys(back.tensors).sort(), [...c.names].sort(), 'PyTorch names');
    // each tensor's bytes are PyTorch's (the README's claim); the header (key order, metadata, padding) is not compared
    const bytesOf = (t: Tensor): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    for (const k of c.names) {
      assert.equal(back.tensors[k].dtype, orig.tensors[k].dtype, k);
      assert.deepEqual(back.tensors[k].shape, orig.tensors[k].shape, k);
      assert.deepEqual(bytesOf(back.tensors[k]), bytesOf(orig.tensors[k]), k);
    }
    assert.equal(back.metadata.format, 'pt');
  });
}

test('a PyTorch file for another module is refused with the names that do not fit', () => {
  const mha = new nn.MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: new Generator(0) });
  assert.throws(() => nn.loadTorchSafetensors(mha, file('linear'), 'linear.safetensors'),
    (e: Error) => e instanceof train.CheckpointError && /linear\.safetensors: the weights do not fit MultiHeadAttention \(.*missing \[inProjWeight/.test(e.message));
  const small = new nn.Linear(5, 2, { rng: new Generator(0) });
  assert.throws(() => nn.loadTorchSafetensors(small, file('linear'), 'linear.safetensors'), /'weight' has shape \[3,5\], the parameter is \[2,5\]/);
});
