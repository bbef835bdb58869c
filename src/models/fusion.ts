/**
 * The heterogeneous-fusion model: every field of a schema becomes tokens in one space (with
 * field embeddings), then one of three fusion strategies combines them:
 * - 'early' — one Transformer over [CLS] + all tokens (FT-Transformer; Gorishniy et al. 2021);
 * - 'crossModal' — tokens grouped by source; each source's stream attends to the others with
 *   cross-modal Transformers, streams pooled and joined (MulT; Tsai et al. 2019);
 * - 'latent' — a Perceiver: learned latents read all tokens, then self-attend (Jaegle et al. 2021).
 * Missing values and missing sources are masked out of attention (a fully masked source gives
 * zeros in its cross-modal stream and is left out of pooling).
 */
import { Tensor } from '../tensor/tensor.js';
import { randn } from '../tensor/creation.js';
import type { Generator } from '../tensor/random.js';
import { ConfigError, ValueError } from '../errors.js';
import { checkOptions, validateConfig, v } from '../config.js';
import { add, concat, expand, logSoftmax, logsumexp, mean, mul, narrow, neg, reshape, softplus, squeeze, stack, sub, unsqueeze } from '../ops/index.js';
import { Module, Parameter } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { LayerNorm } from '../nn/layerNorm.js';
import { TransformerEncoder } from '../nn/attention/transformer.js';
import { MultiHeadAttention } from '../nn/attention/multihead.js';
import { CrossModalTransformer, PerceiverEncoder } from '../nn/attention/crossModal.js';
import { Serial } from '../nn/composite/serial.js';
import { buildBlock, blockConfigSchema } from '../nn/composite/build.js';
import { tokenMaps } from '../nn/composite/blocks.js';
import type { Batch } from '../data/dataset.js';
import type { FieldInfo, TargetInfo } from '../data/preprocessor.js';
import { FieldTokenizer } from './fieldTokenizers.js';
import { checkModelArgs, TaskHeads, type TaskModel, type TaskOutputs } from './heads.js';
import { LinearModel } from './baselines.js';
import { maskedMean } from './maskedMean.js';

export { maskedMean };

const int = v.pipe(v.number(), v.integer(), v.minValue(1));

/** The fusion model's config (JSON/YAML-ready; unknown keys are errors). */
export const fusionConfigSchema = v.strictObject({
  strategy: v.optional(v.picklist(['early', 'crossModal', 'latent'])),
  /** Token width C (default 32). */
  dim: v.optional(int),
  /** Transformer / cross-modal / latent layers (default 2). */
  layers: v.optional(int),
  heads: v.optional(int),
  dimFeedforward: v.optional(int),
  dropout: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(0.9))),
  /** 'latent': number of latents (default 8). */
  numLatents: v.optional(int),
  /** Use only the fields of these sources (e.g. one source, for comparisons). */
  sources: v.optional(v.pipe(v.array(v.string()), v.minLength(1))),
  /** 'early' only: each layer is this block (e.g. a fusion of attention and convolution) instead of a Transformer layer. */
  block: v.optional(blockConfigSchema),
  /** σReparam (Zhai et al. 2023) on every linear layer and attention projection. */
  sigmaReparam: v.optional(v.boolean()),
  /**
   * k ensemble members sharing one backbone (TabM-style, Gorishniy et al. 2024; default 1 = no
   * ensemble): each member multiplies every token by its own vector r ∈ ℝ^C (initialised ±1) and
   * has its own task heads; trained on the mean of the members' losses, predicting the mean of
   * their probabilities (values, for regression). Costs about k× the compute of one model.
   * Attention maps (`needWeights`) are the first member's.
   */
  ensemble: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64))),
  /**
   * How the `ensemble` members are made (default 'shared'): 'shared' as above (TabM-style, one
   * backbone); 'independent', k whole models, each with its own tokenizers, backbone, heads (and
   * wide part) from its own initial values (a deep ensemble, Lakshminarayanan et al. 2017), trained
   * side by side on the mean of their losses, predicting the mean of their probabilities (values).
   * k× the parameters and compute of one model. The model's own parts are the first member; the
   * others are `memberModels`. Attention maps (`needWeights`) are the first member's. The mean
   * scales each member's gradient by 1/k: AdamW's steps (the default) do not change, but SGD's
   * step is 1/k of a member's alone, and Adam's or L-BFGS's L2 term weighs k× against the data.
   * Needs `ensemble` beside it.
   */
  ensembleMode: v.optional(v.picklist(['shared', 'independent'])),
  /**
   * A wide (linear) part beside the deep one (Wide & Deep, Cheng et al. 2016; default false): a
   * `LinearModel` of every used field (numeric value and missing flag, an embedding of width
   * outputs per category, a bag of words per text) whose outputs are added to the deep outputs
   * (to every member's, with `ensemble`), trained jointly. Parameters: wide.vectors.i.…, wide.heads.….
   */
  wide: v.optional(v.boolean()),
});
export type FusionModelConfig = v.InferOutput<typeof fusionConfigSchema>;

