/**
 * The native backend per instruction set, and its memory over a long training loop.
 * Runs in the native pass of `npm test` only (the js pass has nothing native to check).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  F, Generator, Tensor, backward, mul, nn, optim, randn, randint, sum, tensor,
} from '../../src/index.js';
import { nativeInfo, setNativeIsa, useBackend } from '../../src/backend/native/index.js';
import { assertAllClose } from '../helpers.js';
import { backend } from '../../src/backend/backend.js';

const nativePass = process.env.ATTNKIT_BACKEND !== 'js' && nativeInfo() !== null;

/** Runs a workload of kernels (values and gradients) and returns every resulting array. */
function workload(): Float32Array[] {
  const g = new Generator(42);
  const out: Float32Array[] = [];
  const keep = (t: Tensor | null | undefined): void => { out.push(Float32Array.from(t!.data as Float32Array)); };
  // gemm: odd sizes (edge tiles), transposed operands, batched with broadcasting
  const a = randn([37, 70], { rng: g, requiresGrad: true }), b = randn([70, 53], { rng: g, requiresGrad: true });
  const bt = randn([53, 70], { rng: g });
  const ab = F.matmul(a, b);
  keep(ab);
  keep(F.matmul(a, F.transpose(bt, 0, 1)));
  keep(F.matmul(F.transpose(a, 0, 1), randn([37, 5], { rng: g })));
  const x3 = randn([3, 1, 9, 17], { rng: g }), y3 = randn([4, 17, 11], { rng: g });
  keep(F.matmul(x3, y3));
  backward(sum(mul(ab, randn([37, 53], { rng: g }))));
  keep(a.grad);
  keep(b.grad);
  // linear with its bias added in the gemm: edge tiles, two k-panels (K 300), two column blocks (N 2100);
  // then 301 rows, which the threads split by micro-panels
  keep(F.linear(randn([301, 300], { rng: g }), randn([45, 300], { rng: g }), randn([45], { rng: g })));
  const lx = randn([2, 19, 300], { rng: g, requiresGrad: true });
  const lw = randn([2100, 300], { rng: g, requiresGrad: true }), lb = randn([2100], { rng: g, requiresGrad: true });
  const lin = F.linear(lx, lw, lb);
  keep(lin);
  backward(sum(mul(lin, randn([2, 19, 2100], { rng: g }))));
  keep(lx.grad); keep(lw.grad); keep(lb.grad);
  // element-wise, reductions, softmax family, layer norm with gradients
  const e = randn([6, 33], { rng: g, requiresGrad: true });
  const w = randn([33], { rng: g, requiresGrad: true }), bias = randn([33], { rng: g, requiresGrad: true });
  const ln = F.layerNorm(F.gelu(e), [33], w, bias, 1e-5);
  const sm = F.softmax(F.mul(ln, 3), -1), lsm = F.logSoftmax(F.exp(F.tanh(e)), 0);
  const wide = randn([3, 50, 1100], { rng: g });  // column sums over several 512-column blocks
  for (const t of [ln, sm, lsm, F.sum(e, 1), F.mean(e, 0), F.sigmoid(e), F.sum(wide, 1), F.sum(wide, 0)]) keep(t);
  backward(F.add(sum(mul(sm, randn([6, 33], { rng: g }))), sum(lsm)));
  keep(e.grad); keep(w.grad); keep(bias.grad);
  // dropout by hash: the same kept elements on every backend (p = 0.1 is inexact in float32: the threshold must come from the double)
  const big = randn([64, 1000], { rng: g, requiresGrad: true });
  const dropped = F.dropout(F.gelu(big), 0.1, { training: true, rng: new Generator(11) });
  keep(dropped);
  backward(sum(mul(dropped, randn([64, 1000], { rng: g }))));
  keep(big.grad);
  // strided views and their backward scatters: narrow and stepped slices of one tensor (their
  // gradients meet on the tape), concat and pad
  const base = randn([4, 30, 9], { rng: g, requiresGrad: true });
  const parts = [F.narrow(base, 1, 3, 20), F.slice(base, 1, 1, 28, 3), F.slice(base, 2, 0, 9, 2)];
  const joined = F.concat([F.reshape(parts[0]!, [4, -1]), F.reshape(parts[1]!, [4, -1]), F.reshape(parts[2]!, [4, -1])], 1);
  const padded = F.pad(joined, [2, 3]);
  keep(padded);
  backward(sum(mul(padded, randn(padded.shape as number[], { rng: g }))));
  keep(base.grad);
  // fused cross-entropy over 1,000 classes: plain, and weighted + smoothed + an ignored row + a
  // row whose logits are −1e30 but one (the exp must underflow cleanly)
  const logits = randn([7, 1000], { rng: g, requiresGrad: true });
  const far = new Float32Array(7000);
  for (let c = 0; c < 1000; c++) if (c !== 64) far[6000 + c] = -1e30;
  const cw = F.add(F.abs(randn([1000], { rng: g })), 0.1);
  const cls = tensor([3, 999, -100, 0, 512, 7, 64], { dtype: 'int32' });
  const ce1 = F.crossEntropy(F.mul(logits, 4), F.where(F.ne(cls, -100), cls, 1), { labelSmoothing: 0.05 });
  const ce2 = F.crossEntropy(F.add(logits, new Tensor(far, [7, 1000])), cls, { weight: cw, labelSmoothing: 0.15, reduction: 'none' });
  keep(ce1); keep(ce2);
  backward(F.add(ce1, sum(mul(ce2, randn([7], { rng: g })))));
  keep(logits.grad);
  // embedding gather / scatter-add
  const table = randn([20, 7], { rng: g, requiresGrad: true });
  const ids = randint(0, 20, [5, 9], { rng: g });
  const embedded = F.embedding(ids, table);
  keep(embedded);
  backward(sum(mul(embedded, randn([5, 9, 7], { rng: g }))));
  keep(table.grad);
  // fused attention: masks, causal, dropout, grouped heads, T ≠ S; values and gradients
  const q = randn([2, 4, 13, 16], { rng: g, requiresGrad: true });
  const k = randn([2, 2, 21, 16], { rng: g, requiresGrad: true }), v = randn([2, 2, 21, 16], { rng: g, requiresGrad: true });
  const mask = tensor(Array.from({ length: 2 }, (_, bi) => [Array.from({ length: 21 }, (_, j) => j < 21 - 5 * bi)])); // [2, 1, 21]
  const att = F.scaledDotProductAttention(q, k, v, { mask: F.unsqueeze(mask, 1), causal: true, dropout: 0.2, rng: new Generator(7) });
  keep(att);
  backward(sum(mul(att, randn([2, 4, 13, 16], { rng: g }))));
  keep(q.grad); keep(k.grad); keep(v.grad);
  // the same kernels reading heads in place from a packed projection [B, T, (H + 2·Hkv)·D]
  const qkv = randn([2, 19, (4 + 2 * 2) * 16], { rng: g, requiresGrad: true });
  const packed = F.packedAttention(qkv, { numHeads: 4, numKVHeads: 2, causal: true, dropout: 0.2, rng: new Generator(8),
    mask: F.unsqueeze(F.unsqueeze(tensor([Array.from({ length: 19 }, () => true), Array.from({ length: 19 }, (_, j) => j < 15)]), 1), 1) });
  keep(packed);
  backward(sum(mul(packed, randn([2, 19, 64], { rng: g }))));
  keep(qkv.grad);
  // convolution and pooling
  const img = randn([2, 3, 9, 9], { rng: g, requiresGrad: true }), ker = randn([4, 3, 3, 3], { rng: g, requiresGrad: true });
  const conv = F.conv2d(img, ker, null, { stride: 2, padding: 1 });
  keep(conv);
  keep(F.maxPool2d(conv, 2));
  backward(sum(mul(conv, randn(conv.shape as number[], { rng: g }))));
  keep(img.grad); keep(ker.grad);
  return out;
}

