import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { add, mul, sigmoid, sub, tanh, where } from '../ops/elementwise.js';
import { linear } from '../ops/linalg.js';
import { concat, narrow, reshape, stack } from '../ops/shape.js';
import { zeros } from '../tensor/creation.js';
import { Module, Parameter } from './module.js';
import { aliasedOption, checkPositiveInt, checkRng, checkSequence, uniformInit, type InitOptions } from './init.js';
import { checkOptions, checkRequiredOptions } from '../config.js';

export interface GRUOptions extends InitOptions {
  inputSize: number;
  hiddenSize: number;
  numLayers?: number;
  bidirectional?: boolean;
  bias?: boolean;
}

/**
 * A gated recurrent unit, PyTorch's equations and parameter layout (batch first):
 * r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
 * n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h′ = (1 − z) ⊙ n + z ⊙ h.
 * x [B, T, inputSize] → output [B, T, dirs·hiddenSize], hN [layers·dirs, B, hiddenSize].
 * `keyMask` [B, T] (true = real step; `mask` is its deprecated alias) makes padded steps keep the state and output zeros, as
 * PyTorch's packed sequences do; the reverse direction then starts at each sequence's last real step.
 * Parameters: weightIhL0 [3H, in], weightHhL0 [3H, H], biasIhL0, biasHhL0, and …Reverse
 * (PyTorch: weight_ih_l0, …, weight_ih_l0_reverse), initialised U(±1/√H) as PyTorch.
 *
 * @example
 * const gru = new GRU({ inputSize: 32, hiddenSize: 50, bidirectional: true, rng });
 * const { output } = gru.forward(x, { keyMask });   // [B, T, 100]
 */
export class GRU extends Module {
  readonly numLayers: number;
  readonly directions: number;

  constructor(readonly options: GRUOptions) {
    super();
    checkRequiredOptions('GRU', options, { rng: true, inputSize: true, hiddenSize: true, numLayers: true, bidirectional: true, bias: true });
    const name = 'GRU';
    const rng = checkRng(options, name);
    const In = checkPositiveInt(options.inputSize, name, 'inputSize');
    const H = checkPositiveInt(options.hiddenSize, name, 'hiddenSize');
    this.numLayers = checkPositiveInt(options.numLayers ?? 1, name, 'numLayers');
    this.directions = options.bidirectional ? 2 : 1;
    const bound = 1 / Math.sqrt(H);
    const self = this as unknown as Record<string, Parameter>;
    for (let l = 0; l < this.numLayers; l++) {
      for (let d = 0; d < this.directions; d++) {
        const sfx = `L${l}${d === 1 ? 'Reverse' : ''}`;
        const inF = l === 0 ? In : H * this.directions;
        self[`weightIh${sfx}`] = new Parameter(uniformInit([3 * H, inF], bound, rng));
        self[`weightHh${sfx}`] = new Parameter(uniformInit([3 * H, H], bound, rng));
        if (options.bias !== false) {
          self[`biasIh${sfx}`] = new Parameter(uniformInit([3 * H], bound, rng));
          self[`biasHh${sfx}`] = new Parameter(uniformInit([3 * H], bound, rng));
        }
      }
    }
  }

  private param(kind: string, l: number, d: number): Parameter | null {
    return ((this as unknown as Record<string, Parameter | undefined>)[`${kind}L${l}${d === 1 ? 'Reverse' : ''}`]) ?? null;
  }

  forward(x: Tensor, options: { keyMask?: Tensor | null; /** @deprecated Alias of keyMask. */ mask?: Tensor | null; h0?: Tensor | null } = {}): { output: Tensor; hN: Tensor } {
    checkOptions('GRU.forward', options, { keyMask: true, mask: true, h0: true });
    const fn = 'GRU.forward';
    const { inputSize: In, hiddenSize: H } = this.options;
    checkSequence(fn, 'x', x, In, 'B, T');
    const [B, T] = x.shape as [number, number, number];
    const mask = aliasedOption<Tensor | null>(fn, options, 'keyMask', 'mask') ?? null;
    if (mask !== null && (!(mask instanceof Tensor) || mask.dtype !== 'bool' || mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== T)) {
      throw new ShapeError(`${fn}: keyMask must be bool [B, T] = ${fmtShape([B, T])}, got ${mask instanceof Tensor ? `${mask.dtype} ${fmtShape(mask.shape)}` : typeof mask}`);
    }
    const LD = this.numLayers * this.directions;
    const h0 = options.h0 ?? null;
    if (h0 !== null && (!(h0 instanceof Tensor) || h0.ndim !== 3 || h0.shape[0] !== LD || h0.shape[1] !== B || h0.shape[2] !== H)) {
      throw new ShapeError(`${fn}: h0 must be [layers·dirs, B, H] = ${fmtShape([LD, B, H])}, got ${h0 instanceof Tensor ? fmtShape(h0.shape) : typeof h0}`);
    }
    if (T === 0) throw new ValueError(`${fn}: x has no time steps`);
    const steps = mask ? Array.from({ length: T }, (_, t) => reshape(narrow(mask, 1, t, 1), [B, 1])) : null;
    const finals: Tensor[] = [];
    let input = x;
    for (let l = 0; l < this.numLayers; l++) {
      const outs: Tensor[] = [];
      for (let d = 0; d < this.directions; d++) {
        const gi = linear(input, this.param('weightIh', l, d)!, this.param('biasIh', l, d));   // [B, T, 3H]
        const whh = this.param('weightHh', l, d)!, bhh = this.param('biasHh', l, d);
        let h = h0 ? reshape(narrow(h0, 0, l * this.directions + d, 1), [B, H]) : zeros([B, H], { dtype: x.dtype });
        const seq: Tensor[] = new Array<Tensor>(T);
        for (let s = 0; s < T; s++) {
          const t = d === 0 ? s : T - 1 - s;
          const g = reshape(narrow(gi, 1, t, 1), [B, 3 * H]);
          const gh = linear(h, whh, bhh);                                                    // [B, 3H]
          const r = sigmoid(add(narrow(g, 1, 0, H), narrow(gh, 1, 0, H)));
          const z = sigmoid(add(narrow(g, 1, H, H), narrow(gh, 1, H, H)));
          const n = tanh(add(narrow(g, 1, 2 * H, H), mul(r, narrow(gh, 1, 2 * H, H))));
          const hNew = add(mul(sub(1, z), n), mul(z, h));
          h = steps ? where(steps[t]!, hNew, h) : hNew;
          seq[t] = steps ? where(steps[t]!, h, 0) : h;
        }
        outs.push(stack(seq, 1));                                                            // [B, T, H]
        finals.push(h);
      }
      input = this.directions === 1 ? outs[0]! : concat(outs, -1);
    }
    return { output: input, hN: stack(finals, 0) };
  }
}
