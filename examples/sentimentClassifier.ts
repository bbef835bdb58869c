/**
 * Trains a small self-attention classifier on the 3,000 labelled review sentences that ship
 * with the `sentiment` package (Amazon, IMDB, Yelp; UCI Sentiment Labelled Sentences) and
 * prints its held-out accuracy beside the package's AFINN word-list baseline.
 *
 *   npm run example:sentiment [-- --epochs 8 --seed 1]
 *
 * Model: token + position embeddings → one scaled dot-product self-attention layer
 * (residual + LayerNorm) → attention pooling with a learned query → linear head.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  F, Generator, Module, Parameter, Tensor, backward, nn, noGrad, optim, randn, tensor,
} from '../src/index.js';

interface Example { text: string; label: number; source: string }

function loadSentences(): Example[] {
  const root = dirname(createRequire(import.meta.url).resolve('sentiment/package.json'));
  return ['amazon', 'imdb', 'yelp'].flatMap((source) => {
    const rows = JSON.parse(readFileSync(join(root, 'test', 'fixtures', `${source}.json`), 'utf8')) as { text: string; class?: number }[];
    // each file ends with one entry without a label; it is not a negative example
    return rows.filter((r) => r.class === 0 || r.class === 1).map((r) => ({ text: r.text, label: r.class!, source }));
  });
}

const tokenize = (s: string): string[] => s.toLowerCase().match(/[a-z0-9']+/g) ?? [];
const PAD = 0, UNK = 1;

class Vocab {
  readonly ids = new Map<string, number>();
  constructor(texts: string[], minCount: number) {
    const counts = new Map<string, number>();
    for (const t of texts) for (const w of tokenize(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
    for (const [w, c] of [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) if (c >= minCount) this.ids.set(w, this.ids.size + 2);
  }
  get size(): number { return this.ids.size + 2; }
  encode(text: string, maxLen: number): number[] {
    const ids = tokenize(text).slice(0, maxLen).map((w) => this.ids.get(w) ?? UNK);
    return ids.length > 0 ? ids : [UNK];
  }
}

/** Self-attention classifier; shapes: B batch, T tokens, C model width. */
class AttentionClassifier extends Module {
  tok: nn.Embedding;
  pos: nn.Embedding;
  qProj: nn.Linear; kProj: nn.Linear; vProj: nn.Linear;
  norm: nn.LayerNorm;
  poolQuery: Parameter;
  head: nn.Linear;
  drop: nn.Dropout;

  constructor(vocab: number, readonly maxLen: number, readonly dim: number, rng: Generator) {
    super();
    this.tok = new nn.Embedding(vocab, dim, { rng, paddingIdx: PAD });
    this.pos = new nn.Embedding(maxLen, dim, { rng });
    this.qProj = new nn.Linear(dim, dim, { rng });
    this.kProj = new nn.Linear(dim, dim, { rng });
    this.vProj = new nn.Linear(dim, dim, { rng });
    this.norm = new nn.LayerNorm(dim);
    this.poolQuery = new Parameter(randn([dim], { rng, std: 0.1 }));
    this.head = new nn.Linear(dim, 2, { rng });
    this.drop = new nn.Dropout(0.2, rng);
  }

  /** ids [B, T] int32, mask [B, T] bool (true = real token) → logits [B, 2] and both attention maps. */
  forward(ids: Tensor, mask: Tensor): { logits: Tensor; selfAttn: Tensor; pool: Tensor } {
    const [B, T] = ids.shape;
    const positions = tensor(Int32Array.from({ length: T }, (_, i) => i), { shape: [T] });
    const x = this.drop.forward(F.add(this.tok.forward(ids), this.pos.forward(positions)));    // [B, T, C]
    const q = this.qProj.forward(x), k = this.kProj.forward(x), v = this.vProj.forward(x);     // [B, T, C]
    const scale = 1 / Math.sqrt(this.dim);
    const scores = F.mul(F.matmul(q, F.transpose(k, -2, -1)), scale);                          // [B, T, T]
    const keyMask = F.reshape(mask, [B, 1, T]);                                                // [B, 1, T]
    const selfAttn = F.softmax(F.where(keyMask, scores, -Infinity), -1);                       // [B, T, T]
    const h = this.norm.forward(F.add(x, F.matmul(selfAttn, v)));                              // [B, T, C]
    const poolScores = F.mul(F.matmul(h, this.poolQuery), scale);                              // [B, T]
    const pool = F.softmax(F.where(mask, poolScores, -Infinity), -1);                          // [B, T]
    const pooled = F.squeeze(F.matmul(F.unsqueeze(pool, 1), h), 1);                            // [B, C]
    return { logits: this.head.forward(this.drop.forward(pooled)), selfAttn, pool };
  }
}

