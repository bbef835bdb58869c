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
import { ShapeError, ValueError } from '../errors.js';
import { add, expand, mul, ne, reshape, unsqueeze } from '../ops/index.js';
import { Module, Parameter } from '../nn/module.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import type { FieldBatch } from '../data/dataset.js';
import type { FieldInfo } from '../data/preprocessor.js';

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

/**
 * The encoder of one field. Parameters by kind: numeric weight/bias [C]; categorical and text
 * `embedding`; text, time series and image `position`; key–value `embedding` + `keyEmbedding`;
 * time series and image `proj`; all `fieldEmbedding` [C].
 */
export class FieldTokenizer extends Module {
  fieldEmbedding: Parameter;
  weight: Parameter | null = null;
  bias: Parameter | null = null;
  embedding: Embedding | null = null;
  keyEmbedding: Embedding | null = null;
  position: Embedding | null = null;
  proj: Linear | null = null;

  constructor(readonly info: FieldInfo, readonly dim: number, rng: Generator) {
    super();
    const C = dim;
    this.fieldEmbedding = new Parameter(randn([C], { rng, std: 1 / Math.sqrt(C) }));
    const need = (v: number | undefined, what: string): number => {
      if (!v || v < 1) throw new ValueError(`FieldTokenizer: field '${info.name}' (${info.kind}) needs ${what}; fit the preprocessor first`);
      return v;
    };
    switch (info.kind) {
      case 'numeric':
        this.weight = new Parameter(randn([C], { rng, std: 1 / Math.sqrt(C) }));
        this.bias = new Parameter(randn([C], { rng, std: 1 / Math.sqrt(C) }));
        break;
      case 'categorical':
        this.embedding = scaledEmbedding(need(info.vocabSize, 'vocabSize'), C, rng);
        break;
      case 'text':
        this.embedding = scaledEmbedding(need(info.vocabSize, 'vocabSize'), C, rng, 0);
        this.position = scaledEmbedding(need(info.maxLength, 'maxLength'), C, rng);
        break;
      case 'keyValue':
        this.embedding = scaledEmbedding(need(info.vocabSize, 'vocabSize'), C, rng, 0);
        this.keyEmbedding = scaledEmbedding(need(info.numKeys, 'numKeys'), C, rng, 0);
        break;
      case 'timeSeries':
        this.proj = new Linear(need(info.patchDim, 'patchDim'), C, { rng });
        this.position = scaledEmbedding(need(info.maxLength, 'maxLength'), C, rng);
        break;
      case 'image':
        this.proj = new Linear(need(info.patchDim, 'patchDim'), C, { rng });
        this.position = scaledEmbedding(need(info.numPatches, 'numPatches'), C, rng);
        break;
    }
  }

  forward(f: FieldBatch): FieldTokens {
    const name = `FieldTokenizer(${this.info.name}).forward`;
    if (f.kind !== this.info.kind) throw new ShapeError(`${name}: got a ${f.kind} field batch, the field is ${this.info.kind}`);
    let tokens: Tensor, mask: Tensor;
    switch (f.kind) {
      case 'numeric': {
        const B = f.values.shape[0]!;
        const x = reshape(f.values, [B, 1, 1]);                                              // [B, 1, 1]
        tokens = add(mul(x, this.weight!), this.bias!);                                      // [B, 1, C]
        mask = reshape(f.present, [B, 1]);
        break;
      }
      case 'categorical': {
        const B = f.ids.shape[0]!;
        tokens = reshape(this.embedding!.forward(f.ids), [B, 1, this.dim]);                  // [B, 1, C]
        mask = reshape(ne(f.ids, 0), [B, 1]);
        break;
      }
      case 'text': {
        const L = f.ids.shape[1]!;
        tokens = add(this.embedding!.forward(f.ids), this.position!.forward(positions(L)));   // [B, L, C]
        mask = f.mask;
        break;
      }
      case 'keyValue':
        tokens = add(this.embedding!.forward(f.ids), this.keyEmbedding!.forward(f.keys));      // [B, L, C]
        mask = f.mask;
        break;
      case 'timeSeries': {
        const P = f.patches.shape[1]!;
        if (P > this.info.maxLength!) throw new ShapeError(`${name}: ${P} patches, at most ${this.info.maxLength} were fitted`);
        tokens = add(this.proj!.forward(f.patches), this.position!.forward(positions(P)));     // [B, P, C]
        mask = f.mask;
        break;
      }
      case 'image': {
        const [B, P] = f.patches.shape as [number, number, number];
        tokens = add(this.proj!.forward(f.patches), this.position!.forward(positions(P)));     // [B, P, C]
        mask = expand(unsqueeze(f.present, 1), [B, P]);
        break;
      }
    }
    return { tokens: add(tokens, this.fieldEmbedding), mask };
  }
}
