/**
 * The hierarchical attention network (Yang et al. 2016): words → sentence vectors → document
 * vector, each level an encoder followed by attention pooling against a learned context vector.
 */
import { IndexError, ShapeError, ValueError, fmtShape } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { Generator } from '../../tensor/random.js';
import { randn } from '../../tensor/creation.js';
import { tanh, where } from '../../ops/elementwise.js';
import { matmul } from '../../ops/linalg.js';
import { softmax } from '../../ops/softmax.js';
import { reshape, squeeze, unsqueeze } from '../../ops/shape.js';
import { embedding } from '../../ops/norm.js';
import { Module, Parameter } from '../module.js';
import { Linear } from '../linear.js';
import { GRU } from '../gru.js';
import { aliasedOption, checkPositiveInt, checkRng, checkSequence } from '../init.js';
import { keyMask4d } from './masks.js';
import { TransformerEncoder } from './transformer.js';
import { checkOptions, checkRequiredOptions } from '../../config.js';
import { attentionOutput, type AttentionOutput, type SelfAttentionForwardOptions } from './contract.js';

/**
 * HAN's attention: u = tanh(W h + b), α = softmax(uᵀu_ctx) over real positions, out = Σ α h.
 * h [N, L, C], keyMask [N, L] (true = real) → { output [N, C], weights? [N, L] (with
 * `needWeights`) }. A row with no real position gives zero weights and a zero vector. `causal` is
 * refused. Parameters: proj (W, b), context (u_ctx).
 */
export class ContextAttention extends Module {
  proj: Linear;
  context: Parameter;

  /** The options with the width under its one name, `embedDim`. */
  readonly options: { embedDim: number; attentionDim?: number; rng?: Generator };

  /** `embedDim`: width C of h (`dim` is its deprecated alias); `attentionDim` (default C). */
  constructor(options: { embedDim?: number; /** @deprecated Alias of embedDim. */ dim?: number; attentionDim?: number; rng?: Generator }) {
    super();
    checkRequiredOptions('ContextAttention', options, { embedDim: true, dim: true, attentionDim: true, rng: true });
    const rng = checkRng(options, 'ContextAttention');
    const C = checkPositiveInt(aliasedOption('ContextAttention', options, 'embedDim', 'dim'), 'ContextAttention', 'embedDim');
    const { dim: _d, ...rest } = options;
    this.options = { ...rest, embedDim: C };
    const A = checkPositiveInt(options.attentionDim ?? C, 'ContextAttention', 'attentionDim');
    this.proj = new Linear(C, A, { rng });
    this.context = new Parameter(randn([A], { rng, std: 1 / Math.sqrt(A) }));
  }

  forward(h: Tensor, options: Omit<SelfAttentionForwardOptions, 'causal'> = {}): AttentionOutput {
    const fn = 'ContextAttention.forward';
    checkOptions(fn, options, { keyMask: true, needWeights: true });
    checkSequence(fn, 'h', h, this.options.embedDim, 'N, L');
    const u = tanh(this.proj.forward(h));                                    // [N, L, A]
    let scores = squeeze(matmul(u, unsqueeze(this.context, -1)), -1);      // [N, L]
    if (options.keyMask != null) scores = where(reshape(keyMask4d(fn, 'keyMask', options.keyMask, h.shape[0]!, h.shape[1]!), [h.shape[0]!, h.shape[1]!]), scores, -Infinity);
    const weights = softmax(scores, -1);                                     // [N, L]
    return attentionOutput(squeeze(matmul(unsqueeze(weights, 1), h), 1), options.needWeights, () => weights);
  }
}

export interface HierarchicalAttentionOptions {
  vocabSize: number;
  /** Word embedding size (the paper: 200). */
  embedDim: number;
  /** 'gru' (bidirectional, as the paper) or 'transformer' encoders at both levels. */
  encoder?: 'gru' | 'transformer';
  /** GRU hidden size per direction (the paper: 50); the transformer's width is embedDim. */
  hiddenSize?: number;
  /** Transformer encoder settings (encoder 'transformer'): heads (default 4), layers, feed-forward width, dropout. */
  numHeads?: number;
  numLayers?: number;
  dimFeedforward?: number;
  dropout?: number;
  /** Class logits from the document vector; without it forward returns the document vector. */
  numClasses?: number;
  rng?: Generator;
}

/** HAN's weights: word-level [B, S, W] (over each sentence's words) and sentence-level [B, S]. */
export interface HierarchicalWeights {
  word: Tensor;
  sentence: Tensor;
}

/**
 * Hierarchical attention network: ids [B, S, W] (S sentences of up to W words, int32), with
 * keyMask [B, S, W] (true = real word; default ids ≠ 0) → { output: logits [B, classes] or the
 * document vector [B, C], weights? { word [B, S, W], sentence [B, S] } (with `needWeights`) }.
 * Sentences without words are masked out at the sentence level; a document without any word is
 * an error. `causal` is refused.
 *
 * @example
 * const han = new HierarchicalAttentionNetwork({ vocabSize: 5000, embedDim: 64, hiddenSize: 32, numClasses: 2, rng });
 * const { output, weights } = han.forward(ids, { keyMask, needWeights: true });   // weights.sentence [B, S]
 */
export class HierarchicalAttentionNetwork extends Module {
  embedding: Parameter;
  wordEncoder: GRU | TransformerEncoder;
  wordAttention: ContextAttention;
  sentenceEncoder: GRU | TransformerEncoder;
  sentenceAttention: ContextAttention;
  classifier: Linear | null;
  readonly docDim: number;

