// The module graph of src/ (relative imports only) and its import cycles. Used by the
// 'attnkit/no-cycles' lint rule and, run directly, prints every cycle:
//   node tools/import-cycles.mjs [dir=src] [--types]
// Type-only imports and exports (`import type`, `export type`, or every specifier marked `type`)
// are erased at compile time, so they make no runtime cycle; --types counts them too.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// A module-level import or re-export starts a line: `import|export [type] <clause> from '<spec>'`,
// or `import '<spec>'`. The clause is checked against the grammar of import/export clauses, so a
// string that merely contains "from '…'" is not mistaken for one. (A scanner, not a parser: fast
// enough to run on every linted file; our sources keep module-level statements at line starts.)
const STATEMENT = /^(import|export)\s+(?:(type)\s+)?((?:(?!^(?:import|export)\b)[^;'"])*?)\s*\bfrom\s*(['"])([^'"\n]+)\4|^import\s*(['"])([^'"\n]+)\6/gm;
const NAME = String.raw`[A-Za-z_$][\w$]*`;
const NAMED = String.raw`\{[^{}]*\}`;
const CLAUSE = new RegExp(String.raw`^(?:\*(?:\s+as\s+${NAME})?|${NAMED}|${NAME}(?:\s*,\s*(?:${NAMED}|\*\s+as\s+${NAME}))?)$`);

/** Whether a named-bindings list `{ type A, type B as C }` holds only type-only specifiers. */
function allTypes(clause) {
  if (!clause.startsWith('{')) return false;
  const items = clause.slice(1, -1).split(',').map((x) => x.trim()).filter((x) => x !== '');
  return items.length > 0 && items.every((x) => /^type\s/.test(x));
}

/**
 * Module specifiers of `text` (a TypeScript file) at module level: static imports and
 * re-exports, each with whether it is erased at compile time (`import type`, `export type`, or
 * every specifier marked `type`). Dynamic import() is lazy, not an edge.
 */
export function importSpecifiers(text) {
  const out = [];
  for (const m of text.matchAll(STATEMENT)) {
    if (m[7] !== undefined) {
      out.push({ spec: m[7], typeOnly: false });
      continue;
    }
    const clause = m[3].replace(/\s+/g, ' ').trim();
    if (!CLAUSE.test(clause)) continue;
    if (m[1] === 'export' && !clause.startsWith('*') && !clause.startsWith('{')) continue;
    out.push({ spec: m[5], typeOnly: m[2] === 'type' || allTypes(clause) });
  }
  return out;
}

/** The .ts file a relative specifier names (NodeNext style: './x.js' is './x.ts'), or null. */
export function resolveRelative(fromFile, spec) {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(fromFile), spec);
  const candidates = [base.replace(/\.(m?js)$/, (m) => (m === '.mjs' ? '.mts' : '.ts')), base, `${base}.ts`, path.join(base, 'index.ts')];
  for (const c of candidates) {
    try {
      if (statSync(c).isFile()) return c;
    } catch {
      // not this candidate
    }
  }
  return null;
}

const cache = new Map(); // file → { mtimeMs, edges }

/** Resolved relative imports of a file on disk (runtime ones, or all with `types`); re-read when it changes. */
export function edgesOf(file, { types = false } = {}) {
  let mtimeMs;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    return [];
  }
  let hit = cache.get(file);
  if (!hit || hit.mtimeMs !== mtimeMs) {
    const specs = importSpecifiers(readFileSync(file, 'utf8'));
    const edges = specs.map((s) => ({ to: resolveRelative(file, s.spec), typeOnly: s.typeOnly })).filter((e) => e.to !== null);
    hit = { mtimeMs, edges };
    cache.set(file, hit);
  }
  return hit.edges.filter((e) => types || !e.typeOnly).map((e) => e.to);
}

/**
 * A shortest import path from `start` back to `target` (both absolute), following runtime imports
 * on disk; null when `target` is unreachable. Only files under `root` are followed.
 */
export function pathBack(start, target, root) {
  const prev = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const f = queue.shift();
    if (f === target) {
      const chain = [];
      for (let x = f; x !== null; x = prev.get(x)) chain.unshift(x);
      return chain;
    }
    if (!f.startsWith(root + path.sep)) continue;
    for (const t of edgesOf(f)) {
      if (!prev.has(t)) {
        prev.set(t, f);
        queue.push(t);
      }
    }
  }
  return null;
}

function tsFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (/\.m?ts$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Strongly connected components with more than one module (or a module importing itself). */
export function stronglyConnected(graph) {
  let index = 0;
  const idx = new Map(), low = new Map(), onStack = new Set(), stack = [], comps = [];
  const visit = (v) => {
    idx.set(v, index); low.set(v, index); index++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) comps.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return comps;
}

/** Elementary cycles (each listed once, from its smallest module), at most `limit` of them. */
export function elementaryCycles(graph, limit = 100000) {
  const nodes = [...graph.keys()].sort();
  const order = new Map(nodes.map((n, i) => [n, i]));
  const cycles = [];
  for (const s of nodes) {
    const si = order.get(s);
    const pathStack = [s], onPath = new Set([s]);
    const walk = (v) => {
      for (const w of graph.get(v) ?? []) {
        if (cycles.length >= limit) return;
        if (w === s) cycles.push([...pathStack, s]);
        else if (order.get(w) > si && !onPath.has(w)) {
          pathStack.push(w); onPath.add(w);
          walk(w);
          pathStack.pop(); onPath.delete(w);
        }
      }
    };
    walk(s);
    if (cycles.length >= limit) break;
  }
  return cycles;
}

/** The import graph of every .ts file under `dir` (edges inside `dir` only). */
export function importGraph(dir, { types = false } = {}) {
  const root = path.resolve(dir);
  const files = tsFiles(root);
  const inside = new Set(files);
  return new Map(files.map((f) => [f, [...new Set(edgesOf(f, { types }).filter((t) => inside.has(t)))]]));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const types = args.includes('--types');
  const dir = args.find((a) => !a.startsWith('--')) ?? 'src';
  const rel = (f) => path.relative(path.resolve(dir), f).split(path.sep).join('/');
  const graph = importGraph(dir, { types });
  const comps = stronglyConnected(graph);
  const cycles = elementaryCycles(graph);
  for (const c of comps) console.log(`component (${c.length} modules): ${c.map(rel).join(', ')}`);
  for (const c of cycles.slice(0, 50)) console.log(`cycle: ${c.map(rel).join(' → ')}`);
  if (cycles.length > 50) console.log(`… and ${cycles.length - 50} more`);
  console.log(`${graph.size} modules in ${dir}, ${types ? 'type-only imports included' : 'runtime imports'}: `
    + `${comps.length} cyclic components, ${cycles.length}${cycles.length >= 100000 ? '+' : ''} elementary cycles`);
  process.exitCode = cycles.length > 0 ? 1 : 0;
}
