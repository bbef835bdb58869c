/**
 * Benchmark cases and the implementations that run them. A case names its sizes and FLOP
 * count; each implementation either runs it or says why it is skipped (too slow, too much
 * memory), so the table shows every peer for every case.
 */

export type ImplName = 'attnkit-native' | 'attnkit-wasm' | 'attnkit-js' | 'ort-mha' | 'ort-graph' | 'ort' | 'tfjs-wasm' | 'tfjs-cpu' | 'torch';

export type CaseSpec =
  | { kind: 'matmul'; n: number }
  | { kind: 'attention'; b: number; h: number; l: number; d: number; backward: boolean }
  | { kind: 'encoder'; b: number; t: number; c: number; h: number; ff: number; vocab: number; layers: number };

export interface BenchCase {
  id: string;
  title: string;
  spec: CaseSpec;
  /** Floating-point operations of one run (multiply-add = 2). */
  flops: number;
  /** Tokens processed per run, for training-step throughput. */
  tokens?: number;
  /** Implementations, in table order; a string is the reason that one is skipped. */
  impls: [ImplName, true | string][];
}

const attnFlops = (b: number, h: number, l: number, d: number): number => 4 * b * h * l * l * d;

/** Forward + backward of attention: the forward's 2 matmuls, a recomputed score matmul and 4 gradient matmuls. */
const attnTrainFlops = (b: number, h: number, l: number, d: number): number => attnFlops(b, h, l, d) * 3.5;

function encoderFlops(s: Extract<CaseSpec, { kind: 'encoder' }>): number {
  const n = s.b * s.t;
  const perLayer = 2 * n * (4 * s.c * s.c + 2 * s.c * s.ff) + attnFlops(s.b, s.h, s.t, s.c / s.h);
  const forward = s.layers * perLayer + 2 * n * s.c * s.vocab; // + the vocabulary head (embedding lookup: no FLOPs)
  return 3 * forward; // backward ≈ 2 × forward
}

/** All cases of the benchmark; `quick` shrinks every size so the whole run is a smoke test. */
export function benchCases(quick: boolean): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const n of quick ? [64] : [1024, 2048]) {
    cases.push({
      id: `matmul-${n}`,
      title: `matmul ${n}³`,
      spec: { kind: 'matmul', n },
      flops: 2 * n * n * n,
      impls: [
        ['attnkit-native', true],
        ['attnkit-wasm', true],
        ['attnkit-js', n <= 1024 ? true : 'skipped: ~8 s a run at the js backend\'s 2 GFLOP/s'],
        ['ort', true],
        ['tfjs-wasm', true],
        ['tfjs-cpu', n <= 1024 ? true : 'skipped: ~25 s a run'],
        ['torch', true],
      ],
    });
  }
  const fwd = quick ? [{ b: 2, h: 2, l: 32 }] : [128, 512, 1024, 2048].map((l) => ({ b: 8, h: 8, l }));
  const long = quick ? [{ b: 1, h: 2, l: 64 }] : [4096, 16384].map((l) => ({ b: 1, h: 8, l }));
  for (const { b, h, l } of [...fwd, ...long]) {
    const d = quick ? 16 : 64;
    const scoresGB = (b * h * l * l * 4) / 2 ** 30;
    cases.push({
      id: `attn-fwd-b${b}-h${h}-l${l}`,
      title: `attention fwd B${b} H${h} D${d} L${l}`,
      spec: { kind: 'attention', b, h, l, d, backward: false },
      flops: attnFlops(b, h, l, d),
      impls: [
        ['attnkit-native', true],
        ['attnkit-wasm', true],
        ['attnkit-js', quick || b * h * l * l <= 64 * 512 * 512 ? true : 'skipped: the js reference backend is not a speed contender'],
        ['ort-mha', true],
        ['ort-graph', scoresGB * 2 > 12 ? `skipped: its score and softmax tensors need ${(scoresGB * 2).toFixed(0)} GB` : true],
        ['tfjs-wasm', quick || b * h * l * l <= 64 * 512 * 512 ? true : 'skipped: minutes a run'],
        ['tfjs-cpu', quick || b * h * l * l <= 64 * 128 * 128 ? true : 'skipped: minutes a run'],
        ['torch', scoresGB * 2 > 12 ? `skipped: its score and softmax tensors need ${(scoresGB * 2).toFixed(0)} GB` : true],
      ],
    });
  }
  {
    const [b, h, l, d] = quick ? [2, 2, 32, 16] : [8, 8, 512, 64];
    cases.push({
      id: `attn-fwdbwd-l${l}`,
      title: `attention fwd+bwd B${b} H${h} D${d} L${l}`,
      spec: { kind: 'attention', b, h, l, d, backward: true },
      flops: attnTrainFlops(b, h, l, d),
      impls: [
        ['attnkit-native', true],
        ['attnkit-wasm', true],
        ['attnkit-js', true],
        ['ort-mha', 'n/a: ONNX Runtime (Node) is inference-only'],
        ['tfjs-wasm', true],
        ['tfjs-cpu', quick ? true : 'skipped: minutes a run'],
        ['torch', true],
      ],
    });
  }
  {
    const spec = quick
      ? { kind: 'encoder' as const, b: 2, t: 16, c: 32, h: 4, ff: 64, vocab: 100, layers: 2 }
      : { kind: 'encoder' as const, b: 32, t: 128, c: 256, h: 8, ff: 1024, vocab: 8000, layers: 4 };
    cases.push({
      id: 'encoder-train-step',
      title: `${spec.layers}-layer encoder train step B${spec.b} T${spec.t} C${spec.c} H${spec.h} FF${spec.ff} V${spec.vocab}`,
      spec,
      flops: encoderFlops(spec),
      tokens: spec.b * spec.t,
      impls: [
        ['attnkit-native', true],
        ['attnkit-wasm', true],
        ['attnkit-js', quick ? true : 'skipped: the js reference backend takes minutes a step'],
        ['ort-mha', 'n/a: ONNX Runtime (Node) is inference-only'],
        ['tfjs-wasm', true],
        ['torch', true],
      ],
    });
  }
  return cases;
}