function batchOf(rows: number[][]): { ids: Tensor; mask: Tensor } {
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * T), mask = new Uint8Array(rows.length * T);
  rows.forEach((r, b) => r.forEach((id, t) => { ids[b * T + t] = id; mask[b * T + t] = 1; }));
  return { ids: tensor(ids, { shape: [rows.length, T] }), mask: tensor(mask, { shape: [rows.length, T] }) };
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function main(): void {
  const epochs = arg('epochs', 8), seed = arg('seed', 1), dim = 32, maxLen = 40, batchSize = 32;
  const rng = new Generator(seed);
  const data = rng.shuffle(loadSentences());
  const nTest = Math.round(data.length * 0.2);
  const test = data.slice(0, nTest), train = data.slice(nTest);
  const vocab = new Vocab(train.map((e) => e.text), 2);
  const encode = (e: Example): number[] => vocab.encode(e.text, maxLen);
  const model = new AttentionClassifier(vocab.size, maxLen, dim, rng);
  const opt = new optim.AdamW(model.parameters(), { lr: 3e-3, weightDecay: 1e-2 });
  console.log(`sentiment: ${train.length} train / ${test.length} test sentences, vocabulary ${vocab.size}, ${model.numParameters()} parameters`);

  const evaluate = (rows: Example[]): { acc: number; bySource: Record<string, number> } => noGrad(() => {
    model.eval();
    const hits: Record<string, [number, number]> = {};
    for (let i = 0; i < rows.length; i += 128) {
      const part = rows.slice(i, i + 128);
      const { ids, mask } = batchOf(part.map(encode));
      const pred = F.argmax(model.forward(ids, mask).logits, -1).data;
      part.forEach((e, j) => { const h = (hits[e.source] ??= [0, 0]); h[0] += pred[j] === e.label ? 1 : 0; h[1]++; });
    }
    model.train();
    const all = Object.values(hits).reduce((a, h) => [a[0] + h[0], a[1] + h[1]], [0, 0]);
    return { acc: all[0] / all[1], bySource: Object.fromEntries(Object.entries(hits).map(([k, h]) => [k, h[0] / h[1]])) };
  });

  const started = Date.now();
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const order = rng.shuffle([...train]);
    let lossSum = 0, steps = 0;
    for (let i = 0; i < order.length; i += batchSize) {
      const part = order.slice(i, i + batchSize);
      const { ids, mask } = batchOf(part.map(encode));
      const labels = tensor(Int32Array.from(part.map((e) => e.label)), { shape: [part.length] });
      const loss = F.crossEntropy(model.forward(ids, mask).logits, labels);
      opt.zeroGrad();
      backward(loss);
      optim.clipGradNorm(model.parameters(), 1);
      opt.step();
      lossSum += loss.item();
      steps++;
    }
    console.log(`epoch ${epoch}/${epochs}  train loss ${(lossSum / steps).toFixed(4)}  test accuracy ${evaluate(test).acc.toFixed(3)}`);
  }
  const { acc, bySource } = evaluate(test);
  const afinn: Record<string, number> = { amazon: 0.726, imdb: 0.765, yelp: 0.696 };
  console.log(`\nheld-out accuracy ${acc.toFixed(3)} (${((Date.now() - started) / 1000).toFixed(1)} s training)`);
  for (const s of Object.keys(afinn)) console.log(`  ${s.padEnd(7)} ${bySource[s].toFixed(3)}   (AFINN word list, sentiment's README: ${afinn[s].toFixed(3)})`);

  // what the pooling attends to, for one held-out sentence
  const sample = test.find((e) => tokenize(e.text).length >= 5 && tokenize(e.text).length <= 12) ?? test[0];
  const { ids, mask } = batchOf([encode(sample)]);
  const pool = noGrad(() => model.eval().forward(ids, mask).pool);
  const words = tokenize(sample.text).slice(0, maxLen);
  console.log(`\npooling attention on "${sample.text}" (label ${sample.label}):`);
  console.log('  ' + words.map((w, i) => `${w}:${pool.data[i].toFixed(2)}`).join(' '));
}

main();
