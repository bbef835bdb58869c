// Preloaded (NODE_OPTIONS=--import) by `node scripts/test.mjs --audit-once`, so it reaches the child
// processes a test spawns too: counts the calls into the native addon's kernels (loaded by require) and appends them,
// one JSON line per process, to the file named by ATTNKIT_KERNEL_AUDIT. A test file that makes no
// such call on the native pass runs the same code on every backend.
import Module from 'node:module';
import { appendFileSync } from 'node:fs';

const out = process.env.ATTNKIT_KERNEL_AUDIT;
const NOT_KERNELS = new Set(['info', 'setNumThreads', 'setIsa']);   // the loader's queries, not computation
const calls = {};
const load = Module._load;
Module._load = function (request, ...rest) {
  const m = load.call(this, request, ...rest);
  if (!out || !String(request).endsWith('attnkit_native.node') || m.__audited) return m;
  const wrapped = { __audited: true };
  for (const [name, f] of Object.entries(m)) {
    wrapped[name] = typeof f !== 'function' || NOT_KERNELS.has(name) ? f : function (...args) {
      calls[name] = (calls[name] ?? 0) + 1;
      return f.apply(this, args);
    };
  }
  return wrapped;
};
process.on('exit', () => {
  if (out) appendFileSync(out, JSON.stringify({ pid: process.pid, argv: process.argv.slice(1).join(' ').slice(0, 200), calls }) + '\n');
});
