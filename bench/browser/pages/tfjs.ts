/**
 * TensorFlow.js's benchmark page: tfjs-core 4.22 on tfjs-backend-wasm with ?threads=n (the
 * threaded SIMD build when the page is cross-origin isolated; the runner records which .wasm
 * file the page fetched). Attention is composed from matMul / softmax, its gradients come from
 * tf.grads, and the encoder step from tf.train.adam over the same weights as attnkit's.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { caseInputs, encoderData, type BrowserCase } from '../cases.ts';
import { expose, type Peer, type Runner } from '../harness.ts';

type T = tf.Tensor;

async function peer(): Promise<Peer> {
  const threads = Number(new URLSearchParams(location.search).get('threads') ?? navigator.hardwareConcurrency);
  setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
  setThreadsCount(threads);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not initialise');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  return {
    info: () => ({ note: `tfjs ${tf.version_core} wasm (SIMD ${simd ? 'yes' : 'no'}, threads ${mt ? 'yes' : 'no'}), ${getThreadsCount()} threads`, threads: getThreadsCount() }),
    prepare,
  };
}

function prepare(c: BrowserCase): Runner {
  const s = c.spec;
  let out: T | null = null;
  const keep = (t: T): void => {
    out?.dispose();
    out = t;
  };
  if (s.kind === 'matmul') {
    const [a, b] = caseInputs(s).map((x) => tf.tensor2d(x, [s.n, s.n]));
    return { run: async () => { keep(tf.matMul(a!, b!)); await out!.data(); }, output: async () => (await out!.data()) as Float32Array };
  }
  if (s.kind === 'attention') {
    const shape: [number, number, number, number] = [s.b, s.h, s.l, s.d];
    const [q, k, v, dy] = caseInputs(s).map((x) => tf.tensor4d(x, shape));
    const scale = 1 / Math.sqrt(s.d);
    const attn = (q: T, k: T, v: T): T => tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), scale)), v);
    if (!s.backward) return { run: async () => { keep(tf.tidy(() => attn(q!, k!, v!))); await out!.data(); }, output: async () => (await out!.data()) as Float32Array };
    const grads = tf.grads((a: T, b: T, c: T) => attn(a, b, c));
    return {
      run: async () => {
        keep(tf.tidy(() => tf.concat(grads([q!, k!, v!], dy!).map((g) => tf.reshape(g, [-1])))));
        await out!.data();
      },
      output: async () => (await out!.data()) as Float32Array,
    };
  }
  const { b, t, c: C, h } = s;
  const d = C / h, n = b * t;
  const data = encoderData(s);
  const w = Object.fromEntries(data.params.map((p) => [p.name, tf.variable(tf.tensor(p.data, p.shape))]));
  const x = tf.tensor2d(data.x, [n, C]);
  const target = tf.tensor2d(data.target, [n, C]);
  const linear = (z: T, name: string): T => tf.add(tf.matMul(z as tf.Tensor2D, w[`${name}.weight`]! as tf.Tensor2D, false, true), w[`${name}.bias`]!);
  const ln = (z: T, name: string): T => {
    const { mean, variance } = tf.moments(z, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(z, mean), tf.rsqrt(tf.add(variance, 1e-5))), w[`${name}.weight`]!), w[`${name}.bias`]!);
  };
  const heads = (z: T): T => tf.transpose(tf.reshape(z, [b, t, h, d]), [0, 2, 1, 3]);   // [N, C] → [B, H, T, D]
  const loss = (): tf.Scalar => {
    const qkv = tf.add(tf.matMul(x, w['selfAttn.inProjWeight']! as tf.Tensor2D, false, true), w['selfAttn.inProjBias']!);  // [N, 3C]
    const [q, k, v] = tf.split(qkv, 3, 1).map(heads);
    const p = tf.softmax(tf.mul(tf.matMul(q!, k!, false, true), 1 / Math.sqrt(d)));                                            // [B, H, T, T]
    const o = tf.reshape(tf.transpose(tf.matMul(p, v!), [0, 2, 1, 3]), [n, C]);
    const y = ln(tf.add(x, linear(o, 'selfAttn.outProj')), 'norm1');
    const z = ln(tf.add(y, linear(tf.relu(linear(y, 'linear1')), 'linear2')), 'norm2');
    return tf.mean(tf.square(tf.sub(z, target)));
  };
  const opt = tf.train.adam(s.lr, 0.9, 0.999, 1e-8);
  return {
    run: async () => {
      const cost = opt.minimize(loss, true, Object.values(w))!;
      const value = (await cost.data())[0]!;
      cost.dispose();
      return value;
    },
  };
}

expose(peer());
