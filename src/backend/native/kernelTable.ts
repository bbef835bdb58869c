/**
 * The native kernels, defined once. Each entry names a backend kernel, the C++ function that
 * computes it and its arguments in order; scripts/gen-kernels.mjs reads this table and writes
 * the C++ side (native/src/generated/: the enums, structs and prototypes, and the N-API
 * unwrapping per kernel), and the TypeScript side is derived from it by mapped types
 * (`Addon` below), so neither side is a hand copy. How a backend call becomes a native one is
 * adapters.ts.
 *
 * Argument kinds: buffers `f32in` / `f32out` / `f32inout`, `f64in` / `f64inout`, `i32in` /
 * `i32out`, `anyin` (a mask of any dtype; `const void*`), each `nullable` if null may come;
 * scalars `long`, `u32`, `float`, `double`, `bool`; `longs` (a number array; C++ gets the
 * pointer and the count); `len` (not passed from JS: the common element count of the buffers
 * `of`, checked equal); `enum` (a member name in TS, the enum's code across); `struct` (a JS
 * object read by field name into the named C++ struct; `nullable` makes it a pointer).
 *
 * The generator bundles this module with esbuild (a dev dependency) and reads the plain data;
 * the generated files are committed, so an install needs node-gyp only.
 */
import type { AnyArray } from '../buffers.js';

/** Enums shared by both sides: a member's code is its position. */
export const ENUMS = {
  Unary: ['exp', 'tanh', 'sigmoid', 'relu', 'geluErf', 'geluTanh', 'silu', 'neg', 'sqrt', 'rsqrt', 'log', 'square'],
  Binary: ['add', 'sub', 'mul', 'div'],
  MaskKind: ['none', 'bool', 'float'],
} as const;

/** Structs crossing the boundary, field by field (scalar kinds, or another struct's name). */
export const STRUCTS = {
  // Conv2dParams; pooling passes Cout 0 and groups 1
  ConvGeom: {
    N: 'long', C: 'long', H: 'long', W: 'long', kh: 'long', kw: 'long', sh: 'long', sw: 'long',
    ph: 'long', pw: 'long', dh: 'long', dw: 'long', OH: 'long', OW: 'long', Cout: 'long', groups: 'long',
  },
  AdamParams: { lr: 'double', b1: 'double', b2: 'double', c1: 'double', c2: 'double', eps: 'double', wd: 'double', decoupled: 'bool' },
  // q [B,H,T,D], k [B,Hkv,S,D], v [B,Hkv,S,Dv]
  AttnDims: { B: 'long', H: 'long', Hkv: 'long', T: 'long', S: 'long', D: 'long', Dv: 'long' },
  AttnOptions: { scale: 'float', causal: 'bool', dropout: 'double', seed: 'u32' },
  // an operand's rows: row i of head h in batch b starts at offset + b·sb + h·sh + i·sr
  AttnOperand: { offset: 'long', sb: 'long', sh: 'long', sr: 'long' },
  AttnOperands: { q: 'AttnOperand', k: 'AttnOperand', v: 'AttnOperand', o: 'AttnOperand' },
} as const;

