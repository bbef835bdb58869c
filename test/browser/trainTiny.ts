/**
 * The browser training test's run, for whichever attnkit module it is given (the page's
 * `attnkit/browser` bundle, or the Node entry on one backend): a seeded synthetic task — does a
 * sequence's first half carry more of feature 0 than its second? — learnt by one
 * TransformerEncoderLayer, mean pooling over time and a linear classifier, with a few Adam
 * steps. Returns the loss before each step. Everything is seeded and dropout is off, so two
 * runs on backends that agree give the same curve.
 */
import type * as Core from '../../src/index.js';

export const TINY = { batch: 16, steps: 8, t: 8, c: 16, heads: 2, ff: 32, lr: 1e-2 } as const;

export function trainTiny(ak: typeof Core): number[] {
  const { batch, steps, t, c, heads, ff, lr } = TINY;
  const rng = new ak.Generator(21);
  const x = ak.randn([batch, t, c], { rng });                                    // [B, T, C]
  const xs = x.float32();
  const labels = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    let first = 0, second = 0;
    for (let i = 0; i < t; i++) {
      if (i < t / 2) first += xs[(b * t + i) * c]!;
      else second += xs[(b * t + i) * c]!;
    }
    labels[b] = first > second ? 1 : 0;
  }
  const y = ak.tensor(labels, { shape: [batch] });
  const encoder = new ak.nn.TransformerEncoderLayer({ embedDim: c, numHeads: heads, dimFeedforward: ff, dropout: 0, rng });
  const head = new ak.nn.Linear(c, 2, { rng });
  const opt = new ak.optim.Adam([...encoder.parameters(), ...head.parameters()], { lr });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    const r = encoder.forward(x) as unknown;                                    // [B, T, C] (or { output } under the family contract)
    const h = r instanceof ak.Tensor ? r : (r as { output: Core.Tensor }).output;
    const logits = head.forward(ak.mean(h, 1));                                  // [B, 2]
    const loss = ak.F.crossEntropy(logits, y);
    ak.backward(loss);
    opt.step();
    losses.push(loss.item());
  }
  return losses;
}
