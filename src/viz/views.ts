/**
 * The live viewer's figures, drawn from numbers the page computed (engine.ts): the model view
 * (all layers × heads), the head view with hover and overlaid heads, the neuron view, heatmaps
 * with numbers, bars with full labels on hover, and attention flow.
 */
import { colour, el } from './svg.js';

export const HEAD_COLOURS = ['#1f4e9c', '#c4453b', '#2e8b57', '#b8860b', '#6a3d9a', '#e377c2', '#17becf', '#7f7f7f'];

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function h(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

/** Paints `m` (n × n) into canvas `c`, one pixel a cell (white → blue, `max` the top of the scale; default the largest value). */
function paintHeat(c: HTMLCanvasElement, m: ArrayLike<number>, n: number, max0 = 0): void {
  if (c.width !== n) c.width = c.height = n;
  const ctx = c.getContext('2d')!;
  let max = max0;
  if (!max) for (let i = 0; i < n * n; i++) max = Math.max(max, m[i]);
  max = Math.max(max, 1e-9);
  const img = ctx.createImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const t = Math.max(0, Math.min(1, m[i] / max));
    img.data[4 * i] = Math.round(255 - 225 * t); img.data[4 * i + 1] = Math.round(255 - 185 * t); img.data[4 * i + 2] = Math.round(255 - 95 * t); img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** An n × n map on a canvas (one pixel a cell, scaled by CSS to `px`; white → blue, `max` the top of the scale); hovering shows the pair and the weight. */
export function heatCanvas(m: ArrayLike<number>, n: number, px: number, options: { max?: number; labels?: string[]; tip?: HTMLElement } = {}): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.style.width = c.style.height = `${px}px`;
  c.style.imageRendering = 'pixelated';
  paintHeat(c, m, n, options.max);
  const { labels, tip } = options;
  if (labels && tip) {
    c.onmousemove = (e) => {
      const i = Math.floor((e.offsetY / px) * n), j = Math.floor((e.offsetX / px) * n);
      if (i < 0 || j < 0 || i >= n || j >= n) return;
      tip.textContent = `${labels[i]} → ${labels[j]}: ${m[i * n + j].toFixed(4)}`;
    };
  }
  return c;
}

/**
 * The model view: one small heatmap per layer × head (rows: layers), each a button that opens
 * that head in the head view and the large heatmap. Given the previous grid of the same
 * layers × heads, its canvases are painted again in place (an edit makes no new elements).
 */
export function modelView(weights: Float32Array[][], n: number, onOpen: (layer: number, head: number) => void, active: { layer: number; head: number }, prev?: Node | null): HTMLElement {
  const shape = `${weights.length}x${weights[0].length}`;
  if (prev instanceof HTMLElement && prev.dataset.shape === shape) {
    for (const b of Array.from(prev.querySelectorAll<HTMLButtonElement>('button.mv-panel'))) {
      const l = Number(b.dataset.layer), hd = Number(b.dataset.head);
      paintHeat(b.querySelector('canvas')!, weights[l][hd], n);
      b.classList.toggle('active', active.layer === l && active.head === hd);
      b.onclick = () => onOpen(l, hd);
    }
    return prev;
  }
  const grid = h('div', { class: 'model-grid', 'data-shape': shape, style: `grid-template-columns: 60px repeat(${weights[0].length}, 104px)` });
  grid.append(h('span'));
  weights[0].forEach((_, hd) => grid.append(h('span', { class: 'mv-col' }, `head ${hd + 1}`)));
  weights.forEach((layer, l) => {
    grid.append(h('span', { class: 'mv-row' }, `layer ${l + 1}`));
    layer.forEach((m, hd) => {
      const b = h('button', { type: 'button', class: `mv-panel${active.layer === l && active.head === hd ? ' active' : ''}`, 'data-layer': String(l), 'data-head': String(hd), title: `layer ${l + 1}, head ${hd + 1}: click to open` });
      b.append(heatCanvas(m, n, 96));
      b.onclick = () => onOpen(l, hd);
      grid.append(b);
    });
  });
  return grid;
}

/** Which links a head view draws: all above a small floor, or each query's k strongest. */
export type LinkFilter = { kind: 'all' } | { kind: 'top'; k: number };

/** A link of the head view as drawn: query, key, head, weight and the opacity of the last paint. */
export interface HeadLink { q: number; k: number; head: number; w: number; alpha: number }

/**
 * BertViz's head view, better, on one canvas (hundreds of links cost one paint, not hundreds of
 * SVG elements): queries left, keys right, one line per link with opacity = weight; several heads
 * overlaid in their colours; `filter` keeps each query's strongest links for long inputs.
 * Hovering a token highlights its lines (opacity 1) and dims the others (0.04) and shows its full
 * label; clicking near a line picks the pair for the neuron view. The canvas carries the hovered
 * token (`data-hover`, `q2` / `k5`) and `links`, the links as last painted (tests read them).
 */
export function headView(layer: Float32Array[], heads: number[], n: number, labels: string[], full: string[], filter: LinkFilter, onPick?: (q: number, k: number) => void): HTMLElement {
  const row = 16, colW = 170, gap = 200, top = 16;
  const H = 24 + row * n, W = colW * 2 + gap;
  const dpr = globalThis.devicePixelRatio || 1;
  const c = document.createElement('canvas');
  c.width = Math.round(W * dpr); c.height = Math.round(H * dpr);
  c.style.width = `${W}px`; c.style.height = `${H}px`;
  c.id = 'headview-canvas';
  c.className = 'headview';
  const links: HeadLink[] = [];
  for (const hd of heads) {
    const m = layer[hd];
    for (let i = 0; i < n; i++) {
      let keys: number[] = [];
      for (let j = 0; j < n; j++) if (m[i * n + j] >= 0.01) keys.push(j);
      if (filter.kind === 'top') keys = keys.sort((a, b) => m[i * n + b] - m[i * n + a]).slice(0, filter.k);
      for (const j of keys) links.push({ q: i, k: j, head: hd, w: m[i * n + j], alpha: 0 });
    }
  }
  (c as HTMLCanvasElement & { links: HeadLink[] }).links = links;
  const tip = h('div', { class: 'tip' }, 'hover a token to highlight its links; click a link for the neuron view');
  const ctx = c.getContext('2d')!;
  let hover: { side: 'q' | 'k'; i: number } | null = null;
  const paint = (): void => {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = 'white';
    ctx.fillRect(0, 0, W, H);
    // links grouped by head and opacity/width (in steps of 1/32): one path and one stroke per group
    const groups = new Map<string, HeadLink[]>();
    for (const l of links) {
      const hit = hover !== null && (hover.side === 'q' ? l.q : l.k) === hover.i;
      l.alpha = hover === null ? Math.min(1, 0.15 + l.w) : hit ? 1 : 0.04;
      const key = `${l.head} ${Math.round(l.alpha * 32)} ${Math.round(l.w * 32)}`;
      const g = groups.get(key);
      if (g) g.push(l); else groups.set(key, [l]);
    }
    for (const g of groups.values()) {
      ctx.globalAlpha = g[0].alpha;
      ctx.strokeStyle = HEAD_COLOURS[g[0].head % HEAD_COLOURS.length];
      ctx.lineWidth = 0.5 + 3 * g[0].w;
      ctx.beginPath();
      for (const l of g) {
        ctx.moveTo(colW, top + l.q * row);
        ctx.lineTo(colW + gap, top + l.k * row);
      }
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#1d2330';
    for (const side of ['q', 'k'] as const) {
      ctx.textAlign = side === 'q' ? 'right' : 'left';
      const x = side === 'q' ? colW - 6 : colW + gap + 6;
      for (let i = 0; i < n; i++) if (hover === null || hover.side !== side || hover.i !== i) ctx.fillText(clip(labels[i], 24), x, top + 4 + i * row);
    }
    if (hover) {
      ctx.textAlign = hover.side === 'q' ? 'right' : 'left';
      ctx.font = '700 11px system-ui, sans-serif';
      ctx.fillStyle = '#c4453b';
      ctx.fillText(clip(labels[hover.i], 24), hover.side === 'q' ? colW - 6 : colW + gap + 6, top + 4 + hover.i * row);
    }
    c.dataset.hover = hover ? `${hover.side}${hover.i}` : '';
  };
  /** The link nearest to (x, y) within 5 px, or null. */
  const nearest = (x: number, y: number): HeadLink | null => {
    let best: HeadLink | null = null, bd = 5;
    for (const l of links) {
      const y1 = top + l.q * row, y2 = top + l.k * row;
      const d = Math.abs((y2 - y1) * (x - colW) - gap * (y - y1)) / Math.hypot(gap, y2 - y1);
      if (d < bd) { bd = d; best = l; }
    }
    return best;
  };
  c.onmousemove = (e) => {
    const x = e.offsetX, y = e.offsetY;
    const i = Math.floor((y - top + row / 2) / row);
    const side: 'q' | 'k' | null = x < colW ? 'q' : x > colW + gap ? 'k' : null;
    const next = side !== null && i >= 0 && i < n ? { side, i } : null;
    if (next?.side !== hover?.side || next?.i !== hover?.i) { hover = next; paint(); }
    if (next) tip.textContent = full[next.i];
    else if (x >= colW && x <= colW + gap) {
      const l = nearest(x, y);
      if (l) tip.textContent = `head ${l.head + 1}: ${full[l.q]} → ${full[l.k]}: ${l.w.toFixed(4)}`;
    }
  };
  c.onmouseleave = () => { if (hover) { hover = null; paint(); } };
  c.onclick = (e) => {
    if (e.offsetX < colW || e.offsetX > colW + gap) return;
    const l = nearest(e.offsetX, e.offsetY);
    if (l && onPick) onPick(l.q, l.k);
  };
  c.style.cursor = 'pointer';
  paint();
  return h('div', { class: 'headview-box' }, tip, c);
}

/** A small matrix with its numbers in the cells (head redundancy, entropy per layer × head). */
export function numberGrid(m: number[][], rows: string[], cols: string[], options: { max?: number; id?: string; digits?: number } = {}): SVGSVGElement {
  const cell = 46, left = 64, top = 22;
  const W = left + cell * cols.length + 4, H = top + cell * rows.length + 4;
  const svg = el('svg', { width: W, height: H, class: 'numgrid', ...(options.id ? { id: options.id } : {}) });
  svg.appendChild(el('rect', { x: 0, y: 0, width: W, height: H, fill: 'white' }));
  const max = options.max ?? Math.max(1e-9, ...m.flat());
  cols.forEach((c, j) => svg.appendChild(el('text', { x: left + j * cell + cell / 2, y: 15, 'text-anchor': 'middle', 'font-size': 11 }, c)));
  m.forEach((r, i) => {
    svg.appendChild(el('text', { x: left - 6, y: top + i * cell + cell / 2 + 4, 'text-anchor': 'end', 'font-size': 11 }, rows[i]));
    r.forEach((v, j) => {
      const t = v / max;
      const rect = el('rect', { x: left + j * cell, y: top + i * cell, width: cell - 2, height: cell - 2, fill: colour(t), class: 'cell', 'data-v': v });
      rect.appendChild(el('title', {}, `${rows[i]}, ${cols[j]}: ${v.toFixed(4)}`));
      svg.appendChild(rect);
      svg.appendChild(el('text', { x: left + j * cell + cell / 2 - 1, y: top + i * cell + cell / 2 + 3, 'text-anchor': 'middle', 'font-size': 11, fill: t > 0.55 ? 'white' : '#1d2330', class: 'num' }, v.toFixed(options.digits ?? 2)));
    });
  });
  return svg;
}

/** Horizontal bars with numbers; with `top`, the `top` largest, largest first (else in the given order); full labels on hover. */
export function bars(values: number[], labels: string[], full: string[] = labels, options: { top?: number; id?: string } = {}): SVGSVGElement {
  let idx = values.map((_, i) => i);
  if (options.top) idx = idx.sort((a, b) => values[b] - values[a]).slice(0, options.top);
  const row = 15, pad = 170, w = 240;
  const max = Math.max(1e-9, ...idx.map((i) => values[i]));
  const H = 10 + row * idx.length;
  const svg = el('svg', { width: pad + w + 60, height: H, class: 'bars', ...(options.id ? { id: options.id } : {}) });
  svg.appendChild(el('rect', { x: 0, y: 0, width: pad + w + 60, height: H, fill: 'white' }));
  idx.forEach((i, r) => {
    const v = values[i];
    const t = el('text', { x: pad - 4, y: 15 + r * row, 'text-anchor': 'end', 'font-size': 11 }, clip(labels[i], 26));
    t.appendChild(el('title', {}, full[i]));
    svg.appendChild(t);
    const b = el('rect', { x: pad, y: 5 + r * row, width: Math.max(0.5, (Math.max(0, v) / max) * w), height: row - 3, fill: '#3b6fc4', 'data-v': v, 'data-i': i, class: 'bar' });
    b.appendChild(el('title', {}, `${full[i]}: ${v.toFixed(4)}`));
    svg.appendChild(b);
    svg.appendChild(el('text', { x: pad + (Math.max(0, v) / max) * w + 4, y: 15 + r * row, 'font-size': 10 }, v.toFixed(3)));
  });
  return svg;
}

/** Per head: the query and key vectors, their scaled elementwise product, and the head's softmax over keys. */
export function neuronView(data: { heads: { q: number[]; k: number[]; product: number[]; score: number; softmax: number[] }[] }, kIndex: number, labels: string[]): HTMLElement {
  const box = h('div', { class: 'neuron' });
  data.heads.forEach((hd, i) => {
    const vmax = Math.max(1e-9, ...hd.q.map(Math.abs), ...hd.k.map(Math.abs));
    const pmax = Math.max(1e-9, ...hd.product.map(Math.abs));
    const strip = (xs: number[], m: number, name: string): HTMLElement => {
      const r = h('div', { class: 'vec' }, h('span', { class: 'vec-name' }, name));
      for (const x of xs) {
        const c = h('span', { class: 'vcell', title: x.toFixed(4), 'data-v': String(x) });
        const t = Math.min(1, Math.abs(x) / m);
        c.style.background = x >= 0 ? `rgba(31,78,156,${t})` : `rgba(196,69,59,${t})`;
        r.append(c);
      }
      return r;
    };
    const soft = h('div', { class: 'vec' }, h('span', { class: 'vec-name' }, 'softmax'));
    hd.softmax.forEach((p, j) => {
      const c = h('span', { class: `scell${j === kIndex ? ' picked' : ''}`, title: `${labels[j]}: ${p.toFixed(4)}`, 'data-v': String(p) });
      c.style.background = colour(p / Math.max(1e-9, ...hd.softmax));
      soft.append(c);
    });
    box.append(h('div', { class: 'neuron-head', 'data-head': String(i) },
      h('div', { class: 'neuron-title' }, `head ${i + 1}: q·k/√D = ${hd.score.toFixed(3)}, weight ${hd.softmax[kIndex].toFixed(4)}`),
      strip(hd.q, vmax, 'query q'), strip(hd.k, vmax, 'key k'), strip(hd.product, pmax, 'q × k / √D'), soft));
  });
  return box;
}

/**
 * Attention flow (Abnar & Zuidema 2020): the maximum flow from each input token to [CLS] through
 * the layers, edge capacities the head-averaged weights with the residual (0.5·A + 0.5·I, rows
 * renormalised, as rollout). Edmonds–Karp on the layered graph of the `limit` tokens with the
 * largest rollout (every token when the input is shorter); the others get no value (NaN).
 */
export function attentionFlow(weights: Float32Array[][], n: number, rolloutCls: ArrayLike<number>, limit = 32): number[] {
  const order = Array.from({ length: n }, (_, i) => i).filter((i) => i !== 0).sort((a, b) => rolloutCls[b] - rolloutCls[a]);
  const keep = [0, ...order.slice(0, limit - 1)].sort((a, b) => a - b);
  const m = keep.length, L = weights.length;
  // per layer: A[i][k] over kept tokens, residual added, rows renormalised
  const caps = weights.map((heads) => {
    const A = new Float64Array(m * m);
    keep.forEach((i, a) => keep.forEach((k, b) => {
      let s = 0;
      for (const hd of heads) s += hd[i * n + k];
      A[a * m + b] = 0.5 * (s / heads.length) + (a === b ? 0.5 : 0);
    }));
    for (let a = 0; a < m; a++) {
      let s = 0;
      for (let b = 0; b < m; b++) s += A[a * m + b];
      if (s > 0) for (let b = 0; b < m; b++) A[a * m + b] /= s;
    }
    return A;
  });
  // nodes: layer l (0..L) × token; edge (l−1, k) → (l, i) with capacity caps[l−1][i][k]; residual capacities in a dense V × V array
  const V = (L + 1) * m;
  const flowOut = new Array<number>(n).fill(Number.NaN);
  const cls = keep.indexOf(0);
  const cap = new Float64Array(V * V);
  const prev = new Int32Array(V), queue = new Int32Array(V);
  for (let s = 0; s < m; s++) {
    cap.fill(0);
    for (let l = 1; l <= L; l++) for (let i = 0; i < m; i++) for (let k = 0; k < m; k++) cap[((l - 1) * m + k) * V + l * m + i] = caps[l - 1][i * m + k];
    const src = s, sink = L * m + cls;
    let total = 0;
    for (let iter = 0; iter < 100_000; iter++) {
      prev.fill(-1);
      prev[src] = src;
      let head = 0, tail = 0;
      queue[tail++] = src;
      while (head < tail && prev[sink] < 0) {
        const u = queue[head++];
        // neighbours: the next and the previous layer only
        const lu = Math.floor(u / m);
        for (const lv of [lu + 1, lu - 1]) {
          if (lv < 0 || lv > L) continue;
          for (let t = 0; t < m; t++) {
            const v = lv * m + t;
            if (prev[v] < 0 && cap[u * V + v] > 1e-12) { prev[v] = u; queue[tail++] = v; }
          }
        }
      }
      if (prev[sink] < 0) break;
      let f = Infinity;
      for (let v = sink; v !== src; v = prev[v]) f = Math.min(f, cap[prev[v] * V + v]);
      for (let v = sink; v !== src; v = prev[v]) { cap[prev[v] * V + v] -= f; cap[v * V + prev[v]] += f; }
      total += f;
    }
    flowOut[keep[s]] = total;
  }
  return flowOut;
}