/** The kernels: backend name → C++ function, its arguments in order, and what it returns. */
export const KERNELS = {
  gemm: {
    cc: 'gemm', doc: 'out[oOff…] (+)= op(a[aOff…])·op(b[bOff…]) (+ bias [N]); op transposes when trans*',
    args: [
      { name: 'a', kind: 'f32in' }, { name: 'aOff', kind: 'long' }, { name: 'b', kind: 'f32in' }, { name: 'bOff', kind: 'long' },
      { name: 'out', kind: 'f32inout' }, { name: 'oOff', kind: 'long' }, { name: 'M', kind: 'long' }, { name: 'N', kind: 'long' },
      { name: 'K', kind: 'long' }, { name: 'transA', kind: 'bool' }, { name: 'transB', kind: 'bool' },
      { name: 'accumulate', kind: 'bool' }, { name: 'bias', kind: 'f32in', nullable: true },
    ],
  },
  gemmBatched: {
    cc: 'gemm_batched', doc: 'products at element offsets [a0, b0, o0, a1, b1, o1, …] (contiguous matrices)',
    args: [
      { name: 'a', kind: 'f32in' }, { name: 'b', kind: 'f32in' }, { name: 'out', kind: 'f32out' },
      { name: 'offsets', kind: 'f64in' }, { name: 'nOffsets', kind: 'len', of: ['offsets'] },
      { name: 'M', kind: 'long' }, { name: 'N', kind: 'long' }, { name: 'K', kind: 'long' },
      { name: 'transA', kind: 'bool' }, { name: 'transB', kind: 'bool' },
    ],
  },
  unary: {
    cc: 'unary', doc: 'out = op(x) element-wise',
    args: [{ name: 'op', kind: 'enum', enum: 'Unary' }, { name: 'x', kind: 'f32in' }, { name: 'out', kind: 'f32out' }, { name: 'n', kind: 'len', of: ['x', 'out'] }],
  },
  unaryBackward: {
    cc: 'unary_backward', doc: "out = g · f'(x), given the forward's input x and output y (the js backend's derivative rules)",
    args: [
      { name: 'op', kind: 'enum', enum: 'Unary' }, { name: 'x', kind: 'f32in' }, { name: 'y', kind: 'f32in' }, { name: 'g', kind: 'f32in' },
      { name: 'out', kind: 'f32out' }, { name: 'n', kind: 'len', of: ['x', 'y', 'g', 'out'] },
    ],
  },
  stridedCopy: {
    cc: 'strided_copy', doc: 'out[i] = src[offset + Σ idx_d · strides_d] over `shape` in row-major order (strides may be 0 or negative)',
    args: [
      { name: 'src', kind: 'f32in' }, { name: 'offset', kind: 'long' }, { name: 'strides', kind: 'longs' }, { name: 'shape', kind: 'longs' },
      { name: 'out', kind: 'f32out' },
    ],
  },
  stridedScatter: {
    cc: 'strided_scatter', doc: 'dst[offset + Σ idx·strides] = (or +=) src[row-major idx] over `shape`, the inverse of strided_copy',
    args: [
      { name: 'dst', kind: 'f32inout' }, { name: 'offset', kind: 'long' }, { name: 'strides', kind: 'longs' }, { name: 'shape', kind: 'longs' },
      { name: 'src', kind: 'f32in' }, { name: 'assign', kind: 'bool' },
    ],
  },
  dropout: {
    cc: 'dropout',
    doc: 'inverted dropout by a counter-based hash: element i kept when hash(seed, i) ≥ p·2³², kept values scaled by 1/(1 − p), dropped ones x − x',
    args: [
      { name: 'x', kind: 'f32in' }, { name: 'out', kind: 'f32out' }, { name: 'n', kind: 'len', of: ['x', 'out'] },
      { name: 'p', kind: 'double' }, { name: 'seed', kind: 'u32' },
    ],
  },
  adamUpdate: {
    cc: 'adam_update', doc: "one Adam/AdamW update in place, in double arithmetic with double moments (the js kernel's operations, in its order)",
    args: [
      { name: 'w', kind: 'f32inout' }, { name: 'g', kind: 'f32in' }, { name: 'm', kind: 'f64inout' }, { name: 'v', kind: 'f64inout' },
      { name: 'n', kind: 'len', of: ['w', 'g', 'm', 'v'] }, { name: 'p', kind: 'struct', struct: 'AdamParams' },
    ],
  },
  binary: {
    cc: 'binary', doc: 'out = a ∘ b broadcast to outShape; shapes are right-aligned as in NumPy',
    args: [
      { name: 'op', kind: 'enum', enum: 'Binary' }, { name: 'a', kind: 'f32in' }, { name: 'aShape', kind: 'longs' },
      { name: 'b', kind: 'f32in' }, { name: 'bShape', kind: 'longs' }, { name: 'outShape', kind: 'longs' }, { name: 'out', kind: 'f32out' },
    ],
  },
  softmaxDim: {
    cc: 'softmax_rows', doc: 'softmax / logSoftmax over rows of length n; a row of only −∞ gives 0 / −∞',
    args: [{ name: 'x', kind: 'f32in' }, { name: 'out', kind: 'f32out' }, { name: 'rows', kind: 'long' }, { name: 'n', kind: 'long' }, { name: 'log', kind: 'bool' }],
  },
  softmaxBackwardDim: {
    cc: 'softmax_backward_rows', doc: "the softmax's (or logSoftmax's) vector-Jacobian product over rows, from its output y",
    args: [
      { name: 'y', kind: 'f32in' }, { name: 'g', kind: 'f32in' }, { name: 'out', kind: 'f32out' },
      { name: 'rows', kind: 'long' }, { name: 'n', kind: 'long' }, { name: 'log', kind: 'bool' },
    ],
  },
  crossEntropyForward: {
    cc: 'cross_entropy_rows',
    doc: 'cross-entropy per row of logits x [rows, C] (src/backend/js/loss.ts has the formulas): loss [rows] (0 where the target is ignored, +∞ for a row of only −∞) and lse [rows]; w [C] may be null, eps is the label smoothing',
    args: [
      { name: 'x', kind: 'f32in' }, { name: 'rows', kind: 'long' }, { name: 'C', kind: 'long' }, { name: 'target', kind: 'i32in' },
      { name: 'w', kind: 'f32in', nullable: true }, { name: 'eps', kind: 'float' }, { name: 'ignore', kind: 'long' },
      { name: 'loss', kind: 'f32out' }, { name: 'lse', kind: 'f32out' },
    ],
  },
  crossEntropyBackward: {
    cc: 'cross_entropy_backward_rows', doc: "out [rows, C] = ∂(Σ_i g_i·loss_i)/∂x, from the forward's lse",
    args: [
      { name: 'x', kind: 'f32in' }, { name: 'lse', kind: 'f32in' }, { name: 'g', kind: 'f32in' }, { name: 'rows', kind: 'long' },
      { name: 'C', kind: 'long' }, { name: 'target', kind: 'i32in' }, { name: 'w', kind: 'f32in', nullable: true },
      { name: 'eps', kind: 'float' }, { name: 'ignore', kind: 'long' }, { name: 'out', kind: 'f32out' },
    ],
  },
  linearCrossEntropy: {
    cc: 'linear_cross_entropy',
    doc: 'cross-entropy of the logits x·wᵀ + b (x [rows, K], w [V, K], b [V] or null) over chunks of rows, no [rows, V] buffer kept: loss and lse [rows] as crossEntropyForward; gx [rows, K], gw [V, K], gb [V] (each null when not wanted) the gradients of Σ_i g_i·loss_i, g null meaning every g_i = 1',
    args: [
      { name: 'x', kind: 'f32in' }, { name: 'w', kind: 'f32in' }, { name: 'b', kind: 'f32in', nullable: true }, { name: 'rows', kind: 'long' },
      { name: 'K', kind: 'long' }, { name: 'V', kind: 'long' }, { name: 'target', kind: 'i32in' }, { name: 'g', kind: 'f32in', nullable: true },
      { name: 'eps', kind: 'float' }, { name: 'ignore', kind: 'long' }, { name: 'loss', kind: 'f32out' }, { name: 'lse', kind: 'f32out' },
      { name: 'gx', kind: 'f32out', nullable: true }, { name: 'gw', kind: 'f32out', nullable: true }, { name: 'gb', kind: 'f32out', nullable: true },
    ],
  },
  allFinite: {
    cc: 'all_finite', doc: 'true when every x[0..n) is finite (no NaN, no ±∞)', returns: 'bool',
    args: [{ name: 'x', kind: 'f32in' }, { name: 'n', kind: 'len', of: ['x'] }],
  },
  sumDim: {
    cc: 'sum_dim', doc: 'sum over the middle axis of [outer, n, inner]',
    args: [{ name: 'x', kind: 'f32in' }, { name: 'out', kind: 'f32out' }, { name: 'outer', kind: 'long' }, { name: 'n', kind: 'long' }, { name: 'inner', kind: 'long' }],
  },
  layerNormForward: {
    cc: 'layer_norm', doc: 'layer norm over rows of length n: y = (x − μ)·rstd·w + b; saves mean and rstd per row',
    args: [
      { name: 'x', kind: 'f32in' }, { name: 'w', kind: 'f32in', nullable: true }, { name: 'b', kind: 'f32in', nullable: true },
      { name: 'y', kind: 'f32out' }, { name: 'mean', kind: 'f32out' }, { name: 'rstd', kind: 'f32out' },
      { name: 'rows', kind: 'long' }, { name: 'n', kind: 'long' }, { name: 'eps', kind: 'float' },
    ],
  },
  layerNormBackward: {
    cc: 'layer_norm_backward', doc: "layer norm's gradients from the saved mean and rstd; gx, gw and gb may be null",
    args: [
      { name: 'x', kind: 'f32in' }, { name: 'w', kind: 'f32in', nullable: true }, { name: 'mean', kind: 'f32in' }, { name: 'rstd', kind: 'f32in' },
      { name: 'g', kind: 'f32in' }, { name: 'gx', kind: 'f32out', nullable: true }, { name: 'gw', kind: 'f32out', nullable: true },
      { name: 'gb', kind: 'f32out', nullable: true }, { name: 'rows', kind: 'long' }, { name: 'n', kind: 'long' },
    ],
  },
  indexSelect: {
    cc: 'index_select', doc: 'out[o, j, :] = x[o, idx[j], :]',
    args: [
      { name: 'x', kind: 'f32in' }, { name: 'outer', kind: 'long' }, { name: 'n', kind: 'long' }, { name: 'inner', kind: 'long' },
      { name: 'idx', kind: 'i32in' }, { name: 'm', kind: 'len', of: ['idx'] }, { name: 'out', kind: 'f32out' },
    ],
  },
  indexAdd: {
    cc: 'index_add', doc: "index_select's adjoint: dx[o, idx[j], :] += g[o, j, :]",
    args: [
      { name: 'g', kind: 'f32in' }, { name: 'outer', kind: 'long' }, { name: 'n', kind: 'long' }, { name: 'inner', kind: 'long' },
      { name: 'idx', kind: 'i32in' }, { name: 'm', kind: 'len', of: ['idx'] }, { name: 'dx', kind: 'f32inout' },
    ],
  },
  conv2dForward: {
    cc: 'conv2d_forward', doc: 'y = conv2d(x, w) over NCHW, grouped (im2col + sgemm)',
    args: [{ name: 'p', kind: 'struct', struct: 'ConvGeom' }, { name: 'x', kind: 'f32in' }, { name: 'w', kind: 'f32in' }, { name: 'y', kind: 'f32out' }],
  },
  conv2dBackward: {
    cc: 'conv2d_backward', doc: 'the gradients of x and w (either may be null)',
    args: [
      { name: 'p', kind: 'struct', struct: 'ConvGeom' }, { name: 'x', kind: 'f32in' }, { name: 'w', kind: 'f32in' }, { name: 'gy', kind: 'f32in' },
      { name: 'gx', kind: 'f32out', nullable: true }, { name: 'gw', kind: 'f32out', nullable: true },
    ],
  },
  maxPool2dForward: {
    cc: 'max_pool2d_forward',
    doc: 'max pooling, padded with −∞; idx holds, per output, the flat position of the maximum in its input plane (the first one; NaN wins and stops the scan)',
    args: [{ name: 'p', kind: 'struct', struct: 'ConvGeom' }, { name: 'x', kind: 'f32in' }, { name: 'y', kind: 'f32out' }, { name: 'idx', kind: 'i32out' }],
  },
  maxPool2dBackward: {
    cc: 'max_pool2d_backward', doc: 'gx[idx] += gy per plane',
    args: [{ name: 'p', kind: 'struct', struct: 'ConvGeom' }, { name: 'gy', kind: 'f32in' }, { name: 'idx', kind: 'i32in' }, { name: 'gx', kind: 'f32out' }],
  },
  avgPool2dForward: {
    cc: 'avg_pool2d_forward', doc: "average pooling; with countIncludePad the divisor counts padded cells (PyTorch's default)",
    args: [{ name: 'p', kind: 'struct', struct: 'ConvGeom' }, { name: 'x', kind: 'f32in' }, { name: 'y', kind: 'f32out' }, { name: 'countIncludePad', kind: 'bool' }],
  },
  avgPool2dBackward: {
    cc: 'avg_pool2d_backward', doc: "average pooling's gradient",
    args: [{ name: 'p', kind: 'struct', struct: 'ConvGeom' }, { name: 'gy', kind: 'f32in' }, { name: 'gx', kind: 'f32out' }, { name: 'countIncludePad', kind: 'bool' }],
  },
  attentionForward: {
    cc: 'attention_forward_kernel',
    doc: 'fused attention: out [B,H,T,Dv] (at layout.o, or contiguous), lse [B,H,T] (−∞ for a fully masked row, whose output is 0); mask strides [b, h, t, s]',
    args: [
      { name: 'q', kind: 'f32in' }, { name: 'k', kind: 'f32in' }, { name: 'v', kind: 'f32in' }, { name: 'out', kind: 'f32out' },
      { name: 'lse', kind: 'f32out' }, { name: 'dims', kind: 'struct', struct: 'AttnDims' }, { name: 'opts', kind: 'struct', struct: 'AttnOptions' },
      { name: 'maskKind', kind: 'enum', enum: 'MaskKind' }, { name: 'mask', kind: 'anyin', nullable: true }, { name: 'maskStrides', kind: 'longs' },
      { name: 'layout', kind: 'struct', struct: 'AttnOperands', nullable: true },
      // block mask (ops/blockMask.ts): tile table [blockQ, blockK, Bm, Hm, nq, nk, codes…] and partial tiles' elements; ALiBi slopes [H]
      { name: 'blocks', kind: 'i32in', nullable: true }, { name: 'blockElems', kind: 'anyin', nullable: true },
      { name: 'alibi', kind: 'f32in', nullable: true },
      // relative position bias: table [H, relNb] and the bucket of each offset j − i (at j − i + T − 1)
      { name: 'relTable', kind: 'f32in', nullable: true }, { name: 'relBuckets', kind: 'i32in', nullable: true }, { name: 'relNb', kind: 'long' },
    ],
  },
  attentionBackward: {
    cc: 'attention_backward_kernel',
    doc: 'fused attention gradients from the saved out and lse; dq, dk and dv come zeroed (dout takes out\'s view, dq, dk, dv take q\'s, k\'s, v\'s)',
    args: [
      { name: 'q', kind: 'f32in' }, { name: 'k', kind: 'f32in' }, { name: 'v', kind: 'f32in' }, { name: 'out', kind: 'f32in' },
      { name: 'lse', kind: 'f32in' }, { name: 'dout', kind: 'f32in' }, { name: 'dq', kind: 'f32inout' }, { name: 'dk', kind: 'f32inout' },
      { name: 'dv', kind: 'f32inout' }, { name: 'dims', kind: 'struct', struct: 'AttnDims' }, { name: 'opts', kind: 'struct', struct: 'AttnOptions' },
      { name: 'maskKind', kind: 'enum', enum: 'MaskKind' }, { name: 'mask', kind: 'anyin', nullable: true }, { name: 'maskStrides', kind: 'longs' },
      { name: 'layout', kind: 'struct', struct: 'AttnOperands', nullable: true },
      // block mask (ops/blockMask.ts): tile table [blockQ, blockK, Bm, Hm, nq, nk, codes…] and partial tiles' elements; ALiBi slopes [H]
      { name: 'blocks', kind: 'i32in', nullable: true }, { name: 'blockElems', kind: 'anyin', nullable: true },
      { name: 'alibi', kind: 'f32in', nullable: true },
      // relative position bias, and (when not null) its gradient per batch row, dRel [B, H, relNb] (zeroed; filled)
      { name: 'relTable', kind: 'f32in', nullable: true }, { name: 'relBuckets', kind: 'i32in', nullable: true }, { name: 'relNb', kind: 'long' },
      { name: 'dRel', kind: 'f64inout', nullable: true },
    ],
  },
} as const satisfies Record<string, KernelDef>;

