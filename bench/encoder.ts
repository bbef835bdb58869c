/**
 * The benchmark's training step: token embedding + sinusoidal positions → a pre-norm
 * Transformer encoder (ReLU, dropout 0.1) → final LayerNorm → a vocabulary head, cross-entropy
 * on every position (attnkit: the head and the loss as one fused op), one AdamW step (tfjs-core has Adam only). The same model in attnkit and
 * in tfjs-core ops, fed the same token ids.
 */
import type * as Attnkit from '../src/node.ts';
import type * as Tf from '@tensorflow/tfjs-core';
import type { CaseSpec } from './cases.ts';

type Spec = Extract<CaseSpec, { kind: 'encoder' }>;

/** Token ids and next-token-like targets, the same for every implementation. */
function tokens(s: Spec): { ids: Int32Array; targets: Int32Array } {
  const n = s.b * s.t;
  const ids = new Int32Array(n), targets = new Int32Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    ids[i] = x % s.vocab;
  }
  for (let i = 0; i < n; i++) targets[i] = (ids[i]! * 7 + 3) % s.vocab;
  return { ids, targets };
}

/** One training step of the attnkit model; returns the loss. */
export function encoderStep(ak: typeof Attnkit, s: Spec): () => number {
  const { nn, optim, F } = ak;
  const rng = new ak.Generator(0);
  const emb = new nn.Embedding(s.vocab, s.c, { rng });
  const pos = new nn.SinusoidalPositionalEncoding({ embedDim: s.c });
  const enc = new nn.TransformerEncoder({
    embedDim: s.c, numHeads: s.h, dimFeedforward: s.ff, numLayers: s.layers, normFirst: true, finalNorm: true, dropout: 0.1, rng,
  });
  const head = new nn.Linear(s.c, s.vocab, { rng });
  const params = [...emb.parameters(), ...enc.parameters(), ...head.parameters()];
  const opt = new optim.AdamW(params, { lr: 1e-4 });
  const { ids, targets } = tokens(s);
  const idT = ak.tensor(ids, { shape: [s.b, s.t] });
  const tgtT = ak.tensor(targets, { shape: [s.b * s.t] });
  return () => {
    opt.zeroGrad();
    const h = enc.forward(pos.forward(emb.forward(idT))).output;
    // the vocabulary head and its loss in one op: no [B·T, V] logits (head.forward + crossEntropy computes the same)
    const loss = F.linearCrossEntropy(F.reshape(h, [s.b * s.t, s.c]), head.weight, head.bias, tgtT);
    ak.backward(loss);
    opt.step();
    return loss.item();
  };
}

/**
 * The same step in tfjs-core ops (its kernels, its autograd, its Adam). The embedding table is
 * frozen (its gradient needs a kernel tfjs-backend-wasm lacks): a scatter-add of n·C values,
 * negligible beside the step.
 */
export async function tfjsEncoderStep(tf: typeof Tf, s: Spec): Promise<() => Promise<number>> {
  const { b, t, c, h, ff, vocab } = s;
  const d = c / h, n = b * t;
  const v = (shape: number[], std: number): Tf.Variable => tf.variable(tf.randomNormal(shape, 0, std, 'float32', 1));
  const ones = (k: number): Tf.Variable => tf.variable(tf.ones([k]));
  const zeros = (k: number): Tf.Variable => tf.variable(tf.zeros([k]));
  // a constant table: tfjs-backend-wasm has no UnsortedSegmentSum, the kernel of gather's gradient
  const emb = tf.randomNormal([vocab, c], 0, 1, 'float32', 2);
  const layers = Array.from({ length: s.layers }, () => ({
    g1: ones(c), b1: zeros(c), wqkv: v([c, 3 * c], Math.sqrt(1 / c)), bqkv: zeros(3 * c), wo: v([c, c], Math.sqrt(1 / c)), bo: zeros(c),
    g2: ones(c), b2: zeros(c), w1: v([c, ff], Math.sqrt(1 / c)), bf1: zeros(ff), w2: v([ff, c], Math.sqrt(1 / ff)), bf2: zeros(c),
  }));
  const gF = ones(c), bF = zeros(c);
  const wHead = v([c, vocab], Math.sqrt(1 / c)), bHead = zeros(vocab);
  const pe = tf.tensor2d(Array.from({ length: t * c }, (_, k) => {
    const p = Math.floor(k / c), i = k % c, angle = p / Math.pow(10000, (i - (i % 2)) / c);
    return i % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
  }), [t, c]);
  const { ids, targets } = tokens(s);
  const idT = tf.tensor1d(ids, 'int32');
  const oneHot = tf.oneHot(tf.tensor1d(targets, 'int32'), vocab);
  const ln = (x: Tf.Tensor, g: Tf.Tensor, bb: Tf.Tensor): Tf.Tensor => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), bb);
  };
  const drop = (x: Tf.Tensor): Tf.Tensor => tf.dropout(x, 0.1);
  const opt = tf.train.adam(1e-4);
  return async () => {
    const cost = opt.minimize(() => {
      let x = tf.reshape(tf.add(tf.reshape(tf.gather(emb, idT), [b, t, c]), pe), [n, c]) as Tf.Tensor2D;
      for (const L of layers) {
        const qkv = tf.add(tf.matMul(ln(x, L.g1, L.b1) as Tf.Tensor2D, L.wqkv), L.bqkv);
        const [q, k, vv] = tf.split(tf.transpose(tf.reshape(qkv, [b, t, 3, h, d]), [2, 0, 3, 1, 4]), 3, 0)
          .map((z) => tf.reshape(z, [b, h, t, d]));
        const att = drop(tf.softmax(tf.mul(tf.matMul(q!, k!, false, true), 1 / Math.sqrt(d))));
        const o = tf.reshape(tf.transpose(tf.matMul(att, vv!), [0, 2, 1, 3]), [n, c]) as Tf.Tensor2D;
        x = tf.add(x, drop(tf.add(tf.matMul(o, L.wo), L.bo))) as Tf.Tensor2D;
        const f = tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(ln(x, L.g2, L.b2) as Tf.Tensor2D, L.w1), L.bf1)) as Tf.Tensor2D, L.w2), L.bf2);
        x = tf.add(x, drop(f)) as Tf.Tensor2D;
      }
      const logits = tf.add(tf.matMul(ln(x, gF, bF) as Tf.Tensor2D, wHead), bHead);
      return tf.losses.softmaxCrossEntropy(oneHot, logits) as Tf.Scalar;
    }, true);
    const value = (await cost!.data())[0]!;
    cost!.dispose();
    return value;
  };
}
