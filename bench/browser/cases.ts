/**
 * The browser benchmark's cases, implementations and deterministic inputs. Pure code: the
 * runner (Node) and every page (browser) import it, so each peer builds the same inputs and
 * the same initial weights from the same formula.
 */
import { fill } from '../fill.ts';

export type BrowserImpl = 'attnkit-wasm' | 'attnkit-wasm-plain' | 'attnkit-js' | 'tfjs-wasm' | 'jax-wasm';
export const IMPLS: BrowserImpl[] = ['attnkit-wasm', 'attnkit-wasm-plain', 'attnkit-js', 'tfjs-wasm', 'jax-wasm'];

export type BrowserSpec =
  | { kind: 'matmul'; n: number }
  | { kind: 'attention'; b: number; h: number; l: number; d: number; backward: boolean }
  /** One post-norm TransformerEncoderLayer (ReLU, no dropout) → MSE against a fixed target, backward, one Adam step. */
  | { kind: 'encoder'; b: number; t: number; c: number; h: number; ff: number; lr: number };

export interface BrowserCase {
  id: string;
  title: string;
  spec: BrowserSpec;
  /** Floating-point operations of one run (multiply-add = 2). */
  flops: number;
}

/** Steps of the encoder case whose losses are compared with attnkit's (from the same initial weights). */
export const CHECK_STEPS = 3;

const attnFlops = (b: number, h: number, l: number, d: number): number => 4 * b * h * l * l * d;

/** The cases; `quick` shrinks every size so a whole run takes seconds (CI). */
export function browserCases(quick: boolean): BrowserCase[] {
  const n = quick ? 64 : 1024;
  const [b, h, l, d] = quick ? [2, 2, 32, 16] : [8, 8, 512, 64];
  const enc = quick ? { b: 2, t: 8, c: 16, h: 2, ff: 32 } : { b: 8, t: 64, c: 64, h: 4, ff: 256 };
  const tokens = enc.b * enc.t;
  const encForward = 2 * tokens * (4 * enc.c * enc.c + 2 * enc.c * enc.ff) + attnFlops(enc.b, enc.h, enc.t, enc.c / enc.h);
  return [
    { id: `matmul-${n}`, title: `matmul ${n}³`, spec: { kind: 'matmul', n }, flops: 2 * n ** 3 },
    { id: `attn-fwd-l${l}`, title: `attention fwd B${b} H${h} L${l} D${d}`, spec: { kind: 'attention', b, h, l, d, backward: false }, flops: attnFlops(b, h, l, d) },
    // forward + backward: the forward's 2 products, a recomputed score product and 4 gradient products
    { id: `attn-fwdbwd-l${l}`, title: `attention fwd+bwd B${b} H${h} L${l} D${d}`, spec: { kind: 'attention', b, h, l, d, backward: true }, flops: attnFlops(b, h, l, d) * 3.5 },
    {
      id: 'encoder-train-step',
      title: `encoder layer train step B${enc.b} T${enc.t} C${enc.c} H${enc.h} FF${enc.ff}`,
      spec: { kind: 'encoder', ...enc, lr: 1e-3 },
      flops: 3 * encForward,  // backward ≈ 2 × forward
    },
  ];
}

/** Inputs of a matmul or attention case: [A, B] ([n, n] each) or [Q, K, V, dY] ([B, H, L, D] each). */
export function caseInputs(spec: Exclude<BrowserSpec, { kind: 'encoder' }>): Float32Array[] {
  if (spec.kind === 'matmul') return [1, 2].map((seed) => fill(spec.n * spec.n, seed));
  const size = spec.b * spec.h * spec.l * spec.d;
  return (spec.backward ? [1, 2, 3, 4] : [1, 2, 3]).map((seed) => fill(size, seed));
}

export type EncoderSpec = Extract<BrowserSpec, { kind: 'encoder' }>;

/**
 * Initial weights of the encoder case in attnkit's (PyTorch's) names and layouts — Linear
 * weights [out, in], the packed input projection [3C, C] (q, k, v rows) — plus its input x and
 * target [B, T, C]. Every peer starts from these values, so their losses can be compared.
 */
export function encoderData(s: EncoderSpec): { params: { name: string; shape: number[]; data: Float32Array }[]; x: Float32Array; target: Float32Array } {
  const { c, ff } = s;
  const shapes: [string, number[]][] = [
    ['selfAttn.inProjWeight', [3 * c, c]], ['selfAttn.inProjBias', [3 * c]],
    ['selfAttn.outProj.weight', [c, c]], ['selfAttn.outProj.bias', [c]],
    ['linear1.weight', [ff, c]], ['linear1.bias', [ff]],
    ['linear2.weight', [c, ff]], ['linear2.bias', [c]],
    ['norm1.weight', [c]], ['norm1.bias', [c]], ['norm2.weight', [c]], ['norm2.bias', [c]],
  ];
  const params = shapes.map(([name, shape], i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const u = fill(size, 100 + i);
    const data = name.startsWith('norm') && name.endsWith('weight')
      ? u.map((x) => 1 + 0.1 * x)
      : shape.length === 2 ? u.map((x) => x * Math.sqrt(3 / shape[1]!)) : u.map((x) => 0.1 * x);
    return { name, shape, data };
  });
  const n = s.b * s.t * s.c;
  return { params, x: fill(n, 7), target: fill(n, 8) };
}

/** Base64 of a float32 buffer's bytes (pages return outputs this way: a string crosses to Node quickly). */
export function toBase64(x: Float32Array): string {
  const bytes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(s: string): Float32Array {
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}
