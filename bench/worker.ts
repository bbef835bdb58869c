/**
 * Runs one benchmark case with one implementation in its own process, so that the peak RSS
 * it reports belongs to that implementation alone. Prints one JSON line (a WorkerResult).
 * Usage: tsx bench/worker.ts '<BenchCase json>' <impl> <threads> <minSeconds> [warmupSeconds]
 */
import type { BenchCase, CaseSpec, ImplName } from './cases.ts';
import { fill } from './fill.ts';
import type { Tensor } from '../src/index.ts';

export interface WorkerResult {
  ok: boolean;
  error?: string;
  /** Median milliseconds of the timed runs (after the warm-up: the first run, then runs for warmupSeconds). */
  ms?: number;
  reps?: number;
  /** The first run's milliseconds. */
  warmupMs?: number;
  /** Runs in the warm-up, the first included. */
  warmupRuns?: number;
  /** maxRSS after loading the library, before inputs were made, and at the end (MB). */
  rssBaseMB?: number;
  rssPeakMB?: number;
  /** Layout-independent output checksum [Σx, Σx²] to check the peers computed the same thing. */
  checksum?: [number, number];
  note?: string;
}

interface Runner {
  run(): unknown;
  /** The last run's output, for the checksum. */
  output(): Float32Array | Promise<Float32Array>;
  note?: string;
}

/** [B, H, L, D] → [B, L, H·D], the layout ONNX Runtime's MultiHeadAttention takes. */
function toBSHD(x: Float32Array, b: number, h: number, l: number, d: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let bi = 0; bi < b; bi++)
    for (let hi = 0; hi < h; hi++)
      for (let li = 0; li < l; li++) {
        const src = ((bi * h + hi) * l + li) * d;
        out.set(x.subarray(src, src + d), ((bi * l + li) * h + hi) * d);
      }
  return out;
}

type Attn = Extract<CaseSpec, { kind: 'attention' }>;
const attnInputs = (s: Attn): Float32Array[] => [1, 2, 3].map((seed) => fill(s.b * s.h * s.l * s.d, seed));

async function attnkit(spec: CaseSpec, impl: ImplName, threads: number): Promise<Runner> {
  const ak = await import('../src/node.ts');
  // ATTNKIT_WASM_RELAXED=1 | 0 as the Node entry reads it (1: the relaxed-SIMD build, turning Node 20's flag on)
  const { envRelaxed } = await import('../src/backend/native/index.ts');  // beside ak: peers' processes load neither
  if (impl === 'attnkit-wasm') await ak.loadWasmBackend({ threads, relaxed: envRelaxed(process.env) });
  const used = ak.useBackend(impl === 'attnkit-js' ? 'js' : impl === 'attnkit-wasm' ? 'wasm' : 'native');
  if (impl === 'attnkit-native' && used !== 'native') throw new Error('the native addon did not load');
  if (used !== 'js') ak.setNumThreads(threads);
  const wasm = ak.wasmInfo();
  const note = used === 'native' ? `${ak.nativeInfo()?.isa}, ${threads} threads`
    : used === 'wasm' && wasm ? `WebAssembly SIMD128${wasm.relaxed ? ' + relaxed madd' : ''} (${wasm.build}${wasm.relaxed ? '-rx' : ''} build), ${wasm.threads} threads` : '1 thread';
  // on wasm the inputs are copied into wasm memory once (clone), as ORT's and torch's are theirs; elsewhere
  // clone would only add a copy to the peak memory measured from here
  const place = (x: Float32Array, shape: number[], requiresGrad = false): Tensor => {
    const t = ak.tensor(x, { shape });
    const placed = used === 'wasm' ? ak.noGrad(() => ak.clone(t)) : t;
    placed.requiresGrad = requiresGrad;
    return placed;
  };
  markBase();
  if (spec.kind === 'matmul') {
    const a = place(fill(spec.n * spec.n, 1), [spec.n, spec.n]);
    const b = place(fill(spec.n * spec.n, 2), [spec.n, spec.n]);
    // each run disposes the previous output, as torch's reference count frees it
    let out: Tensor | null = null;
    return { run: () => { out?.dispose(); out = ak.noGrad(() => ak.matmul(a, b)); }, output: () => out!.float32(), note };
  }
  if (spec.kind === 'attention') {
    const shape = [spec.b, spec.h, spec.l, spec.d];
    const [q, k, v] = attnInputs(spec).map((x) => place(x, shape, spec.backward));
    if (!spec.backward) {
      let out: Tensor | null = null;
      return { run: () => { out?.dispose(); out = ak.noGrad(() => ak.F.scaledDotProductAttention(q, k, v)); }, output: () => out!.float32(), note };
    }
    const dy = place(fill(q.size, 4), shape);
    return {
      run: () => {
        for (const t of [q, k, v]) t.grad?.dispose();
        q.grad = k.grad = v.grad = null;
        // backward frees the graph (no retainGraph), so the disposed output's array serves the next run, as torch's would
        const out = ak.F.scaledDotProductAttention(q, k, v);
        ak.backward(out, dy);
        out.dispose();
      },
      output: () => q.grad!.float32(),
      note,
    };
  }
  const { encoderStep } = await import('./encoder.ts');
  const step = encoderStep(ak, spec);
  let loss = 0;
  return { run: () => (loss = step()), output: () => new Float32Array([loss]), note };
}

