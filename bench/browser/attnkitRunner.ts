/**
 * attnkit's runs of the browser cases, for whichever attnkit module it is given: the page's
 * (wasm or js backend) and the runner's reference in Node (native backend), so the two cannot
 * drift. Attention uses the fused F.scaledDotProductAttention, as `npm run bench` does.
 */
import type * as Core from '../../src/index.ts';
import { caseInputs, encoderData, type BrowserCase } from './cases.ts';
import type { Runner } from './harness.ts';

/**
 * The case's inputs as tensors in the backend's own memory, as tfjs's `tf.tensor` and jax-js's `np.array`
 * put theirs before the timing starts: `clone` copies each into wasm memory on the wasm backend's threaded
 * build (tensor() wraps the given array, which kernels would copy in on every call).
 */
function inputs(ak: typeof Core, xs: Float32Array[], shape: number[], grad = (_i: number) => false): Core.Tensor[] {
  return xs.map((x, i) => {
    const t = ak.noGrad(() => ak.clone(ak.tensor(x, { shape })));
    t.requiresGrad = grad(i);
    return t;
  });
}

export function attnkitRunner(ak: typeof Core, c: BrowserCase): Runner {
  const s = c.spec;
  if (s.kind === 'matmul') {
    const [a, b] = inputs(ak, caseInputs(s), [s.n, s.n]);
    // each run disposes the previous output, as the jax-js page does
    let out: Core.Tensor | null = null;
    return { run: () => { out?.dispose(); out = ak.noGrad(() => ak.matmul(a!, b!)); }, output: () => out!.float32() };
  }
  if (s.kind === 'attention') {
    const shape = [s.b, s.h, s.l, s.d];
    const [q, k, v, dy] = inputs(ak, caseInputs(s), shape, (i) => s.backward && i < 3);
    if (!s.backward) {
      let out: Core.Tensor | null = null;
      return { run: () => { out?.dispose(); out = ak.noGrad(() => ak.F.scaledDotProductAttention(q!, k!, v!)); }, output: () => out!.float32() };
    }
    return {
      run: () => {
        for (const t of [q!, k!, v!]) t.grad?.dispose();
        q!.grad = k!.grad = v!.grad = null;
        // backward frees the graph (no retainGraph), so the disposed output's array serves the next run, as torch's would
        const out = ak.F.scaledDotProductAttention(q!, k!, v!);
        ak.backward(out, dy!);
        out.dispose();
      },
      output: () => concat([q!.grad!.float32(), k!.grad!.float32(), v!.grad!.float32()]),
    };
  }
  const { params, x, target } = encoderData(s);
  const layer = new ak.nn.TransformerEncoderLayer({ embedDim: s.c, numHeads: s.h, dimFeedforward: s.ff, dropout: 0, rng: new ak.Generator(0) });
  layer.loadStateDict(Object.fromEntries(params.map((p) => [p.name, ak.tensor(p.data, { shape: p.shape })])));
  const opt = new ak.optim.Adam(layer.parameters(), { lr: s.lr });
  const [xT, yT] = inputs(ak, [x, target], [s.b, s.t, s.c]);
  return {
    run: () => {
      opt.zeroGrad();
      const loss = ak.F.mseLoss(outputOf(ak, layer.forward(xT)), yT);
      ak.backward(loss);
      opt.step();
      return loss.item();
    },
  };
}

/** A layer's output tensor, whether forward returns it or `{ output }` (the attention-family contract). */
function outputOf(ak: typeof Core, r: unknown): Core.Tensor {
  return r instanceof ak.Tensor ? r : (r as { output: Core.Tensor }).output;
}

export function concat(xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of xs) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}
