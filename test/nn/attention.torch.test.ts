/**
 * The attention layers (and the GRU the hierarchical network uses) against PyTorch (fixtures from scripts/torch_layer_fixtures.py):
 * weights loaded through the documented name mapping, outputs, attention weights, and the
 * gradients of sum(out · u) for the inputs and every parameter. Runs on both backends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Generator, Module, Tensor, backward, mul, nn, sum, tensor } from '../../src/index.js';
import { assertAllClose } from '../helpers.js';

interface J { shape: number[]; dtype: 'float32' | 'bool'; data: number[] }
interface Case {
  options: Record<string, number | boolean | string>;
  state: Record<string, J>;
  inputs: Record<string, J>;
  masks: Record<string, J>;
  output: J;
  weights: J | null;
  cotangent: J;
  grads: Record<string, J>;
  paramGrads: Record<string, J>;
}
const doc = JSON.parse(readFileSync(new URL('../fixtures/torch_layers.json', import.meta.url), 'utf8')) as { torch: string; cases: Record<string, Case> };

const fromJ = (j: J): Tensor => (j.dtype === 'bool'
  ? tensor(Uint8Array.from(j.data), { shape: j.shape, dtype: 'bool' })
  : tensor(Float32Array.from(j.data), { shape: j.shape }));

type Run = { module: Module; run: (ins: Record<string, Tensor>, masks: Record<string, Tensor>) => { output: Tensor; weights?: Tensor | null } };

function build(name: string, o: Case['options']): Run {
  const rng = new Generator(0);
  const layer = {
    dModel: o.dModel as number, nhead: o.nhead as number, dimFeedforward: o.dimFeedforward as number,
    activation: o.activation as 'relu' | 'gelu', normFirst: o.normFirst as boolean, dropout: 0, rng,
  };
  if (name.startsWith('mha')) {
    const m = new nn.MultiHeadAttention({
      embedDim: o.embedDim as number, numHeads: o.numHeads as number, kDim: o.kDim as number | undefined,
      vDim: o.vDim as number | undefined, bias: o.bias as boolean | undefined, rng,
    });
    return {
      module: m,
      run: ({ query, key, value }, masks) => m.forward(query!, key ?? query!, value ?? key ?? query!, {
        keyMask: masks.keyMask, attnMask: masks.attnMask, causal: o.causal as boolean | undefined,
        needWeights: true, averageWeights: !name.includes('perhead'),
      }),
    };
  }
  if (name.startsWith('gru')) {
    const m = new nn.GRU({ inputSize: o.inputSize as number, hiddenSize: o.hiddenSize as number, numLayers: o.numLayers as number, bidirectional: o.bidirectional as boolean, rng });
    return { module: m, run: ({ x }, masks) => ({ output: m.forward(x!, { mask: masks.mask }).output }) };
  }
  if (name.startsWith('encoder_layer')) {
    const m = new nn.TransformerEncoderLayer(layer);
    return { module: m, run: ({ src }, masks) => ({ output: m.forward(src!, { keyMask: masks.keyMask }).output }) };
  }
  if (name.startsWith('encoder_stack')) {
    const m = new nn.TransformerEncoder({ ...layer, numLayers: o.numLayers as number, finalNorm: o.finalNorm as boolean });
    return { module: m, run: ({ src }) => ({ output: m.forward(src!, { causal: true }).output }) };
  }
  if (name.startsWith('decoder_layer')) {
    const m = new nn.TransformerDecoderLayer(layer);
    return { module: m, run: ({ tgt, memory }, masks) => ({ output: m.forward(tgt!, memory!, { memoryKeyMask: masks.memoryKeyMask }).output }) };
  }
  const m = new nn.TransformerDecoder({ ...layer, numLayers: o.numLayers as number, finalNorm: o.finalNorm as boolean });
  return { module: m, run: ({ tgt, memory }) => ({ output: m.forward(tgt!, memory!).output }) };
}

const tol = { rtol: 2e-4, atol: 2e-5 };

for (const [name, c] of Object.entries(doc.cases)) {
  test(`torch ${doc.torch} parity: ${name}`, () => {
    const { module, run } = build(name, c.options);
    const state = Object.fromEntries(Object.entries(c.state).map(([k, j]) => [k, fromJ(j)]));
    module.loadStateDict(nn.fromTorchStateDict(state));
    // the mapping round-trips: our names map back to exactly PyTorch's
    assert.deepEqual(Object.keys(nn.toTorchStateDict(module.stateDict())).sort(), Object.keys(c.state).sort());

    const ins = Object.fromEntries(Object.entries(c.inputs).map(([k, j]) => [k, fromJ(j).requireGrad()]));
    const masks = Object.fromEntries(Object.entries(c.masks).map(([k, j]) => [k, fromJ(j)]));
    const { output, weights } = run(ins, masks);
    assertAllClose(output, fromJ(c.output), { ...tol, msg: `${name} output` });
    if (c.weights) assertAllClose(weights!, fromJ(c.weights), { ...tol, msg: `${name} weights` });

    backward(sum(mul(output, fromJ(c.cotangent))));
    for (const [k, j] of Object.entries(c.grads)) assertAllClose(ins[k]!.grad!, fromJ(j), { ...tol, msg: `${name} d/d${k}` });
    const params = new Map(Object.entries(nn.toTorchStateDict(Object.fromEntries(module.namedParameters()))));
    for (const [k, j] of Object.entries(c.paramGrads)) {
      const p = params.get(k);
      assert.ok(p, `${name}: no parameter maps to PyTorch's '${k}'`);
      assertAllClose(p.grad!, fromJ(j), { ...tol, msg: `${name} d/d${k}` });
    }
  });
}

test('torch parity: a fused run (no weights requested) gives the same outputs as the weights path', () => {
  const c = doc.cases.mha_self_keymask!;
  const { module } = build('mha_self_keymask', c.options);
  module.loadStateDict(nn.fromTorchStateDict(Object.fromEntries(Object.entries(c.state).map(([k, j]) => [k, fromJ(j)]))));
  const mha = module as InstanceType<typeof nn.MultiHeadAttention>;
  const x = fromJ(c.inputs.query!);
  const keyMask = fromJ(c.masks.keyMask!);
  const fused = mha.forward(x, x, x, { keyMask });
  assert.ok(!('weights' in fused), 'no weights unless asked');
  assertAllClose(fused.output, fromJ(c.output), { ...tol, msg: 'fused output vs PyTorch' });
});