test('native kernels give the js backend\'s results on every instruction set this CPU has', { skip: !nativePass && 'native pass only' }, (t) => {
  useBackend('js');
  const reference = workload();
  useBackend('native');
  const best = nativeInfo()!.bestIsa;
  const tried: string[] = [];
  try {
    for (const isa of ['generic', 'avx2', 'avx512'] as const) {
      const active = setNativeIsa(isa);
      if (active !== isa) {
        t.diagnostic(`${isa}: not available on this CPU (best: ${best})`);
        continue;
      }
      tried.push(isa);
      const got = workload();
      assert.equal(got.length, reference.length);
      got.forEach((arr, i) => assertAllClose(arr, reference[i]!, { rtol: 2e-4, atol: 2e-5, msg: `${isa}: result ${i}` }));
    }
  } finally {
    setNativeIsa(best as 'generic' | 'avx2' | 'avx512');
  }
  assert.ok(tried.includes('generic'), 'the portable path always runs');
  t.diagnostic(`checked: ${tried.join(', ')}`);
});

test('the native Adam/AdamW update gives the js kernel\'s weights and moments bit for bit', { skip: !nativePass && 'native pass only' }, () => {
  const g = new Generator(3);
  const n = 10_007;  // more than one thread's share, not a multiple of anything
  for (const decoupled of [true, false]) {
    const w0 = randn([n], { rng: g }).data as Float32Array;
    const [wJs, wNat] = [Float32Array.from(w0), Float32Array.from(w0)];
    const [mJs, vJs, mNat, vNat] = [0, 1, 2, 3].map(() => new Float64Array(n));
    for (let step = 1; step <= 3; step++) {
      const grad = randn([n], { rng: g }).data as Float32Array;
      const p = { lr: 1e-3, b1: 0.9, b2: 0.999, c1: 1 - 0.9 ** step, c2: 1 - 0.999 ** step, eps: 1e-8, wd: 0.05, decoupled };
      useBackend('js');
      backend().adamUpdate(wJs, grad, mJs!, vJs!, p);
      useBackend('native');
      backend().adamUpdate(wNat, grad, mNat!, vNat!, p);
    }
    assert.notDeepEqual(wNat, w0, 'the update moved the weights');
    assert.deepEqual(wNat, wJs, `weights (decoupled ${decoupled})`);
    assert.deepEqual(mNat, mJs, 'first moments');
    assert.deepEqual(vNat, vJs, 'second moments');
  }
});

