/**
 * Learned field encoders: each turns one field of a batch into tokens [B, n, C] with a mask
 * [B, n] (true = real), in one shared width C. Numeric fields become one token x·w + b
 * (FT-Transformer's feature tokenizer), categorical fields one embedding, text and key–value
 * fields one token per word (key–value: value token + key embedding), time series and images
 * one token per patch. Every field also adds its own learned field embedding, so tokens keep
 * the field they came from; a missing value or source is a masked token, never a silent zero.
 */
import { Tensor } from '../tensor/tensor.js';
import { randn } from '../tensor/creation.js';
import type { Generator } from '../tensor/random.js';
import { ShapeError, ValueError, kindOf } from '../errors.js';
import { add, clamp, concat, cos, div, expand, mul, ne, relu, reshape, sin, sub, unsqueeze } from '../ops/index.js';
import { Module, Parameter } from '../nn/module.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { checkPositiveInt } from '../nn/init.js';
import type { FieldBatch } from '../data/dataset.js';
import type { FieldInfo } from '../data/preprocessor.js';
import { fieldKindOf } from '../data/fields/index.js';
import type { FieldOps, Need, ParamSpec } from '../data/fields/fieldKindDef.js';

/** Tokens of one field: [B, n, C] and mask [B, n] (bool). */
export interface FieldTokens { tokens: Tensor; mask: Tensor }

/** An embedding initialised N(0, 1/C) rather than PyTorch's N(0, 1), so token norms are near 1. */
export function scaledEmbedding(n: number, C: number, rng: Generator, paddingIdx?: number): Embedding {
  const e = new Embedding(n, C, { rng, paddingIdx });
  const s = 1 / Math.sqrt(C);
  for (let i = 0; i < e.weight.data.length; i++) e.weight.data[i] *= s;
  return e;
}

function positions(L: number): Tensor {
  return new Tensor(Int32Array.from({ length: L }, (_, i) => i), [L]);
}

/** The modules a field kind's recipe names by slot (`ParamSpec`); each model holds the slots it uses. */
export interface FieldSlots {
  weight?: Parameter | null;
  bias?: Parameter | null;
  embedding?: Embedding | null;
  keyEmbedding?: Embedding | null;
  position?: Embedding | null;
  proj?: Linear | null;
  frequencies?: Parameter | null;
}

/** Creates the parameters `specs` lists, in order, as `m`'s slots of width C. */
export function fillSlots(m: FieldSlots, specs: readonly ParamSpec[], C: number, rng: Generator): void {
  for (const p of specs) {
    switch (p.slot) {
      case 'weight': case 'bias': m[p.slot] = new Parameter(randn([C], { rng, std: 1 / Math.sqrt(C) })); break;
      case 'embedding': case 'keyEmbedding': case 'position': m[p.slot] = scaledEmbedding(p.rows, C, rng, p.paddingIdx); break;
      case 'proj': m.proj = new Linear(p.inputs, C, { rng }); break;
      case 'frequencies': m.frequencies = new Parameter(randn([p.count], { rng, std: p.sigma })); break;
    }
  }
}

/** A kind's recipe operations on tensors, with `m`'s parameters and the field batch `fb`. */
export function tensorOps(m: FieldSlots, fb: FieldBatch): FieldOps<Tensor, Record<string, unknown>> {
  const tensors = fb as unknown as Record<string, Tensor>;
  return {
    input: (key) => tensors[key],
    embed: (slot, ids) => m[slot]!.forward(ids),
    positions: (x) => m.position!.forward(positions(x.shape[1]!)),
    project: (x) => m.proj!.forward(x),
    affine: (x) => add(mul(reshape(x, [x.shape[0]!, 1, 1]), m.weight!), m.bias!),          // [B, 1, C]
    piecewise: (x, edges) => {
      const K = edges.length - 1;
      const left = new Tensor(Float32Array.from(edges.slice(0, K)), [K]);
      const width = new Tensor(Float32Array.from({ length: K }, (_, t) => edges[t + 1] - edges[t]), [K]);
      return clamp(div(sub(reshape(x, [x.shape[0]!, 1, 1]), left), width), { min: 0, max: 1 });  // [B, 1, K]
    },
    periodic: (x) => {
      const v = mul(reshape(x, [x.shape[0]!, 1, 1]), mul(m.frequencies!, 2 * Math.PI));       // [B, 1, k]
      return concat([cos(v), sin(v)], 2);                                                       // [B, 1, 2k]
    },
    relu: (x) => relu(x),
    add: (a, b) => add(a, b),
    token: (x) => reshape(x, [x.shape[0]!, 1, ...x.shape.slice(1)]),                         // [B, 1, …]
    nonzero: (x) => ne(x, 0),
    perToken: (present, x) => expand(unsqueeze(present, 1), [x.shape[0]!, x.shape[1]!]),     // [B, n]
  };
}

/** A `Need` that throws ValueError naming the model, the field and the missing size. */
export function needOf(model: string, info: FieldInfo): Need {
  return (v, what) => {
    if (!v || v < 1) throw new ValueError(`${model}: field '${info.name}' (${info.kind}) needs ${what}; fit the preprocessor first`);
    return v;
  };
}

/**
 * The encoder of one field, built from its kind's token recipe (src/data/fields/<kind>.ts).
 * Parameters by kind: numeric weight/bias [C] (embedding 'linear'), proj (piecewise, periodic) and
 * frequencies [k] (periodic); categorical and text `embedding`; text, time
 * series and image `position`; key–value `embedding` + `keyEmbedding`; time series and image
 * `proj`; all `fieldEmbedding` [C].
 */
export class FieldTokenizer extends Module implements FieldSlots {
  fieldEmbedding: Parameter;
  weight: Parameter | null = null;
  bias: Parameter | null = null;
  embedding: Embedding | null = null;
  keyEmbedding: Embedding | null = null;
  position: Embedding | null = null;
  proj: Linear | null = null;
  frequencies: Parameter | null = null;

  constructor(readonly info: FieldInfo, readonly dim: number, rng: Generator) {
    super();
    if (info === null || typeof info !== 'object') throw new ValueError(`FieldTokenizer: info must be one field's entry of the preprocessor's fieldInfo(), got ${kindOf(info)}`);
    checkPositiveInt(dim, `FieldTokenizer(${info.name})`, 'dim');
    const C = dim;
    this.fieldEmbedding = new Parameter(randn([C], { rng, std: 1 / Math.sqrt(C) }));
    fillSlots(this, fieldKindOf(info.kind).tokens.params(info, needOf('FieldTokenizer', info)), C, rng);
  }

  forward(f: FieldBatch): FieldTokens {
    const name = `FieldTokenizer(${this.info.name}).forward`;
    if (f.kind !== this.info.kind) throw new ShapeError(`${name}: got a ${f.kind} field batch, the field is ${this.info.kind}`);
    const def = fieldKindOf(f.kind);
    def.check?.(f, this.info, name);
    const { tokens, mask } = def.tokens.forward(tensorOps(this, f), this.info);                          // [B, n, C], [B, n]
    return { tokens: add(tokens, this.fieldEmbedding), mask };
  }
}
