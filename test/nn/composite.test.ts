/** Composite modules: every merge mode against its formula, serial/fusion semantics, masks, configs (JSON and YAML), gates. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { ConfigError, F, Generator, Tensor, ValueError, backward, nn, randn, tensor } from '../../src/index.js';
import { assertAllClose } from '../helpers.js';
import { checkLayerContract } from './contract.js';

const C = 8;
const x = (seed = 0): Tensor => randn([2, 5, C], { rng: new Generator(seed) });
const keyMask = tensor(Uint8Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]), { shape: [2, 5] });
const twoBranches = (rng: Generator): nn.Block[] => [
  new nn.SelfAttentionBlock({ embedDim: C, numHeads: 2, rng }),
  new nn.ConvBlock({ embedDim: C, kernelSize: 3, rng }),
];

test('Parallel sum / mean / concat (unprojected) equal their formulas over the branch outputs', () => {
  const input = x();
  for (const merge of ['sum', 'mean', 'concat'] as const) {
    const rng = new Generator(3);
    const branches = twoBranches(rng);
    const par = new nn.Parallel({ embedDim: C, merge, branches, project: false, rng });
    const y = par.forward(input, { keyMask }).output;
    const [a, b] = branches.map((br) => br.forward(input, { keyMask }).output);
    const expected = merge === 'sum' ? F.add(a, b) : merge === 'mean' ? F.div(F.add(a, b), 2) : F.cat([a, b], -1);
    assertAllClose(y, expected, { msg: merge });
    assert.equal(par.outDim, merge === 'concat' ? 2 * C : C);
    assert.equal(par.gateValues(), null, 'no gates for fixed merges');
  }
});

test('Parallel gated: output is Σ gᵢ·yᵢ with gᵢ = σ(W[y₁;y₂] + b); gate values are mean gates over real tokens', () => {
  const rng = new Generator(4);
  const branches = twoBranches(rng);
  const par = new nn.Parallel({ embedDim: C, merge: 'gated', branches, rng });
  const input = x(1);
  const y = par.forward(input, { keyMask }).output;
  const ys = branches.map((b) => b.forward(input, { keyMask }).output);
  const g = F.sigmoid(par.gateProj!.forward(F.cat(ys, -1)));                 // [B, T, 2]
  const expected = F.add(F.mul(ys[0], F.narrow(g, -1, 0, 1)), F.mul(ys[1], F.narrow(g, -1, 1, 1)));
  assertAllClose(y, expected, { rtol: 1e-5, atol: 1e-6 });
  const gv = par.gateValues()!;
  assert.deepEqual(gv.names, ['SelfAttentionBlock', 'ConvBlock']);
  // mean over the 8 real positions only
  for (let i = 0; i < 2; i++) {
    let s = 0;
    for (let r = 0; r < 10; r++) if (keyMask.data[r]) s += g.data[r * 2 + i];
    assert.ok(Math.abs(gv.values[i] - s / 8) < 1e-6, `gate ${i}`);
    assert.ok(gv.values[i] > 0 && gv.values[i] < 1);
  }
});

test('Parallel attention merge: per-token weights sum to 1 and the output is their convex combination', () => {
  const rng = new Generator(5);
  const branches = [...twoBranches(rng), new nn.FeedForwardBlock({ embedDim: C, rng })];
  const par = new nn.Parallel({ embedDim: C, merge: 'attention', branches, rng });
  const input = x(2);
  const y = par.forward(input).output;
  const ys = branches.map((b) => b.forward(input).output);
  const s = F.stack(ys, 2);                                                   // [B, T, 3, C]
  const a = F.softmax(F.squeeze(par.scoreV!.forward(F.tanh(par.scoreW!.forward(s))), -1), -1);
  assertAllClose(F.sum(a, -1).data, new Array(10).fill(1), { msg: 'weights sum to 1' });
  assertAllClose(y, F.sum(F.mul(s, F.unsqueeze(a, -1)), 2));
  const gv = par.gateValues()!;
  assert.ok(Math.abs(gv.values.reduce((p, q) => p + q, 0) - 1) < 1e-6);
});

test('every merge mode trains: gradients reach every parameter of every branch', () => {
  for (const merge of nn.MERGE_MODES) {
    const rng = new Generator(6);
    const par = new nn.Parallel({ embedDim: C, merge, branches: twoBranches(rng), rng });
    backward(F.sum(F.square(par.forward(x(), { keyMask }).output)));
    for (const [name, p] of par.namedParameters()) {
      assert.ok(p.grad, `${merge}: ${name} has no gradient`);
      assert.ok(Array.from(p.grad!.data).some((v) => v !== 0), `${merge}: ${name} gradient is all zero`);
    }
  }
});

test('padded positions never change real outputs (attention, conv, local and linear blocks)', () => {
  const rng = new Generator(7);
  const block = new nn.Parallel({
    embedDim: C, merge: 'mean', rng, branches: [
      new nn.SelfAttentionBlock({ embedDim: C, numHeads: 2, rng }), new nn.ConvBlock({ embedDim: C, kernelSize: 3, rng }),
      new nn.LocalAttentionBlock({ embedDim: C, numHeads: 2, window: 1, rng }), new nn.LinearAttentionBlock({ embedDim: C, numHeads: 2, rng }),
    ],
  });
  const a = x(3), b = new Tensor(a.data.slice(), a.shape);
  for (let t = 3; t < 5; t++) for (let c = 0; c < C; c++) b.data[(5 + t) * C + c] = 100 + t;   // batch 1, padded t = 3, 4
  const ya = block.forward(a, { keyMask }).output, yb = block.forward(b, { keyMask }).output;
  const real = (y: Tensor): number[] => Array.from(y.data).filter((_, i) => keyMask.data[Math.floor(i / C)]);
  assertAllClose(real(yb), real(ya), { atol: 1e-5 });
});

test('a causal ConvBlock ignores the future; a non-causal one needs an even span', () => {
  const rng = new Generator(8);
  const conv = new nn.ConvBlock({ embedDim: C, kernelSize: 3, dilation: 2, causal: true, rng });
  const a = x(4), b = new Tensor(a.data.slice(), a.shape);
  for (let c = 0; c < C; c++) b.data[4 * C + c] += 5;                       // change t = 4 of batch 0
  const ya = conv.forward(a), yb = conv.forward(b);
  assertAllClose(Array.from(yb.output.data).slice(0, 4 * C), Array.from(ya.output.data).slice(0, 4 * C));
  assert.notDeepEqual(Array.from(yb.output.data).slice(4 * C, 5 * C), Array.from(ya.output.data).slice(4 * C, 5 * C));
  assert.throws(() => new nn.ConvBlock({ embedDim: C, kernelSize: 2, rng }), /even/);
});

test('Serial: residual and norm placement follow their formulas', () => {
  const rng = new Generator(9);
  const ff = new nn.FeedForwardBlock({ embedDim: C, rng });
  const input = x(5);
  assertAllClose(new nn.Serial({ embedDim: C, layers: [ff], norm: 'none' }).forward(input).output, F.add(input, ff.forward(input).output));
  const pre = new nn.Serial({ embedDim: C, layers: [ff], norm: 'pre' });
  assertAllClose(pre.forward(input).output, F.add(input, ff.forward(pre.norms[0].forward(input)).output));
  const post = new nn.Serial({ embedDim: C, layers: [ff], norm: 'post', residual: false });
  assertAllClose(post.forward(input).output, post.norms[0].forward(ff.forward(input).output));
  assert.throws(() => new nn.Serial({ embedDim: C, layers: [] }), ValueError);
});

test('Fusion: static gates start uniform, y = x + Σ softmax(α)ᵢ mᵢ(LN(x)); training moves the gates', () => {
  const rng = new Generator(10);
  const mechs = twoBranches(rng);
  const fus = new nn.Fusion({ embedDim: C, mechanisms: mechs, rng });
  assert.deepEqual(fus.gateValues()!.values, [0.5, 0.5]);
  const input = x(6);
  const h = fus.norm.forward(input);
  const expected = F.add(input, F.div(F.add(mechs[0].forward(h).output, mechs[1].forward(h).output), 2));
  assertAllClose(fus.forward(input).output, expected);
  const target = randn([2, 5, C], { rng: new Generator(11) });
  for (let i = 0; i < 3; i++) {
    fus.zeroGrad();
    backward(F.mseLoss(fus.forward(input).output, target));
    for (const p of fus.parameters()) if (p.grad) for (let j = 0; j < p.size; j++) p.data[j] -= 0.5 * p.grad.data[j];
  }
  assert.notDeepEqual(fus.gateValues()!.values, [0.5, 0.5]);
  const tok = new nn.Fusion({ embedDim: C, mechanisms: twoBranches(rng), gate: 'token', rng });
  tok.forward(input, { keyMask });
  assert.ok(tok.gateValues()!.values.every((g) => g > 0 && g < 1));
});

test('layer contract for a built composite (shape, parameter count, state round-trip, seeds, one step)', () => {
  const config = { type: 'serial', layers: [
    { type: 'fusion', mechanisms: [{ type: 'selfAttention', numHeads: 2 }, { type: 'conv', kernelSize: 3 }] },
    { type: 'parallel', merge: 'gated', branches: [{ type: 'feedForward', hidden: 16 }, { type: 'linearAttention', numHeads: 2 }] },
  ] };
  const make = (seed: number): nn.Block => nn.buildBlock(config, C, new Generator(seed));
  const m = make(1);
  checkLayerContract({ make, input: () => x(7), outShape: [2, 5, C], numParameters: m.numParameters() });
  // the count by hand: serial norms 2·2C; fusion: LN 2C + MHA (4C²+4C) + conv (3C²+C) + gate logits 2;
  // parallel: FF (C·16+16 + 16·C+C) + linear attention (3C²+3C + C²+C) + gate proj (2C·2+2)
  const expected = 4 * C + (2 * C + 4 * C * C + 4 * C + 3 * C * C + C + 2) + (C * 16 + 16 + 16 * C + C + 3 * C * C + 3 * C + C * C + C + 4 * C + 2);
  assert.equal(m.numParameters(), expected);
});

test('buildBlock reads the same tree from YAML as from JSON; bad configs are ConfigErrors naming the path', () => {
  const yaml = `
type: parallel
merge: attention
branches:
  - type: selfAttention
    numHeads: 2
  - type: serial
    layers:
      - { type: conv, kernelSize: 3, causal: true }
      - { type: localAttention, numHeads: 2, window: 2 }
`;
  const fromYaml = nn.buildBlock(parseYaml(yaml), C, new Generator(1));
  const fromJson = nn.buildBlock({ type: 'parallel', merge: 'attention', branches: [
    { type: 'selfAttention', numHeads: 2 },
    { type: 'serial', layers: [{ type: 'conv', kernelSize: 3, causal: true }, { type: 'localAttention', numHeads: 2, window: 2 }] },
  ] }, C, new Generator(1));
  assertAllClose(fromYaml.forward(x()).output, fromJson.forward(x()).output);
  assert.throws(() => nn.buildBlock({ type: 'serial', layers: [{ type: 'conv', kernelSize: 3, kernal: 2 }] }, C, new Generator(0)),
    (e: Error) => e instanceof ConfigError && /layers\[0\]\.kernal: unknown key/.test(e.message));
  assert.throws(() => nn.buildBlock({ type: 'parallel', merge: 'max', branches: [{ type: 'conv', kernelSize: 3 }] }, C, new Generator(0)),
    (e: Error) => e instanceof ConfigError && /merge/.test(e.message));
  assert.throws(() => nn.buildBlock({ type: 'serial', layers: [] }, C, new Generator(0)), (e: Error) => e instanceof ConfigError && /layers/.test(e.message));
  assert.throws(() => nn.buildBlock({ type: 'selfAttention', numHeads: 0 }, C, new Generator(0)), (e: Error) => e instanceof ConfigError && /numHeads/.test(e.message));
});

test('collectGates finds every gated composite by path', () => {
  const block = nn.buildBlock({ type: 'serial', layers: [
    { type: 'fusion', mechanisms: [{ type: 'selfAttention', numHeads: 2 }, { type: 'conv', kernelSize: 3 }] },
    { type: 'parallel', merge: 'gated', branches: [{ type: 'feedForward' }, { type: 'conv', kernelSize: 5 }] },
    { type: 'parallel', merge: 'sum', branches: [{ type: 'feedForward' }] },
  ] }, C, new Generator(2));
  block.forward(x(), { keyMask });
  const gates = nn.collectGates(block);
  assert.deepEqual(Object.keys(gates), ['layers.0', 'layers.1']);
  assert.deepEqual(gates['layers.0'].names, ['selfAttention', 'conv']);
  assert.deepEqual(gates['layers.1'].names, ['feedForward', 'conv']);
});

test('composites return each attention layer\'s weights by its module path, only when asked', () => {
  const rng = new Generator(11);
  const s = new nn.Serial({ embedDim: C, layers: [
    new nn.SelfAttentionBlock({ embedDim: C, numHeads: 2, rng }),
    new nn.Parallel({ embedDim: C, merge: 'sum', rng, branches: [new nn.ConvBlock({ embedDim: C, kernelSize: 3, rng }), new nn.TransformerBlock({ embedDim: C, numHeads: 2, rng })] }),
  ] }).eval();
  const input = x(12);
  const plain = s.forward(input, { keyMask });
  assert.ok(!('weights' in plain), 'no weights unless asked');
  const r = s.forward(input, { keyMask, needWeights: true });
  assertAllClose(r.output, plain.output, { rtol: 1e-5, atol: 1e-6 });
  assert.deepEqual(Object.keys(r.weights!).sort(), ['layers.0.attn', 'layers.1.branches.1.layer.selfAttn']);
  const paths = new Set(s.namedModules().map(([p]) => p));
  for (const [path, w] of Object.entries(r.weights!)) {
    assert.ok(paths.has(path), `${path} names a module`);
    assert.deepEqual([...w.shape], [2, 2, 5, 5], path);
  }
  assert.deepEqual(new nn.ConvBlock({ embedDim: C, kernelSize: 3, rng }).forward(input, { needWeights: true }).weights, {}, 'no attention, no weights');
});

test('a composite names a child that does not return { output }; an attention layer used as a child gives its weights under its own path', () => {
  const rng = new Generator(13);
  const input = x(14);
  // a Linear returns a bare Tensor (before: "add: a must be a Tensor, got undefined")
  const p = new nn.Parallel({ embedDim: C, merge: 'sum', rng, branches: [new nn.Linear(C, C, { rng }) as unknown as nn.Block, new nn.ConvBlock({ embedDim: C, kernelSize: 3, rng })] });
  assert.throws(() => p.forward(input), (e: unknown) => e instanceof ValueError && /^Parallel\.forward: branches\.0 \(Linear\) returned a Tensor, not \{ output, weights\? \}/.test((e as Error).message));
  const s = new nn.Serial({ embedDim: C, layers: [new nn.Linear(C, C, { rng }) as unknown as nn.Block] });
  assert.throws(() => s.forward(input), (e: unknown) => e instanceof ValueError && /^Serial\.forward: layers\.0 \(Linear\)/.test((e as Error).message));
  // a TransformerEncoderLayer's weights are one Tensor: the composite keys it by the layer's path
  // (before: its Tensor's own fields, 'mechanisms.0.data', 'mechanisms.0.shape', …)
  const layer = new nn.TransformerEncoderLayer({ embedDim: C, numHeads: 2, dimFeedforward: C, dropout: 0, rng });
  const f = new nn.Fusion({ embedDim: C, mechanisms: [layer as unknown as nn.Block], rng }).eval();
  const r = f.forward(input, { needWeights: true });
  assert.deepEqual(Object.keys(r.weights!), ['mechanisms.0']);
  assert.deepEqual([...r.weights!['mechanisms.0'].shape], [2, 2, 5, 5]);
});