test('no memory growth over a 10,000-step training loop (resident set measured)', { skip: !nativePass && 'native pass only' }, (t) => {
  const g = new Generator(3);
  const emb = new nn.Embedding(50, 32, { rng: g });
  const layer = new nn.TransformerEncoderLayer({ dModel: 32, nhead: 4, dimFeedforward: 64, dropout: 0.1, rng: g });
  const head = new nn.Linear(32, 50, { rng: g });
  const params = [...emb.parameters(), ...layer.parameters(), ...head.parameters()];
  const opt = new optim.AdamW(params, { lr: 1e-3 });
  const ids = randint(0, 50, [4, 12], { rng: g });
  const targets = F.reshape(randint(0, 50, [4, 12], { rng: g }), [48]);
  const step = (): number => {
    opt.zeroGrad();
    const loss = F.crossEntropy(F.reshape(head.forward(layer.forward(emb.forward(ids))), [48, 50]), targets);
    backward(loss);
    opt.step();
    return loss.item();
  };
  let first = 0, last = 0;
  for (let i = 0; i < 1000; i++) first = step();     // warm up: JIT, pools, V8 heap growth
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < 9000; i++) last = step();
  const grownMB = (process.memoryUsage().rss - rss0) / 2 ** 20;
  t.diagnostic(`loss ${first.toFixed(3)} → ${last.toFixed(3)}; resident set grew ${grownMB.toFixed(1)} MB over the last 9,000 steps`);
  assert.ok(last < first, 'the loop trains');
  // one step allocates ≈ 0.5 MB of tensors: a per-step leak would show as gigabytes
  assert.ok(grownMB < 64, `resident set grew ${grownMB.toFixed(1)} MB over 9,000 steps`);
});
