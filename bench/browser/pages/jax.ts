/**
 * jax-js's benchmark page: @jax-js/jax on its wasm device (kernels synthesised to WebAssembly,
 * spread over a pool of navigator.hardwareConcurrency workers when SharedArrayBuffer is
 * available, i.e. in a cross-origin isolated page). Every case is one jit-compiled function of
 * jax-js's own ops: attention is matmul → softmax → matmul (jax-js has no fused kernel), its
 * gradients come from grad, and the encoder step is valueAndGrad plus Adam written in jax ops.
 * jax-js arrays are reference-counted: passing an array consumes it, `.ref` keeps it.
 */
import { blockUntilReady, defaultDevice, grad, init, jit, nn, numpy as np, valueAndGrad } from '@jax-js/jax';
import { caseInputs, encoderData, type BrowserCase } from '../cases.ts';
import { concat } from '../attnkitRunner.ts';
import { expose, type Peer, type Runner } from '../harness.ts';

type A = np.Array;
type Params = Record<string, A>;

async function peer(): Promise<Peer> {
  const devices = await init('wasm');
  if (!devices.includes('wasm')) throw new Error(`jax-js: no wasm device (got ${devices.join(', ')})`);
  defaultDevice('wasm');
  // jax-js sizes its worker pool by navigator.hardwareConcurrency and uses it only with SharedArrayBuffer
  const threads = typeof SharedArrayBuffer !== 'undefined' ? navigator.hardwareConcurrency : 1;
  return { info: () => ({ note: `jax-js wasm, ${threads} worker${threads === 1 ? '' : 's'}`, threads }), prepare };
}

const data = async (x: A): Promise<Float32Array> => new Float32Array((await x.ref.data()) as Float32Array);

function prepare(c: BrowserCase): Runner {
  const s = c.spec;
  if (s.kind === 'matmul') {
    const [a, b] = caseInputs(s).map((x) => np.array(x).reshape([s.n, s.n]));
    const mm = jit((x: A, y: A) => np.matmul(x, y));
    let out: A | null = null;
    return {
      run: async () => {
        out?.dispose();
        out = await mm(a!.ref, b!.ref).blockUntilReady();
      },
      output: () => data(out!),
    };
  }
  if (s.kind === 'attention') {
    const shape = [s.b, s.h, s.l, s.d];
    const [q, k, v, dy] = caseInputs(s).map((x) => np.array(x).reshape(shape));
    const scale = 1 / Math.sqrt(s.d);
    const attn = (q: A, k: A, v: A): A => np.matmul(nn.softmax(np.matmul(q, k.transpose([0, 1, 3, 2])).mul(scale), -1), v);  // [B, H, L, D]
    if (!s.backward) {
      const f = jit(attn);
      let out: A | null = null;
      return {
        run: async () => {
          out?.dispose();
          out = await f(q!.ref, k!.ref, v!.ref).blockUntilReady();
        },
        output: () => data(out!),
      };
    }
    // dQ, dK, dV for the cotangent dY: the gradient of Σ attn(q, k, v) ⊙ dY
    const g = jit(grad((q: A, k: A, v: A, dy: A) => np.sum(attn(q, k, v).mul(dy)), { argnums: [0, 1, 2] }));
    let out: A[] = [];
    return {
      run: async () => {
        for (const x of out) x.dispose();
        out = await blockUntilReady(g(q!.ref, k!.ref, v!.ref, dy!.ref) as A[]);
      },
      output: async () => concat(await Promise.all(out.map(data))),
    };
  }
  const { b, t, c: C, h, lr } = s;
  const d = C / h, n = b * t;
  const init = encoderData(s);
  const x = np.array(init.x).reshape([n, C]);
  const target = np.array(init.target).reshape([n, C]);
  const linear = (z: A, w: A, bias: A): A => np.matmul(z, w.transpose()).add(bias);
  const ln = (z: A, w: A, bias: A): A => {
    const zc = z.ref.sub(z.mean(-1, { keepdims: true }));
    const rstd = np.reciprocal(np.sqrt(np.square(zc.ref).mean(-1, { keepdims: true }).add(1e-5)));
    return zc.mul(rstd).mul(w).add(bias);
  };
  const heads = (z: A): A => z.reshape([b, t, h, d]).transpose([0, 2, 1, 3]);   // [N, C] → [B, H, T, D]
  const loss = (P: Params, x: A, target: A): A => {
    const qkv = linear(x.ref, P['selfAttn.inProjWeight']!, P['selfAttn.inProjBias']!);   // [N, 3C]
    const [q, k, v] = np.split(qkv, 3, 1).map(heads);
    const p = nn.softmax(np.matmul(q!, k!.transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(d)), -1);   // [B, H, T, T]
    const o = np.matmul(p, v!).transpose([0, 2, 1, 3]).reshape([n, C]);
    const y = ln(x.add(linear(o, P['selfAttn.outProj.weight']!, P['selfAttn.outProj.bias']!)), P['norm1.weight']!, P['norm1.bias']!);
    const f = linear(nn.relu(linear(y.ref, P['linear1.weight']!, P['linear1.bias']!)), P['linear2.weight']!, P['linear2.bias']!);
    const z = ln(y.add(f), P['norm2.weight']!, P['norm2.bias']!);
    return np.square(z.sub(target)).mean();
  };
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const step = jit((P: Params, M: Params, V: Params, x: A, target: A, c1: A, c2: A) => {
    const kept = Object.fromEntries(Object.entries(P).map(([key, p]) => [key, p.ref]));
    const [value, G] = valueAndGrad(loss)(kept, x, target);
    const next: [Params, Params, Params] = [{}, {}, {}];
    for (const key of Object.keys(P)) {
      const g = (G as Params)[key]!;
      const m = M[key]!.mul(b1).add(g.ref.mul(1 - b1));
      const v = V[key]!.mul(b2).add(np.square(g).mul(1 - b2));
      const update = m.ref.div(c1.ref).mul(lr).div(np.sqrt(v.ref.div(c2.ref)).add(eps));
      next[0][key] = P[key]!.sub(update);
      next[1][key] = m;
      next[2][key] = v;
    }
    c1.dispose();
    c2.dispose();
    return [value, ...next] as [A, Params, Params, Params];
  });
  let P: Params = Object.fromEntries(init.params.map((p) => [p.name, np.array(p.data).reshape(p.shape)]));
  let M: Params = Object.fromEntries(init.params.map((p) => [p.name, np.zeros(p.shape)]));
  let V: Params = Object.fromEntries(init.params.map((p) => [p.name, np.zeros(p.shape)]));
  let count = 0;
  return {
    run: async () => {
      count++;
      const [value, P2, M2, V2] = step(P, M, V, x.ref, target.ref, np.array(1 - b1 ** count), np.array(1 - b2 ** count));
      [P, M, V] = [P2, M2, V2];
      return (await value.data())[0];
    },
  };
}

expose(peer());
