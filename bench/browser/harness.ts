/**
 * The in-page half of the browser benchmark: a peer page calls `expose(peer)`, and the runner
 * (bench/browser/run.ts) calls `globalThis.runBench(case, minSeconds, minReps)` through
 * playwright. One warm-up run (the encoder: CHECK_STEPS steps from the initial weights, whose
 * losses are the check), then timed runs until both minSeconds and minReps are reached; the
 * median is reported with the output for the runner to compare with attnkit's.
 */
import { CHECK_STEPS, toBase64, type BrowserCase } from './cases.ts';

export interface Runner {
  /** One run; the encoder's returns its loss (before the update). */
  run(): unknown;
  /** The last run's output (matmul, attention: the product or the gradients dQ, dK, dV in turn). */
  output?(): Float32Array | Promise<Float32Array>;
}

export interface PeerInfo {
  /** What runs the kernels, e.g. "attnkit wasm (SIMD128), 2 threads". */
  note: string;
  threads: number;
}

export interface Peer {
  info(): PeerInfo | Promise<PeerInfo>;
  prepare(c: BrowserCase): Runner | Promise<Runner>;
}

export interface PageResult {
  ok: boolean;
  error?: string;
  ms?: number;
  timesMs?: number[];
  warmupMs?: number;
  /** Matmul and attention: the output's float32 bytes, base64. */
  output?: string;
  /** Encoder: the loss of each check step. */
  losses?: number[];
  info?: PeerInfo;
  crossOriginIsolated?: boolean;
}

async function runBench(peer: Peer, c: BrowserCase, minSeconds: number, minReps: number): Promise<PageResult> {
  const info = await peer.info();
  const runner = await peer.prepare(c);
  let t = performance.now();
  let losses: number[] | undefined;
  if (c.spec.kind === 'encoder') {
    losses = [];
    for (let i = 0; i < CHECK_STEPS; i++) losses.push(Number(await runner.run()));
  } else await runner.run();
  const warmupMs = performance.now() - t;
  const output = runner.output ? toBase64(await runner.output()) : undefined;
  const times: number[] = [];
  let spent = 0;
  while (times.length < minReps || spent < minSeconds * 1000) {
    t = performance.now();
    await runner.run();
    const dt = performance.now() - t;
    times.push(dt);
    spent += dt;
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { ok: true, ms: sorted[(sorted.length - 1) >> 1], timesMs: times, warmupMs, output, losses, info, crossOriginIsolated: globalThis.crossOriginIsolated };
}

/** Makes the page's peer callable by the runner and says the page is ready (or why it failed). */
export function expose(peer: Peer | Promise<Peer>): void {
  const g = globalThis as unknown as { runBench: unknown; benchReady: Promise<string | null> };
  g.benchReady = Promise.resolve(peer).then(() => null, (e: unknown) => String(e instanceof Error ? e.stack ?? e.message : e));
  g.runBench = async (c: BrowserCase, minSeconds: number, minReps: number): Promise<PageResult> => {
    try {
      return await runBench(await peer, c, minSeconds, minReps);
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  };
}