  constructor(readonly options: HierarchicalAttentionOptions) {
    super();
    checkRequiredOptions('HierarchicalAttentionNetwork', options, {
      vocabSize: true, embedDim: true, encoder: true, hiddenSize: true, numHeads: true, numLayers: true, dimFeedforward: true, dropout: true, numClasses: true, rng: true,
    });
    const name = 'HierarchicalAttentionNetwork';
    const rng = checkRng(options, name);
    const V = checkPositiveInt(options.vocabSize, name, 'vocabSize');
    const E = checkPositiveInt(options.embedDim, name, 'embedDim');
    const kind = options.encoder ?? 'gru';
    if (kind !== 'gru' && kind !== 'transformer') throw new ValueError(`${name}: encoder must be 'gru' or 'transformer', got '${String(kind)}'`);
    this.embedding = new Parameter(randn([V, E], { rng }));
    if (kind === 'gru') {
      const Hd = checkPositiveInt(options.hiddenSize ?? 50, name, 'hiddenSize');
      this.wordEncoder = new GRU({ inputSize: E, hiddenSize: Hd, bidirectional: true, rng });
      this.wordAttention = new ContextAttention({ embedDim: 2 * Hd, rng });
      this.sentenceEncoder = new GRU({ inputSize: 2 * Hd, hiddenSize: Hd, bidirectional: true, rng });
      this.sentenceAttention = new ContextAttention({ embedDim: 2 * Hd, rng });
      this.docDim = 2 * Hd;
    } else {
      const t = { embedDim: E, numHeads: options.numHeads ?? 4, numLayers: options.numLayers ?? 1, dimFeedforward: options.dimFeedforward ?? 2 * E, dropout: options.dropout ?? 0.1, normFirst: true, finalNorm: true, rng };
      this.wordEncoder = new TransformerEncoder(t);
      this.wordAttention = new ContextAttention({ embedDim: E, rng });
      this.sentenceEncoder = new TransformerEncoder(t);
      this.sentenceAttention = new ContextAttention({ embedDim: E, rng });
      this.docDim = E;
    }
    this.classifier = options.numClasses ? new Linear(this.docDim, checkPositiveInt(options.numClasses, name, 'numClasses'), { rng }) : null;
  }

  private encode(enc: GRU | TransformerEncoder, x: Tensor, mask: Tensor): Tensor {
    return enc.forward(x, { keyMask: mask }).output;
  }

  forward(ids: Tensor, options: Omit<SelfAttentionForwardOptions, 'causal'> = {}): AttentionOutput<HierarchicalWeights> {
    const fn = 'HierarchicalAttentionNetwork.forward';
    checkOptions(fn, options, { keyMask: true, needWeights: true });
    if (!(ids instanceof Tensor) || ids.dtype !== 'int32' || ids.ndim !== 3) {
      throw new ShapeError(`${fn}: ids must be int32 [B, S, W], got ${ids instanceof Tensor ? `${ids.dtype} ${fmtShape(ids.shape)}` : typeof ids}`);
    }
    const [B, S, W] = ids.shape as [number, number, number];
    let wordMask = options.keyMask ?? null;
    if (wordMask === null) wordMask = new Tensor(Uint8Array.from(ids.data as Int32Array, (v) => (v !== 0 ? 1 : 0)), [B, S, W]);
    if (!(wordMask instanceof Tensor) || wordMask.dtype !== 'bool' || wordMask.shape.join() !== [B, S, W].join()) {
      throw new ShapeError(`${fn}: keyMask must be bool [B, S, W] = ${fmtShape([B, S, W])}, got ${wordMask instanceof Tensor ? `${wordMask.dtype} ${fmtShape(wordMask.shape)}` : typeof wordMask}`);
    }
    const sentReal = new Uint8Array(B * S);
    for (let i = 0; i < B * S; i++) for (let w = 0; w < W; w++) if (wordMask.data[i * W + w]) { sentReal[i] = 1; break; }
    for (let b = 0; b < B; b++) {
      if (!sentReal.subarray(b * S, (b + 1) * S).some((v) => v)) throw new ValueError(`${fn}: document ${b} has no words (every sentence is empty)`);
    }
    const V = this.embedding.shape[0]!;
    for (const id of ids.data) if (id < 0 || id >= V) throw new IndexError(`${fn}: token id ${id} is outside the vocabulary of ${V}`);
    const words = reshape(embedding(ids, this.embedding), [B * S, W, this.options.embedDim]);
    const wm = reshape(wordMask, [B * S, W]);
    const need = options.needWeights;
    const wordLevel = this.wordAttention.forward(this.encode(this.wordEncoder, words, wm), { keyMask: wm, needWeights: need }); // [B·S, C]
    const sm = new Tensor(sentReal, [B, S]);
    const sentences = reshape(wordLevel.output, [B, S, wordLevel.output.shape[1]!]);
    const sentLevel = this.sentenceAttention.forward(this.encode(this.sentenceEncoder, sentences, sm), { keyMask: sm, needWeights: need }); // [B, C]
    const output = this.classifier ? this.classifier.forward(sentLevel.output) : sentLevel.output;
    return attentionOutput(output, need, () => ({ word: reshape(wordLevel.weights!, [B, S, W]), sentence: sentLevel.weights! }));
  }
}
