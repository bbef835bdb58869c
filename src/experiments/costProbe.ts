/**
 * A child process for study 7's cost table: `costProbe <mechanism> <L> <reps>` runs one
 * attention layer's forward + backward and prints `{"ms": …, "mib": …}` — the best time and the
 * peak resident memory above the size the process had just before the first pass.
 */
import { selectBackendFromEnv } from '../backend/native/index.js';
import { attentionCost, isMechanism } from './efficient.js';

selectBackendFromEnv();
const [kind, L, reps] = process.argv.slice(2);
if (!kind || !isMechanism(kind) || !(Number(L) > 0)) {
  process.stderr.write(`usage: costProbe <mechanism> <length> [reps]\n`);
  process.exit(2);
}
const before = process.memoryUsage().rss;
const ms = attentionCost(kind, Number(L), Number(reps ?? 1));
const peak = process.resourceUsage().maxRSS * 1024;
process.stdout.write(`${JSON.stringify({ ms, mib: Math.max(0, peak - before) / 2 ** 20 })}\n`);
