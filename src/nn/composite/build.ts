/**
 * Composite models from a JSON/YAML config: `buildBlock(config, embedDim, rng)` turns a validated
 * block config (possibly nested parallel / serial / fusion trees) into modules, and
 * `collectGates(model)` reads every composite's gate values by dotted path.
 */
import type { Generator } from '../../tensor/random.js';
import { validateConfig, v } from '../../config.js';
import { ConfigError } from '../../errors.js';
import type { Module } from '../module.js';
import {
  ConvBlock, FeedForwardBlock, LinearAttentionBlock, LocalAttentionBlock, SelfAttentionBlock, TransformerBlock, type Block,
} from './blocks.js';
import { MERGE_MODES, Parallel } from './parallel.js';
import { Serial } from './serial.js';
import { Fusion } from './fusion.js';
import type { GateValues } from './gates.js';

const int = v.pipe(v.number(), v.integer(), v.minValue(1));
const prob = v.pipe(v.number(), v.minValue(0), v.maxValue(0.99));

/** A block config: one mechanism, or a parallel / serial / fusion of block configs. */
export type BlockConfig =
  | { type: 'selfAttention'; numHeads: number; dropout?: number; causal?: boolean }
  | { type: 'conv'; kernelSize: number; dilation?: number; causal?: boolean }
  | { type: 'feedForward'; hidden?: number; activation?: 'relu' | 'gelu'; dropout?: number }
  | { type: 'localAttention'; numHeads: number; window: number }
  | { type: 'linearAttention'; numHeads: number; kernel?: 'elu' | 'performer' }
  | { type: 'transformer'; numHeads: number; dimFeedforward?: number; dropout?: number; normFirst?: boolean }
  | { type: 'parallel'; branches: BlockConfig[]; merge: (typeof MERGE_MODES)[number]; project?: boolean }
  | { type: 'serial'; layers: BlockConfig[]; residual?: boolean; norm?: 'pre' | 'post' | 'none' }
  | { type: 'fusion'; mechanisms: BlockConfig[]; gate?: 'static' | 'token'; dropout?: number };

/** The valibot schema of BlockConfig (strict: unknown keys are errors). */
export const blockConfigSchema: v.GenericSchema<BlockConfig> = v.variant('type', [
  v.strictObject({ type: v.literal('selfAttention'), numHeads: int, dropout: v.optional(prob), causal: v.optional(v.boolean()) }),
  v.strictObject({ type: v.literal('conv'), kernelSize: int, dilation: v.optional(int), causal: v.optional(v.boolean()) }),
  v.strictObject({ type: v.literal('feedForward'), hidden: v.optional(int), activation: v.optional(v.picklist(['relu', 'gelu'])), dropout: v.optional(prob) }),
  v.strictObject({ type: v.literal('localAttention'), numHeads: int, window: int }),
  v.strictObject({ type: v.literal('linearAttention'), numHeads: int, kernel: v.optional(v.picklist(['elu', 'performer'])) }),
  v.strictObject({ type: v.literal('transformer'), numHeads: int, dimFeedforward: v.optional(int), dropout: v.optional(prob), normFirst: v.optional(v.boolean()) }),
  v.strictObject({
    type: v.literal('parallel'), branches: v.pipe(v.array(v.lazy(() => blockConfigSchema)), v.minLength(1)),
    merge: v.picklist(MERGE_MODES), project: v.optional(v.boolean()),
  }),
  v.strictObject({
    type: v.literal('serial'), layers: v.pipe(v.array(v.lazy(() => blockConfigSchema)), v.minLength(1)),
    residual: v.optional(v.boolean()), norm: v.optional(v.picklist(['pre', 'post', 'none'])),
  }),
  v.strictObject({
    type: v.literal('fusion'), mechanisms: v.pipe(v.array(v.lazy(() => blockConfigSchema)), v.minLength(1)),
    gate: v.optional(v.picklist(['static', 'token'])), dropout: v.optional(prob),
  }),
]);

/**
 * Builds a block of width `embedDim` from a config object (as parsed from JSON or YAML). The config
 * is validated first: a wrong or unknown key throws ConfigError with its path.
 *
 * @example
 * const block = nn.buildBlock({ type: 'parallel', merge: 'attention', branches: [
 *   { type: 'selfAttention', numHeads: 4 }, { type: 'conv', kernelSize: 3 } ] }, 32, rng);
 * block.forward(x, { keyMask }).output;   // [B, T, 32]
 */
export function buildBlock(config: unknown, embedDim: number, rng: Generator): Block {
  return make(validateConfig(blockConfigSchema, config, 'buildBlock'), embedDim, rng);
}

function label(c: BlockConfig): string {
  return c.type;
}

function make(c: BlockConfig, embedDim: number, rng: Generator): Block {
  switch (c.type) {
    case 'selfAttention': return new SelfAttentionBlock({ embedDim, numHeads: c.numHeads, dropout: c.dropout, causal: c.causal, rng });
    case 'conv': return new ConvBlock({ embedDim, kernelSize: c.kernelSize, dilation: c.dilation, causal: c.causal, rng });
    case 'feedForward': return new FeedForwardBlock({ embedDim, hidden: c.hidden, activation: c.activation, dropout: c.dropout, rng });
    case 'localAttention': return new LocalAttentionBlock({ embedDim, numHeads: c.numHeads, window: c.window, rng });
    case 'linearAttention': return new LinearAttentionBlock({ embedDim, numHeads: c.numHeads, kernel: c.kernel, rng });
    case 'transformer': return new TransformerBlock({ embedDim, numHeads: c.numHeads, dimFeedforward: c.dimFeedforward, dropout: c.dropout, normFirst: c.normFirst, rng });
    case 'parallel':
      if (c.merge === 'concat' && c.project === false) {
        throw new ConfigError('buildBlock: parallel with merge \'concat\' and project: false changes the width; inside a config every block must keep width C');
      }
      return new Parallel({ embedDim, merge: c.merge, project: c.project, names: c.branches.map(label), branches: c.branches.map((b) => make(b, embedDim, rng)), rng });
    case 'serial': return new Serial({ embedDim, residual: c.residual, norm: c.norm, layers: c.layers.map((b) => make(b, embedDim, rng)) });
    case 'fusion': return new Fusion({ embedDim, gate: c.gate, dropout: c.dropout, names: c.mechanisms.map(label), mechanisms: c.mechanisms.map((b) => make(b, embedDim, rng)), rng });
  }
}

/**
 * Gate values of every composite module inside `model` that has some, by dotted path
 * (e.g. `{ 'encoder.1': { names: ['selfAttention', 'conv'], values: [0.7, 0.3] } }`).
 */
export function collectGates(model: Module): Record<string, GateValues> {
  const out: Record<string, GateValues> = {};
  for (const [path, m] of model.namedModules()) {
    if (m instanceof Parallel || m instanceof Fusion) {
      const g = m.gateValues();
      if (g) out[path || '(root)'] = g;
    }
  }
  return out;
}