async function onnxRuntime(spec: CaseSpec, impl: ImplName, threads: number): Promise<Runner> {
  const ort = await import('onnxruntime-node');
  const { encodeOnnxModel, onnxFloat } = await import('../src/onnx/graph/proto.ts');
  const options = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const, executionMode: 'sequential' as const };
  const note = `onnxruntime-node ${ort.env.versions.common}, ${threads} threads`;
  markBase();
  let feeds: Record<string, InstanceType<typeof ort.Tensor>>;
  let model: Uint8Array;
  if (spec.kind === 'matmul') {
    const dims = [spec.n, spec.n];
    feeds = { a: new ort.Tensor('float32', fill(spec.n * spec.n, 1), dims), b: new ort.Tensor('float32', fill(spec.n * spec.n, 2), dims) };
    model = encodeOnnxModel({
      name: 'matmul',
      nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }],
      inputs: ['a', 'b'].map((name) => ({ name, dtype: 'float' as const, dims })),
      outputs: [{ name: 'y', dtype: 'float', dims }],
    });
  } else if (spec.kind === 'attention' && !spec.backward) {
    const { b, h, l, d } = spec;
    const [q, k, v] = attnInputs(spec);
    const scale = 1 / Math.sqrt(d);
    if (impl === 'ort-mha') {
      const dims = [b, l, h * d];
      feeds = { q: new ort.Tensor('float32', toBSHD(q, b, h, l, d), dims), k: new ort.Tensor('float32', toBSHD(k, b, h, l, d), dims), v: new ort.Tensor('float32', toBSHD(v, b, h, l, d), dims) };
      model = encodeOnnxModel(
        {
          name: 'mha',
          nodes: [{ op: 'MultiHeadAttention', domain: 'com.microsoft', inputs: ['q', 'k', 'v'], outputs: ['y'], attrs: { num_heads: h, scale: onnxFloat(scale) } }],
          inputs: ['q', 'k', 'v'].map((name) => ({ name, dtype: 'float' as const, dims })),
          outputs: [{ name: 'y', dtype: 'float', dims }],
        },
        { extraOpsets: { 'com.microsoft': 1 } },
      );
    } else {
      const dims = [b, h, l, d];
      feeds = { q: new ort.Tensor('float32', q, dims), k: new ort.Tensor('float32', k, dims), v: new ort.Tensor('float32', v, dims) };
      model = encodeOnnxModel({
        name: 'attention',
        nodes: [
          { op: 'Transpose', inputs: ['k'], outputs: ['kt'], attrs: { perm: [0, 1, 3, 2] } },
          { op: 'MatMul', inputs: ['q', 'kt'], outputs: ['s'] },
          { op: 'Mul', inputs: ['s', 'scale'], outputs: ['z'] },
          { op: 'Softmax', inputs: ['z'], outputs: ['p'], attrs: { axis: -1 } },
          { op: 'MatMul', inputs: ['p', 'v'], outputs: ['y'] },
        ],
        inputs: ['q', 'k', 'v'].map((name) => ({ name, dtype: 'float' as const, dims })),
        outputs: [{ name: 'y', dtype: 'float', dims }],
        initializers: [{ name: 'scale', dtype: 'float', dims: [], data: new Float32Array([scale]) }],
      });
    }
  } else {
    throw new Error(`${impl} cannot run ${spec.kind}`);
  }
  const session = await ort.InferenceSession.create(model, options);
  let out: Float32Array = new Float32Array(0);
  return {
    run: async () => {
      const r = await session.run(feeds);
      out = r.y!.data as Float32Array;
    },
    output: () => out,
    note,
  };
}

/**
 * tfjs-core's bundles leave gradients out (the `@tensorflow/tfjs` union package registers them);
 * its per-file ESM sources use extensionless imports Node cannot load, so bundle that one module.
 * Registries live on the global object, so the bundle's registrations reach the loaded core.
 */
async function registerTfjsGradients(): Promise<void> {
  const esbuild = await import('esbuild');
  const { createRequire } = await import('node:module');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const built = await esbuild.build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'silent' });
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'attnkit-tfjs-')), 'grads.mjs');
  writeFileSync(file, built.outputFiles[0]!.contents);
  await import(file);
}