/** The addon's exports that are not kernels (hand-written in native/src/addon.cc). */
export interface AddonControl {
  info(): { isa: string; bestIsa: string; threads: number; malloc?: string };
  setNumThreads(n: number): void;
  setIsa(isa: string): string;
}
export const CONTROL_EXPORTS = ['info', 'setNumThreads', 'setIsa'] as const satisfies readonly (keyof AddonControl)[];

// ── the table's own types ──
type Scalar = 'long' | 'u32' | 'float' | 'double' | 'bool';
type BufferKind = 'f32in' | 'f32out' | 'f32inout' | 'f64in' | 'f64inout' | 'i32in' | 'i32out' | 'anyin';
export type ArgDef =
  | { name: string; kind: BufferKind; nullable?: boolean }
  | { name: string; kind: Scalar | 'longs' }
  | { name: string; kind: 'len'; of: readonly string[] }
  | { name: string; kind: 'enum'; enum: keyof typeof ENUMS }
  | { name: string; kind: 'struct'; struct: keyof typeof STRUCTS; nullable?: boolean };
export interface KernelDef { cc: string; doc: string; args: readonly ArgDef[]; returns?: 'bool' }
export type KernelName = keyof typeof KERNELS;
export type EnumName = keyof typeof ENUMS;
export type StructName = keyof typeof STRUCTS;