/**
 * @example
 * const pre = data.Preprocessor.fit(schema, records);
 * const model = new models.FusionModel(pre.fieldInfo(), pre.targetInfo(), { strategy: 'early', dim: 32 }, rng);
 * const { outputs } = model.forward(dataset.batch([0, 1, 2]));   // outputs.label: [3] logits
 */
export class FusionModel extends Module implements TaskModel {
  readonly config: Required<Omit<FusionModelConfig, 'sources' | 'block' | 'sigmaReparam'>> & Pick<FusionModelConfig, 'sources' | 'block' | 'sigmaReparam'>;
  readonly fields: FieldInfo[];
  /** Source names in first-seen field order (crossModal streams). */
  readonly sources: string[];
  tokenizers: FieldTokenizer[];
  cls: Parameter | null = null;
  encoder: TransformerEncoder | null = null;
  blocks: Serial | null = null;
  blocksNorm: LayerNorm | null = null;
  crossModal: CrossModalTransformer[] = [];
  streamProj: Linear | null = null;
  perceiver: PerceiverEncoder | null = null;
  /** `ensemble: k` > 1: the members' token multipliers [k, C]; null for one model. */
  ensembleScale: Parameter | null = null;
  headNorm: LayerNorm;
  /** The task heads; with `ensemble: k` > 1, one `TaskHeads` per member. */
  heads: TaskHeads | EnsembleHeads;
  /** `wide: true`: the linear model whose outputs are added to the deep ones; null without. */
  wide: LinearModel | null = null;
  /** `ensembleMode: 'independent'`: members 2…k, whole models of their own (this model's own parts are member 1); empty otherwise. */
  memberModels: FusionModel[] = [];

