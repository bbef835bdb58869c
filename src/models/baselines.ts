/**
 * Baselines fitted by the same trainer as the fusion model, so attention is compared with
 * what people would try first: a linear model (logistic or linear regression over every
 * field), an MLP over pooled field features, and convolutional networks — TextCNN
 * (Kim 2014), a TCN (Bai et al. 2018) and a small 2-D CNN.
 */
import { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import { ShapeError, ValueError } from '../errors.js';
import {
  add, amax, concat, gelu, maxPool2d, mean, mul, narrow, permute, relu, reshape, stack, toDtype, transpose, unsqueeze, where,
} from '../ops/index.js';
import { Module } from '../nn/module.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { Conv1d, Conv2d } from '../nn/conv.js';
import { Dropout } from '../nn/dropout.js';
import { ConvBlock } from '../nn/composite/blocks.js';
import type { Batch, FieldBatch } from '../data/dataset.js';
import type { FieldInfo, TargetInfo } from '../data/preprocessor.js';
import { checkModelArgs, TaskHeads, type TaskModel, type TaskOutputs } from './heads.js';
import { maskedMean } from './maskedMean.js';
import { fillSlots, tensorOps, type FieldSlots } from './fieldTokenizers.js';
import { fieldKindOf, kindsWith } from '../data/fields/index.js';
import type { Need } from '../data/fields/fieldKindDef.js';
import { checkRequiredOptions } from '../config.js';

function fieldOf(batch: Batch, name: string, model: string): FieldBatch {
  const f = batch.fields[name];
  if (!f) throw new ValueError(`${model}.forward: the batch has no field '${name}' (fields: ${Object.keys(batch.fields).join(', ')})`);
  return f;
}

/** The baselines take fitted sizes as given (a FieldInfo from `Preprocessor.fieldInfo()`). */
const given: Need = (v) => v!;

/**
 * One field → a fixed-width vector, by its kind's vector recipe (src/data/fields/<kind>.ts):
 * numeric [value, present]; categorical an embedding; text / key–value the mean of token
 * embeddings (a learned bag of words; key–value adds key embeddings); time series / image the
 * mean of projected patches.
 */
class FieldVector extends Module implements FieldSlots {
  embedding: Embedding | null = null;
  keyEmbedding: Embedding | null = null;
  proj: Linear | null = null;
  readonly outDim: number;
  constructor(readonly info: FieldInfo, readonly width: number, rng: Generator) {
    super();
    const def = fieldKindOf(info.kind).vector;
    fillSlots(this, def.params(info, given), width, rng);
    this.outDim = def.width ?? width;
  }
  forward(f: FieldBatch): Tensor {
    return fieldKindOf(f.kind).vector.forward<Tensor>({
      ...tensorOps(this, f),
      maskedMean: (x, mask) => maskedMean(x, mask),                                    // [B, w]
      mean: (x) => mean(x, 1),
      withFlag: (values, present) => stack([values, toDtype(present, 'float32')], -1),  // [B, 2]
      timesPresent: (x, present) => mul(x, unsqueeze(toDtype(present, 'float32'), -1)),
    });
  }
}

function selectFields(fields: FieldInfo[], names: string[] | undefined, model: string): FieldInfo[] {
  if (!names) return fields;
  const out = names.map((n) => {
    const f = fields.find((x) => x.name === n);
    if (!f) throw new ValueError(`${model}: no field '${n}' (fields: ${fields.map((x) => x.name).join(', ')})`);
    return f;
  });
  if (out.length === 0) throw new ValueError(`${model}: fields must name at least one field`);
  return out;
}

/**
 * Logistic / linear regression over all fields: each field adds a learned linear function of
 * its vector (numeric value and missing flag, a weight per category, a weight per word
 * averaged over the text) — no hidden layer, no interactions.
 */
export class LinearModel extends Module implements TaskModel {
  readonly fields: FieldInfo[];
  vectors: FieldVector[];
  heads: TaskHeads;
  constructor(fields: FieldInfo[], readonly targets: TargetInfo[], options: { fields?: string[]; rng: Generator }) {
    super();
    checkModelArgs('LinearModel', fields, targets);
    checkRequiredOptions('LinearModel', options, { fields: true, rng: true });
    this.fields = selectFields(fields, options.fields, 'LinearModel');
    const K = targets.reduce((n, t) => n + t.outputs, 0);
    this.vectors = this.fields.map((f) => new FieldVector(f, K, options.rng));
    this.heads = new TaskHeads(targets, this.vectors.reduce((n, v) => n + v.outDim, 0), options.rng);
  }
  forward(batch: Batch): { outputs: TaskOutputs } {
    const parts = this.fields.map((f, i) => this.vectors[i].forward(fieldOf(batch, f.name, 'LinearModel')));
    return { outputs: this.heads.forward(concat(parts, -1)) };
  }
}

/** An MLP over the concatenated field vectors: hidden layers with ReLU and dropout. */
export class MLPModel extends Module implements TaskModel {
  readonly fields: FieldInfo[];
  vectors: FieldVector[];
  hidden: Linear[];
  dropout: Dropout;
  heads: TaskHeads;
  constructor(fields: FieldInfo[], readonly targets: TargetInfo[], options: { fields?: string[]; width?: number; hidden?: number[]; dropout?: number; rng: Generator }) {
    super();
    checkModelArgs('MLPModel', fields, targets);
    checkRequiredOptions('MLPModel', options, { fields: true, width: true, hidden: true, dropout: true, rng: true });
    const { rng } = options;
    this.fields = selectFields(fields, options.fields, 'MLPModel');
    this.vectors = this.fields.map((f) => new FieldVector(f, options.width ?? 16, rng));
    let d = this.vectors.reduce((n, v) => n + v.outDim, 0);
    this.hidden = (options.hidden ?? [64, 64]).map((h) => { const l = new Linear(d, h, { rng }); d = h; return l; });
    this.dropout = new Dropout(options.dropout ?? 0.1, rng);
    this.heads = new TaskHeads(targets, d, rng);
  }
  forward(batch: Batch): { outputs: TaskOutputs } {
    let h = concat(this.fields.map((f, i) => this.vectors[i].forward(fieldOf(batch, f.name, 'MLPModel'))), -1);
    for (const l of this.hidden) h = this.dropout.forward(relu(l.forward(h)));
    return { outputs: this.heads.forward(h) };
  }
}

/** The kinds a sequence model takes, as a phrase: 'text, keyValue or timeSeries'. */
function sequenceKinds(): string {
  const ks = kindsWith('sequence');
  return ks.length > 1 ? `${ks.slice(0, -1).join(', ')} or ${ks[ks.length - 1]}` : ks.join('');
}

/** Sequence tokens of a field whose kind has a sequence recipe (text, key–value, time series): [B, L, C] and mask [B, L]. */
class SequenceInput extends Module implements FieldSlots {
  embedding: Embedding | null = null;
  proj: Linear | null = null;
  constructor(readonly info: FieldInfo, dim: number, rng: Generator, model: string) {
    super();
    const def = fieldKindOf(info.kind).sequence;
    if (!def) throw new ValueError(`${model}: field '${info.name}' is ${info.kind}; a sequence model needs a ${sequenceKinds()} field`);
    fillSlots(this, def.params(info, given), dim, rng);
  }
  forward(f: FieldBatch): { x: Tensor; mask: Tensor } {
    const def = fieldKindOf(f.kind).sequence;
    if (f.kind !== this.info.kind || !def) throw new ShapeError(`SequenceInput: field '${this.info.name}' got a ${f.kind} batch`);
    return def.forward<Tensor>(tensorOps(this, f));
  }
}

/**
 * TextCNN (Kim 2014): embeddings → parallel Conv1d with several kernel widths → ReLU →
 * max over time (padding excluded) → dropout → heads. One sequence field.
 */
export class TextCNN extends Module implements TaskModel {
  input: SequenceInput;
  convs: Conv1d[];
  dropout: Dropout;
  heads: TaskHeads;
  constructor(fields: FieldInfo[], readonly targets: TargetInfo[], readonly options: { field: string; dim?: number; channels?: number; kernelSizes?: number[]; dropout?: number; rng: Generator }) {
    super();
    checkModelArgs('TextCNN', fields, targets);
    checkRequiredOptions('TextCNN', options, { field: true, dim: true, channels: true, kernelSizes: true, dropout: true, rng: true });
    const { rng } = options;
    const [info] = selectFields(fields, [options.field], 'TextCNN');
    const C = options.dim ?? 32, F = options.channels ?? 32;
    this.input = new SequenceInput(info, C, rng, 'TextCNN');
    this.convs = (options.kernelSizes ?? [3, 4, 5]).map((k) => new Conv1d(C, F, k, { padding: Math.floor(k / 2), rng }));
    this.dropout = new Dropout(options.dropout ?? 0.2, rng);
    this.heads = new TaskHeads(targets, F * this.convs.length, rng);
  }
  forward(batch: Batch): { outputs: TaskOutputs } {
    const { x, mask } = this.input.forward(fieldOf(batch, this.options.field, 'TextCNN'));
    const T = x.shape[1]!;
    // padding as zeros (not id 0's embedding or a patch's bias), so a row's output does not depend on its batch
    const h = transpose(where(unsqueeze(mask, -1), x, 0), 1, 2);                         // [B, C, T]
    const m = unsqueeze(mask, 1);                                                        // [B, 1, T]
    const pooled = this.convs.map((conv) => {
      const y = relu(conv.forward(h));                                                   // [B, F, T′]
      const yT = y.shape[2] === T ? y : narrow(y, 2, 0, T);                              // [B, F, T] (even kernels give T + 1)
      return amax(where(m, yT, 0), -1);                                                  // [B, F] (ReLU ≥ 0, so 0 is neutral)
    });
    return { outputs: this.heads.forward(this.dropout.forward(concat(pooled, -1))) };
  }
}

/**
 * A temporal convolutional network (Bai et al. 2018): causal dilated convolutions
 * (dilation 1, 2, 4, …) in residual blocks, then the masked mean over time → heads.
 */
export class TCN extends Module implements TaskModel {
  input: SequenceInput;
  blocks: ConvBlock[];
  heads: TaskHeads;
  constructor(fields: FieldInfo[], readonly targets: TargetInfo[], readonly options: { field: string; dim?: number; levels?: number; kernelSize?: number; rng: Generator }) {
    super();
    checkModelArgs('TCN', fields, targets);
    checkRequiredOptions('TCN', options, { field: true, dim: true, levels: true, kernelSize: true, rng: true });
    const { rng } = options;
    const [info] = selectFields(fields, [options.field], 'TCN');
    const C = options.dim ?? 32;
    this.input = new SequenceInput(info, C, rng, 'TCN');
    this.blocks = Array.from({ length: options.levels ?? 4 }, (_, i) => new ConvBlock({ embedDim: C, kernelSize: options.kernelSize ?? 3, dilation: 2 ** i, causal: true, rng }));
    this.heads = new TaskHeads(targets, C, rng);
  }
  forward(batch: Batch): { outputs: TaskOutputs } {
    const { x, mask } = this.input.forward(fieldOf(batch, this.options.field, 'TCN'));
    let h = x;                                                                           // [B, T, C]
    for (const b of this.blocks) h = add(h, b.forward(h, { keyMask: mask }).output);
    return { outputs: this.heads.forward(maskedMean(h, mask)) };
  }
}

/**
 * A small 2-D CNN for an image field: (Conv2d 3×3 → GELU → 2×2 max-pool) × levels → global
 * average → heads. Patches are put back into [B, channels, H, W] first.
 */
export class SmallCNN2d extends Module implements TaskModel {
  convs: Conv2d[];
  heads: TaskHeads;
  private readonly side: { H: number; W: number; channels: number; patch: number };
  constructor(fields: FieldInfo[], readonly targets: TargetInfo[], readonly options: { field: string; height: number; width: number; channels?: number; patchSize: number; filters?: number[]; rng: Generator }) {
    super();
    checkModelArgs('SmallCNN2d', fields, targets);
    checkRequiredOptions('SmallCNN2d', options, { field: true, height: true, width: true, channels: true, patchSize: true, filters: true, rng: true });
    const { rng } = options;
    const [info] = selectFields(fields, [options.field], 'SmallCNN2d');
    if (info.kind !== 'image') throw new ValueError(`SmallCNN2d: field '${info.name}' is ${info.kind}, expected image`);
    this.side = { H: options.height, W: options.width, channels: options.channels ?? 1, patch: options.patchSize };
    let c = this.side.channels;
    this.convs = (options.filters ?? [16, 32]).map((f) => { const conv = new Conv2d(c, f, 3, { padding: 1, rng }); c = f; return conv; });
    this.heads = new TaskHeads(targets, c, rng);
  }
  forward(batch: Batch): { outputs: TaskOutputs } {
    const f = fieldOf(batch, this.options.field, 'SmallCNN2d');
    if (f.kind !== 'image') throw new ShapeError(`SmallCNN2d.forward: field '${this.options.field}' is not an image batch`);
    const { H, W, channels: Cn, patch: p } = this.side;
    const B = f.patches.shape[0]!;
    const grid = reshape(f.patches, [B, H / p, W / p, p, p, Cn]);                         // [B, H/p, W/p, p, p, C]
    let x = reshape(permute(grid, [0, 5, 1, 3, 2, 4]), [B, Cn, H, W]);                    // [B, C, H, W]
    for (const conv of this.convs) x = maxPool2(gelu(conv.forward(x)));
    return { outputs: this.heads.forward(mean(x, [2, 3])) };                             // [B, filters]
  }
}

function maxPool2(x: Tensor): Tensor {
  return x.shape[2]! >= 2 && x.shape[3]! >= 2 ? maxPool2d(x, 2) : x;
}
