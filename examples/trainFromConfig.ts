/**
 * Trains the model a config file describes and prints its test metrics.
 *
 *   npm run example:config -- examples/configs/wages.yaml [--set train.epochs=5 --set model.dim=16]
 */
import { trainFromConfigFile } from '../src/cli/runFile.js';

const [path, ...rest] = process.argv.slice(2);
if (!path) {
  console.error('usage: trainFromConfig <config.yaml|json> [--set key=value …]');
  process.exit(2);
}
const set = rest.flatMap((a, i) => (rest[i - 1] === '--set' ? [a] : []));
const run = await trainFromConfigFile(path, {
  set, callbacks: { onEpochEnd: (r) => console.log(`epoch ${r.epoch}  train loss ${r.trainLoss.toFixed(4)}  valid loss ${r.validLoss?.toFixed(4) ?? '—'}  (${r.seconds.toFixed(1)} s)`) },
});
console.log(`${run.config.name ?? path}: ${run.split.train.length} train / ${run.split.valid.length} valid / ${run.split.test.length} test rows, ${run.model.numParameters()} parameters, best epoch ${run.fit.bestEpoch}`);
if (run.skipped.length) console.log(`skipped ${run.skipped.length} malformed rows, e.g. ${run.skipped[0].reason}`);
if (!run.metrics) console.log('no test rows (split.test: 0), so no test metrics');
for (const [target, m] of Object.entries(run.metrics ?? {})) {
  console.log(`test ${target}: ${Object.entries(m).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
}