  constructor(fields: FieldInfo[], readonly targets: TargetInfo[], config: FusionModelConfig | unknown, rng: Generator) {
    super();
    checkModelArgs('FusionModel', fields, targets);
    const c = validateConfig(fusionConfigSchema, config ?? {}, 'FusionModel');
    const C = c.dim ?? 32;
    this.config = {
      strategy: c.strategy ?? 'early', dim: C, layers: c.layers ?? 2, heads: c.heads ?? 4,
      dimFeedforward: c.dimFeedforward ?? 2 * C, dropout: c.dropout ?? 0.1, numLatents: c.numLatents ?? 8,
      sources: c.sources, block: c.block, sigmaReparam: c.sigmaReparam, ensemble: c.ensemble ?? 1, ensembleMode: c.ensembleMode ?? 'shared', wide: c.wide ?? false,
    };
    if (c.ensembleMode !== undefined && c.ensemble === undefined) throw new ConfigError(`FusionModel: ensembleMode '${c.ensembleMode}' says how the ensemble's members are made; give ensemble: k (the number of members) beside it`);
    if (C % this.config.heads !== 0) throw new ConfigError(`FusionModel: dim ${C} must be divisible by heads ${this.config.heads}`);
    if (c.block && this.config.strategy !== 'early') throw new ConfigError(`FusionModel: 'block' applies to strategy 'early', got '${this.config.strategy}'`);
    const known = new Set(fields.map((f) => f.source));
    for (const s of c.sources ?? []) if (!known.has(s)) throw new ConfigError(`FusionModel: sources lists '${s}', the fields' sources are [${[...known].join(', ')}]`);
    this.fields = c.sources ? fields.filter((f) => c.sources!.includes(f.source)) : fields;
    if (this.fields.length === 0) throw new ValueError('FusionModel: no fields to encode');
    this.sources = [...new Set(this.fields.map((f) => f.source))];
    this.tokenizers = this.fields.map((f) => new FieldTokenizer(f, C, rng));
    const { layers, heads, dimFeedforward, dropout } = this.config;
    switch (this.config.strategy) {
      case 'early':
        this.cls = new Parameter(randn([C], { rng, std: 1 / Math.sqrt(C) }));
        if (c.block) {
          this.blocks = new Serial({ embedDim: C, layers: Array.from({ length: layers }, () => buildBlock(c.block, C, rng)) });
          this.blocksNorm = new LayerNorm(C);
        } else {
          this.encoder = new TransformerEncoder({ embedDim: C, numHeads: heads, numLayers: layers, dimFeedforward, dropout, normFirst: true, finalNorm: true, activation: 'gelu', rng });
        }
        break;
      case 'crossModal':
        this.crossModal = this.sources.map(() => new CrossModalTransformer({ embedDim: C, numHeads: heads, numLayers: layers, dimFeedforward, dropout, activation: 'gelu', rng }));
        this.streamProj = new Linear(this.sources.length * C, C, { rng });
        break;
      case 'latent':
        this.perceiver = new PerceiverEncoder({
          numLatents: this.config.numLatents, latentDim: C, inputDim: C, crossHeads: heads, latentHeads: heads,
          numLatentLayers: layers, dimFeedforward, dropout, rng,
        });
        break;
    }
    this.headNorm = new LayerNorm(C);
    const k = this.sharedMembers;
    this.heads = k > 1 ? new EnsembleHeads(targets, C, k, rng) : new TaskHeads(targets, C, rng);
    // TabM initialises the first adapter with random signs, so members differ from the first step
    if (k > 1) this.ensembleScale = new Parameter(new Tensor(Float32Array.from({ length: k * C }, () => (rng.uniform() < 0.5 ? -1 : 1)), [k, C]));
    if (c.sigmaReparam) {
      for (const [, m] of this.namedModules()) if (m instanceof Linear || m instanceof MultiHeadAttention) m.useSigmaReparam(rng);
    }
    // last, so the deep part draws the same initial values with or without it
    if (this.config.wide) this.wide = new LinearModel(this.fields, targets, { rng });
    if (this.config.ensembleMode === 'independent') {
      const one = { ...c, ensemble: 1, ensembleMode: undefined };
      this.memberModels = Array.from({ length: this.config.ensemble - 1 }, () => new FusionModel(fields, targets, one, rng));
    }
  }

  /** Members sharing this model's backbone: `ensemble` with 'shared' members, else 1. */
  get sharedMembers(): number {
    return this.config.ensembleMode === 'shared' ? this.config.ensemble : 1;
  }

  /** Tokens of every used field: per field [B, nᵢ, C] and masks [B, nᵢ]. */
  tokenize(batch: Batch): { tokens: Tensor[]; masks: Tensor[] } {
    const tokens: Tensor[] = [], masks: Tensor[] = [];
    this.fields.forEach((f, i) => {
      const fb = batch.fields[f.name];
      if (!fb) throw new ValueError(`FusionModel.forward: the batch has no field '${f.name}' (fields: ${Object.keys(batch.fields).join(', ')})`);
      const t = this.tokenizers[i].forward(fb);
      tokens.push(t.tokens);
      masks.push(t.mask);
    });
    return { tokens, masks };
  }