async function tfjs(spec: CaseSpec, impl: ImplName): Promise<Runner> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  await import('@tensorflow/tfjs-backend-wasm');
  await registerTfjsGradients();
  await tf.setBackend(impl === 'tfjs-wasm' ? 'wasm' : 'cpu');
  await tf.ready();
  const note = `tfjs ${tf.version_core} ${tf.getBackend()}, 1 thread`;
  markBase();
  let out: InstanceType<typeof tf.Tensor> | null = null;
  const keep = (t: InstanceType<typeof tf.Tensor>): void => {
    out?.dispose();
    out = t;
  };
  const output = async (): Promise<Float32Array> => (await out!.data()) as Float32Array;
  if (spec.kind === 'matmul') {
    const a = tf.tensor2d(fill(spec.n * spec.n, 1), [spec.n, spec.n]);
    const b = tf.tensor2d(fill(spec.n * spec.n, 2), [spec.n, spec.n]);
    return { run: async () => { keep(tf.matMul(a, b)); await out!.data(); }, output, note };
  }
  if (spec.kind === 'attention') {
    const shape = [spec.b, spec.h, spec.l, spec.d];
    const [q, k, v] = attnInputs(spec).map((x) => tf.tensor4d(x, shape as [number, number, number, number]));
    const scale = 1 / Math.sqrt(spec.d);
    const attn = (q: InstanceType<typeof tf.Tensor>, k: InstanceType<typeof tf.Tensor>, v: InstanceType<typeof tf.Tensor>) =>
      tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), scale)), v);
    if (!spec.backward) return { run: async () => { keep(tf.tidy(() => attn(q!, k!, v!))); await out!.data(); }, output, note };
    const dy = tf.tensor4d(fill(spec.b * spec.h * spec.l * spec.d, 4), shape as [number, number, number, number]);
    const grads = tf.grads((a, b, c) => attn(a!, b!, c!));
    return {
      run: async () => {
        const gs = grads([q!, k!, v!], dy);
        keep(gs[0]!);
        gs[1]!.dispose();
        gs[2]!.dispose();
        await out!.data();
      },
      output,
      note,
    };
  }
  const { tfjsEncoderStep } = await import('./encoder.ts');
  const step = await tfjsEncoderStep(tf, spec);
  let loss = 0;
  return { run: async () => (loss = await step()), output: () => new Float32Array([loss]), note: `${note}; Adam (tfjs-core has no AdamW), embedding frozen` };
}

let rssBase = 0;
function markBase(): void {
  rssBase = process.resourceUsage().maxRSS / 1024;
}

async function main(): Promise<WorkerResult> {
  const [caseJson, impl, threadsArg, minArg, warmArg] = process.argv.slice(2) as [string, ImplName, string, string, string | undefined];
  const bench = JSON.parse(caseJson) as BenchCase;
  const threads = Number(threadsArg);
  const minSeconds = Number(minArg);
  const runner = impl.startsWith('attnkit')
    ? await attnkit(bench.spec, impl, threads)
    : impl.startsWith('ort')
      ? await onnxRuntime(bench.spec, impl, threads)
      : await tfjs(bench.spec, impl);
  let t = performance.now();
  await runner.run();
  const warmupMs = performance.now() - t;
  // more untimed runs for warmupSeconds (not after a minutes-long first run); attnkit-wasm at least 10 runs in
  // all (at most a minute): V8 runs a wasm function on its baseline code (Liftoff) until it has been called
  // often enough, and the encoder step (2–4 s a run) kept some of it through a 2 s warm-up: 3.6 s a step
  // against 1.9 s after 8 warm-up runs (Zen 5 VM, 2 threads, relaxed build, same day)
  const warmBudget = Number(warmArg ?? 0) * 1000;
  const minWarmRuns = impl === 'attnkit-wasm' && warmBudget > 0 ? 10 : 1;
  let warmupRuns = 1;
  for (let warm = warmupMs; (warm < warmBudget || (warmupRuns < minWarmRuns && warm < 60_000)) && warmupMs <= 20_000; warmupRuns++) {
    t = performance.now();
    await runner.run();
    warm += performance.now() - t;
  }
  const times: number[] = [];
  const budget = minSeconds * 1000;
  let spent = 0;
  while (times.length < 2 || (spent < budget && times.length < 30)) {
    if (warmupMs > 20_000 && times.length >= 1) break; // minutes-long peers: one timed run
    t = performance.now();
    await runner.run();
    const dt = performance.now() - t;
    times.push(dt);
    spent += dt;
  }
  const data = await runner.output();
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < data.length; i++) {
    s1 += data[i]!;
    s2 += data[i]! * data[i]!;
  }
  times.sort((a, b) => a - b);
  return {
    ok: true,
    ms: times[Math.floor(times.length / 2)]!,
    reps: times.length,
    warmupMs,
    warmupRuns,
    rssBaseMB: rssBase,
    rssPeakMB: process.resourceUsage().maxRSS / 1024,
    checksum: [s1, s2],
    note: runner.note,
  };
}

main().then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  },
  (e: unknown) => {
    process.stdout.write(`${JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) })}\n`);
    process.exit(0);
  },
);