/** A struct as JS passes it: its fields by name. */
export type StructValue<S extends StructName> = {
  -readonly [F in keyof (typeof STRUCTS)[S]]: (typeof STRUCTS)[S][F] extends 'bool' ? boolean
    : (typeof STRUCTS)[S][F] extends StructName ? StructValue<(typeof STRUCTS)[S][F]> : number
};

type BufferType<K> = K extends `f32${string}` ? Float32Array : K extends `f64${string}` ? Float64Array
  : K extends `i32${string}` ? Int32Array : Float32Array | Uint8Array;
type NullIf<A, T> = A extends { nullable: true } ? T | null : T;
/** The JS type of one argument (`strict`: as the addon takes it; else as adapters pass it, checked at run time). */
type ArgType<A, Strict extends boolean> =
  A extends { kind: infer K extends BufferKind } ? NullIf<A, Strict extends true ? BufferType<K> : AnyArray>
    : A extends { kind: 'bool' } ? boolean
      : A extends { kind: 'longs' } ? readonly number[]
        : A extends { kind: 'enum'; enum: infer E extends EnumName } ? Strict extends true ? number : (typeof ENUMS)[E][number] | (string & {})
          : A extends { kind: 'struct'; struct: infer S extends StructName } ? NullIf<A, StructValue<S>> : number;
/** The JS parameters of a kernel: its arguments minus the `len` ones, which C++ reads off the buffers. */
type Params<As, Strict extends boolean> = As extends readonly [infer H, ...infer R]
  ? H extends { kind: 'len' } ? Params<R, Strict> : [ArgType<H, Strict>, ...Params<R, Strict>] : [];
type Returns<K extends KernelName> = (typeof KERNELS)[K] extends { returns: 'bool' } ? boolean : void;

/** The compiled addon, derived from the table: a kernel missing from either side does not compile or fails the agreement test. */
export type Addon = { [K in KernelName]: (...args: Params<(typeof KERNELS)[K]['args'], true>) => Returns<K> } & AddonControl;
/** The kernels as adapters call them: buffers checked at run time (a wrong dtype or an unknown enum member falls back to js). */
export type LooseAddon = { [K in KernelName]: (...args: Params<(typeof KERNELS)[K]['args'], false>) => Returns<K> };