  /**
   * batch → task outputs (with `ensemble: k` > 1 also `members`, each member's outputs). With `needWeights` ('early' with Transformer layers, or composite
   * blocks with attention layers: one map per attention layer, in forward order): per-layer attention [B, H, N, N] over [CLS] + tokens, a label per token position (its field) and the
   * key mask [B, N] of real tokens.
   */
  forward(batch: Batch, options: { needWeights?: boolean } = {}): { outputs: TaskOutputs; members?: TaskOutputs[]; weights?: Tensor[]; tokenFields?: string[]; keyMask?: Tensor } {
    checkOptions('FusionModel.forward', options, { needWeights: true });
    const k = this.sharedMembers;
    const { tokens, masks } = this.tokenize(batch);
    const wide = this.wide?.forward(batch).outputs;
    if (k === 1) {
      const e = this.fuse(tokens, masks, options.needWeights);
      const own = plus((this.heads as TaskHeads).forward(this.headNorm.forward(e.rep)), wide);
      // 'independent' members: this model's own outputs are the first member's
      const members = this.memberModels.length ? [own, ...this.memberModels.map((m) => m.forward(batch).outputs)] : undefined;
      const outputs = members ? ensembleOutputs(this.targets, members) : own;
      const extra = members ? { members } : {};
      return e.weights ? { outputs, ...extra, weights: e.weights, tokenFields: e.tokenFields, keyMask: e.keyMask } : { outputs, ...extra };
    }
    const scale = (t: Tensor, m: number): Tensor => mul(t, reshape(narrow(this.ensembleScale!, 0, m, 1), [1, 1, t.shape[2]!]));  // [B, n, C]
    let rep: Tensor;                                                                     // [k·B, C], member-major rows
    let maps: ReturnType<FusionModel['fuse']> | undefined;
    if (options.needWeights) {
      // one pass per member, so the maps returned (the first member's) are the ones the
      // prediction was computed from and gradient × attention reaches them
      const each = Array.from({ length: k }, (_, m) => this.fuse(tokens.map((t) => scale(t, m)), masks, m === 0));
      maps = each[0];
      rep = concat(each.map((e) => e.rep), 0);
    } else {
      // all members in one pass: member m sees rows [m·B, (m+1)·B), its tokens scaled by its r
      const kTokens = tokens.map((t) => memberRows(mul(unsqueeze(t, 0), reshape(this.ensembleScale!, [k, 1, 1, t.shape[2]!]))));  // [k·B, n, C]
      const kMasks = masks.map((m) => memberRows(expand(unsqueeze(m, 0), [k, ...m.shape])));                                       // [k·B, n]
      rep = this.fuse(kTokens, kMasks, false).rep;
    }
    const members = (this.heads as EnsembleHeads).forward(this.headNorm.forward(rep)).map((o) => plus(o, wide));
    const outputs = ensembleOutputs(this.targets, members);
    return maps?.weights ? { outputs, members, weights: maps.weights, tokenFields: maps.tokenFields, keyMask: maps.keyMask } : { outputs, members };
  }

  /**
   * The fusion strategy on the fields' tokens [B, nᵢ, C] and masks [B, nᵢ] → rep [B, C]; with
   * `needWeights` ('early' with Transformer layers) also the maps, token labels and key mask.
   */
  private fuse(tokens: Tensor[], masks: Tensor[], needWeights?: boolean): { rep: Tensor; weights?: Tensor[]; tokenFields?: string[]; keyMask?: Tensor } {
    const B = tokens[0].shape[0]!, C = this.config.dim;
    switch (this.config.strategy) {
      case 'early': {
        const cls = reshape1(this.cls!, [B, 1, C]);                                      // [B, 1, C]
        const x = concat([cls, ...tokens], 1);                                           // [B, N, C]
        const keyMask = concat([onesMask(B), ...masks], 1);                              // [B, N]
        let rep: Tensor, weights: Tensor[] | undefined;
        if (this.encoder) {
          const r = this.encoder.forward(x, { keyMask, needWeights });
          rep = first(r.output); weights = r.weights;
        } else {
          // composite blocks: their attention layers' maps [B, H, N, N] in forward order
          const r = this.blocks!.forward(x, { keyMask, needWeights });
          rep = first(this.blocksNorm!.forward(r.output)); weights = r.weights ? tokenMaps(r.weights, x.shape[1]!, this.blocks!) : undefined;
        }
        if (!weights?.length) return { rep };
        const tokenFields = ['[CLS]', ...this.fields.flatMap((f, i) => Array<string>(tokens[i].shape[1]!).fill(f.name))];
        return { rep, weights, tokenFields, keyMask };
      }
      case 'crossModal': {
        const streams = this.sources.map((s) => {
          const idx = this.fields.map((f, i) => (f.source === s ? i : -1)).filter((i) => i >= 0);
          return { x: concat(idx.map((i) => tokens[i]), 1), mask: concat(idx.map((i) => masks[i]), 1) };
        });
        const pooled = streams.map((st, s) => {
          const others = streams.length === 1 ? streams : streams.filter((_, j) => j !== s);
          const src = concat(others.map((o) => o.x), 1), srcMask = concat(others.map((o) => o.mask), 1);
          const y = this.crossModal[s].forward(st.x, src, { memoryKeyMask: srcMask }).output; // [B, nₛ, C]
          return maskedMean(y, st.mask);                                                 // [B, C]
        });
        return { rep: this.streamProj!.forward(concat(pooled, -1)) };                    // [B, C]
      }
      case 'latent': {
        const lat = this.perceiver!.forward(tokens, { keyMask: masks }).output;          // [B, N, C]
        return { rep: mean(lat, 1) };                                                    // [B, C]
      }
    }
  }
}

