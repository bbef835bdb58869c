/**
 * A child process for study 7's cost table: `costProbe <mechanism> <L> <reps>` runs one
 * attention layer's forward + backward and prints `{"ms": …, "mib": …}` — the best time and the
 * peak resident memory above the size the process had just before the first pass.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { initBackend } from '../backend/native/index.js';
import { attentionCost, isMechanism } from './efficient.js';

await initBackend();
const [kind, L, reps] = process.argv.slice(2);
if (!kind || !isMechanism(kind) || !(Number(L) > 0)) {
  process.stderr.write(`usage: costProbe <mechanism> <length> [reps]\n`);
  process.exit(2);
}
/** Peak resident size in bytes: Linux's VmHWM (reset below), else the lifetime maximum. */
function peakRss(): number {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Number(kb) * 1024;
  } catch { /* not Linux */ }
  return process.resourceUsage().maxRSS * 1024;
}
// start the high-water mark afresh, so the loader's start-up peak does not hide the pass's own
try { writeFileSync('/proc/self/clear_refs', '5'); } catch { /* not Linux: the lifetime peak is an upper bound */ }
const before = process.memoryUsage().rss;
const ms = attentionCost(kind, Number(L), Number(reps ?? 1));
const peak = peakRss();
process.stdout.write(`${JSON.stringify({ ms, mib: Math.max(0, peak - before) / 2 ** 20 })}\n`);
