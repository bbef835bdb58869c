// Local ESLint rules that keep attnkit's architecture (../shared/DESIGN.md) in shape.
import { builtinModules } from 'node:module';
import path from 'node:path';
import { pathBack, resolveRelative } from './import-cycles.mjs';

/** Layer ranks from DESIGN.md, bottom to top: a file may import only its own rank or below. */
const RANKS = {
  errors: 0,
  config: 0,
  version: 0, // src/version.ts: one constant, no imports
  backend: 1,
  tensor: 2,
  autograd: 3,
  ops: 4,
  // the ONNX graph builder knows tensors, not modules: each layer's emitter (`<layer>.onnx.ts`
  // beside it) imports it; the exporter and its registry (the rest of onnx/) sit above models/
  'onnx/graph': 4,
  nn: 5,
  'nn/attention': 6,
  'nn/composite': 6,
  data: 7,
  models: 8,
  analysis: 9,
  train: 10,
  experiments: 10,
  onnx: 10,
  cli: 11,
  viz: 11,
};
const TOP = 12; // entry points at src/ root (index.ts, node.ts) see everything
const CORE_MAX = 8; // backend … models must run in a browser: no node: modules
const NODE_ONLY = ['backend/native/', 'data/node/']; // Node-only pieces behind their own entry points
/** Layers that reach kernels only through the backend interface (backend/backend.ts), never an implementation. */
const INTERFACE_ONLY = ['ops', 'autograd'];
const IMPLEMENTATIONS = ['backend/js/', 'backend/native/', 'backend/wasm/'];
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Layer key of a path relative to src/ (e.g. 'nn/attention', 'ops'), or null outside src. */
function layerOf(rel) {
  if (rel.startsWith('..')) return null;
  const parts = rel.split(path.sep);
  if (parts.length === 1) {
    const base = parts[0].replace(/\.(ts|js)$/, '');
    return base in RANKS ? base : '<root>';
  }
  if (parts[0] === 'nn' && (parts[1] === 'attention' || parts[1] === 'composite')) return `nn/${parts[1]}`;
  if (parts[0] === 'onnx' && parts[1] === 'graph' && parts.length > 2) return 'onnx/graph';
  return parts[0];
}
const rankOf = (layer) => (layer === '<root>' ? TOP : RANKS[layer] ?? TOP);

const layers = {
  meta: {
    type: 'problem',
    docs: { description: 'imports run one way: a layer never imports a layer above it (DESIGN.md); ops/ and autograd/ see the backend only through its interface; the core imports no Node built-in' },
    messages: {
      upward: "'{{from}}' (layer {{fromRank}}) may not import '{{to}}' (layer {{toRank}}): imports run one way, top to bottom (DESIGN.md)",
      node: "'{{from}}' is core code that must run in a browser; it may not import the Node built-in '{{mod}}'",
      viz: "viz/ reaches the engine only through the public browser entry 'attnkit/browser', as a user's page would, never by a relative import ('{{mod}}')",
      implementation: "'{{from}}' may not import '{{to}}': ops/ and autograd/ reach kernels through the backend interface ('backend/backend.ts', the active backend object), never a backend implementation",
    },
    schema: [],
  },
  create(context) {
    const file = context.filename ?? context.getFilename();
    const srcRoot = path.join(context.cwd ?? process.cwd(), 'src');
    const rel = path.relative(srcRoot, file);
    const from = layerOf(rel);
    if (from === null) return {};
    const relPosix = rel.split(path.sep).join('/');
    const check = (node) => {
      const src = node.source && node.source.value;
      if (typeof src !== 'string') return;
      if (builtins.has(src) || src.startsWith('node:')) {
        if (rankOf(from) <= CORE_MAX && !NODE_ONLY.some((p) => relPosix.startsWith(p))) {
          context.report({ node, messageId: 'node', data: { from: relPosix, mod: src } });
        }
        return;
      }
      if (!src.startsWith('.')) return;
      const target = path.relative(srcRoot, path.resolve(path.dirname(file), src));
      const to = layerOf(target);
      if (to === null) return;
      if (from === 'viz' && to !== 'viz') {
        context.report({ node, messageId: 'viz', data: { mod: src } });
        return;
      }
      const toPosix = target.split(path.sep).join('/');
      if (INTERFACE_ONLY.includes(from) && IMPLEMENTATIONS.some((p) => toPosix.startsWith(p))) {
        context.report({ node, messageId: 'implementation', data: { from: relPosix, to: toPosix } });
        return;
      }
      if (rankOf(to) > rankOf(from)) {
        context.report({ node, messageId: 'upward', data: { from: relPosix, fromRank: rankOf(from), to: toPosix, toRank: rankOf(to) } });
      }
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};

/** An import or re-export erased at compile time: `import type`, `export type`, or every specifier `type`. */
function typeOnly(node) {
  if (node.importKind === 'type' || node.exportKind === 'type') return true;
  const specs = node.specifiers ?? [];
  return specs.length > 0 && specs.every((s) => s.importKind === 'type' || s.exportKind === 'type');
}

/**
 * No import cycle in src/: a runtime import (type-only ones are erased) whose target leads back to
 * this file, following the imports on disk, is reported with the cycle it closes.
 */
const noCycles = {
  meta: {
    type: 'problem',
    docs: { description: 'no import cycles in src/ (type-only imports excepted)' },
    messages: { cycle: 'import cycle: {{cycle}}. Move what both sides need to a module of its own, or the function to the file where it belongs.' },
    schema: [],
  },
  create(context) {
    const file = context.filename ?? context.getFilename();
    const srcRoot = path.join(context.cwd ?? process.cwd(), 'src');
    const rel = path.relative(srcRoot, file);
    if (rel.startsWith('..') || path.isAbsolute(rel)) return {};
    const show = (f) => path.relative(srcRoot, f).split(path.sep).join('/');
    return {
      Program(program) {
        const seen = new Set();
        for (const node of program.body) {
          const src = node.source && node.source.value;
          if (typeof src !== 'string' || seen.has(src) || typeOnly(node)) continue;
          seen.add(src);
          const target = resolveRelative(file, src);
          if (target === null) continue;
          const back = target === file ? [target] : pathBack(target, file, srcRoot);
          if (back) context.report({ node, messageId: 'cycle', data: { cycle: [file, ...back].map(show).join(' → ') } });
        }
      },
    };
  },
};

export default { rules: { layers, 'no-cycles': noCycles } };