/** The deep outputs plus the wide part's, per target (the deep outputs as they are without it). */
function plus(deep: TaskOutputs, wide: TaskOutputs | undefined): TaskOutputs {
  return wide ? Object.fromEntries(Object.entries(deep).map(([t, y]) => [t, add(y, wide[t])])) : deep;
}

/** The [CLS] position of h [B, N, C] → [B, C]. */
function first(h: Tensor): Tensor {
  return squeeze(narrow(h, 1, 0, 1), 1);
}

/** [k, B, …] → [k·B, …] */
function memberRows(x: Tensor): Tensor {
  return reshape(x, [x.shape[0]! * x.shape[1]!, ...x.shape.slice(2)]);
}

/**
 * The heads of `ensemble: k` members: member m's `TaskHeads` reads rows [m·B, (m+1)·B) of the
 * representation [k·B, C]. Parameters: members.m.heads.t (weight, bias).
 */
export class EnsembleHeads extends Module {
  members: TaskHeads[];
  constructor(readonly targets: TargetInfo[], inDim: number, readonly k: number, rng: Generator) {
    super();
    this.members = Array.from({ length: k }, () => new TaskHeads(targets, inDim, rng));
  }
  /** rep [k·B, C] → each member's outputs on its rows. */
  forward(rep: Tensor): TaskOutputs[] {
    const B = rep.shape[0]! / this.k;
    return this.members.map((h, m) => h.forward(narrow(rep, 0, m * B, B)));
  }
}

/**
 * The ensemble's outputs from its members', averaged in probability space and given back as the
 * model's usual raw outputs: binary logit(mean σ(zₘ)), multi-class log(mean softmax(zₘ)) (its
 * softmax is the mean of the members' probabilities), regression the mean value. Computed with
 * log-sum-exp so confident members stay finite.
 */
export function ensembleOutputs(targets: readonly TargetInfo[], members: readonly TaskOutputs[]): TaskOutputs {
  const logK = Math.log(members.length);
  const out: TaskOutputs = {};
  for (const t of targets) {
    const z = stack(members.map((o) => o[t.name]), 0);                                  // [k, B] or [k, B, K]
    if (t.task === 'regression') out[t.name] = mean(z, 0);
    else if (t.task === 'multiclass') out[t.name] = sub(logsumexp(logSoftmax(z, -1), 0), logK);
    else {
      // log p̄ − log(1 − p̄), with log σ(z) = −softplus(−z) and log(1 − σ(z)) = −softplus(z)
      out[t.name] = sub(logsumexp(neg(softplus(neg(z))), 0), logsumexp(neg(softplus(z)), 0));
    }
  }
  return out;
}

function reshape1(p: Tensor, shape: number[]): Tensor {
  return expand(unsqueeze(unsqueeze(p, 0), 0), shape);
}

function onesMask(B: number): Tensor {
  return new Tensor(new Uint8Array(B).fill(1), [B, 1]);
}
