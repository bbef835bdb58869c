/**
 * An A/B of two builds of the native addon in one process: the fused attention forward (H8 D64, no
 * mask), calls alternating between the builds, median of each, and whether their outputs are bitwise
 * equal. Machines drift by more than most kernel changes between runs; calls interleaved in one
 * process do not. Build one version, copy build/Release/attnkit_native.node aside, build the other:
 *
 *   node bench/ab.mjs /tmp/old.node build/Release/attnkit_native.node [B=8] [L=512]
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
const require = createRequire(import.meta.url);
const [oldPath, newPath] = process.argv.slice(2, 4);
if (!oldPath || !newPath) throw new Error('usage: node bench/ab.mjs <old .node> <new .node> [B] [L]');
const [B, L] = [Number(process.argv[4] ?? 8), Number(process.argv[5] ?? 512)];
const H = 8, D = 64, n = B * H * L * D;
const addons = { old: require(resolve(oldPath)), new: require(resolve(newPath)) };
for (const a of Object.values(addons)) a.setNumThreads?.(2);
const rnd = (s) => { const x = new Float32Array(n); let t = s; for (let i = 0; i < n; i++) { t = (t * 1103515245 + 12345) >>> 0; x[i] = t / 2 ** 32 - 0.5; } return x; };
const q = rnd(1), k = rnd(2), v = rnd(3);
const outs = { old: new Float32Array(n), new: new Float32Array(n) }, lse = new Float32Array(B * H * L);
const dims = { B, H, Hkv: H, T: L, S: L, D, Dv: D }, opts = { scale: 0.125, causal: false, dropout: 0, seed: 0 };
const call = (name) => addons[name].attentionForward(q, k, v, outs[name], lse, dims, opts, 0, null, [], null, null, null, null, null, null, 0);
const t = { old: [], new: [] };
for (let r = 0; r < (L >= 4096 ? 12 : 60); r++) for (const name of r % 2 ? ['old', 'new'] : ['new', 'old']) { const t0 = performance.now(); call(name); t[name].push(performance.now() - t0); }
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
let same = true; for (let i = 0; i < n; i++) if (outs.old[i] !== outs.new[i] && !(Number.isNaN(outs.old[i]) && Number.isNaN(outs.new[i]))) { same = false; break; }
console.log(`B${B} L${L}: old ${med(t.old).toFixed(2)} ms, new ${med(t.new).toFixed(2)} ms, new/old ${(med(t.new) / med(t.old)).toFixed(3)}, bitwise ${same}`);
