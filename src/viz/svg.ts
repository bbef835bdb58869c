/** Small SVG builders for the viewer: heatmaps, line charts, bars, and export to SVG / PNG files. */
const NS = 'http://www.w3.org/2000/svg';

export function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** White → deep blue for a weight in [0, 1]. */
export function colour(w: number): string {
  const t = Math.max(0, Math.min(1, w));
  const r = Math.round(255 - 225 * t), g = Math.round(255 - 185 * t), b = Math.round(255 - 95 * t);
  return `rgb(${r},${g},${b})`;
}

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * A heatmap of `m` (rows × cols, values in [0, 1] unless `max` is given) with row and column
 * labels; every cell is a <rect> carrying data-q, data-k and data-w for tests and tooltips.
 */
export function heatmap(m: number[][], rowLabels: string[], colLabels: string[], options: { cell?: number; max?: number; id?: string } = {}): SVGSVGElement {
  const cell = options.cell ?? Math.max(3, Math.min(18, Math.floor(640 / Math.max(1, colLabels.length))));
  const pad = 110, top = 110;
  const W = pad + cell * colLabels.length + 10, H = top + cell * rowLabels.length + 10;
  const svg = el('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'heatmap', ...(options.id ? { id: options.id } : {}) });
  svg.appendChild(el('rect', { x: 0, y: 0, width: W, height: H, fill: 'white' }));
  const max = options.max ?? 1;
  // small cells label every k-th token (hover shows every cell's pair)
  const every = cell >= 8 ? 1 : Math.ceil(9 / cell);
  const fs = Math.min(11, Math.max(8, cell));
  const labelAt = (i: number): boolean => i % every === 0;
  m.forEach((row, i) => {
    if (labelAt(i)) svg.appendChild(el('text', { x: pad - 4, y: top + i * cell + Math.min(cell, fs) * 0.75, 'text-anchor': 'end', 'font-size': fs }, clip(rowLabels[i], 18)));
    row.forEach((w, j) => {
      const r = el('rect', { x: pad + j * cell, y: top + i * cell, width: cell, height: cell, fill: colour(w / max), 'data-q': i, 'data-k': j, 'data-w': w, class: 'cell' });
      r.appendChild(el('title', {}, `${rowLabels[i]} → ${colLabels[j]}: ${w.toFixed(4)}`));
      svg.appendChild(r);
    });
  });
  colLabels.forEach((l, j) => {
    if (!labelAt(j)) return;
    const x = pad + j * cell + Math.min(cell, fs) * 0.75, y = top - 4;
    svg.appendChild(el('text', { x, y, transform: `rotate(-60 ${x} ${y})`, 'font-size': fs }, clip(l, 18)));
  });
  return svg;
}

/** Lines between query tokens (left) and key tokens (right), opacity = weight (BertViz's head view). */
export function headView(m: number[][], labels: string[], options: { threshold?: number } = {}): SVGSVGElement {
  const row = 16, colW = 160, gap = 180;
  const H = 20 + row * labels.length, W = colW * 2 + gap;
  const svg = el('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'headview' });
  svg.appendChild(el('rect', { x: 0, y: 0, width: W, height: H, fill: 'white' }));
  const t = options.threshold ?? 0.02;
  m.forEach((r, i) => r.forEach((w, j) => {
    if (w < t) return;
    svg.appendChild(el('line', { x1: colW, y1: 14 + i * row, x2: colW + gap, y2: 14 + j * row, stroke: '#1f4e9c', 'stroke-opacity': Math.min(1, w), 'stroke-width': 1 + 3 * w, 'data-q': i, 'data-k': j, class: 'link' }));
  }));
  labels.forEach((l, i) => {
    svg.appendChild(el('text', { x: colW - 6, y: 18 + i * row, 'text-anchor': 'end', 'font-size': 11, class: 'qtok', 'data-i': i }, clip(l, 22)));
    svg.appendChild(el('text', { x: colW + gap + 6, y: 18 + i * row, 'font-size': 11, class: 'ktok', 'data-i': i }, clip(l, 22)));
  });
  return svg;
}

/** Horizontal bars, one per label. */
export function bars(values: number[], labels: string[], options: { width?: number } = {}): SVGSVGElement {
  const row = 15, pad = 150, w = options.width ?? 260;
  const max = Math.max(1e-9, ...values);
  const svg = el('svg', { width: pad + w + 60, height: 10 + row * values.length, class: 'bars' });
  svg.appendChild(el('rect', { x: 0, y: 0, width: pad + w + 60, height: 10 + row * values.length, fill: 'white' }));
  values.forEach((v, i) => {
    svg.appendChild(el('text', { x: pad - 4, y: 15 + i * row, 'text-anchor': 'end', 'font-size': 11 }, clip(labels[i], 24)));
    svg.appendChild(el('rect', { x: pad, y: 5 + i * row, width: Math.max(0.5, (v / max) * w), height: row - 3, fill: '#3b6fc4', 'data-v': v, class: 'bar' }));
    svg.appendChild(el('text', { x: pad + (v / max) * w + 4, y: 15 + i * row, 'font-size': 10 }, v.toFixed(3)));
  });
  return svg;
}

/** A line chart of named series over x. */
export function lines(series: { name: string; xs: number[]; ys: (number | null)[] }[], options: { xLabel?: string; yLabel?: string } = {}): SVGSVGElement {
  const W = 520, H = 260, L = 50, R = 130, T = 15, B = 35;
  const all = series.flatMap((s) => s.ys.filter((y): y is number => y !== null && Number.isFinite(y)));
  const xs = series.flatMap((s) => s.xs);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(0, ...all), Math.max(...all)];
  // one epoch: its points in the middle of the axis, not on the y axis
  const sx = (x: number): number => (x1 === x0 ? (L + W - R) / 2 : L + ((x - x0) / (x1 - x0)) * (W - L - R));
  const sy = (y: number): number => H - B - ((y - y0) / Math.max(1e-9, y1 - y0)) * (H - T - B);
  const svg = el('svg', { width: W, height: H, class: 'chart' });
  svg.appendChild(el('rect', { x: 0, y: 0, width: W, height: H, fill: 'white' }));
  svg.appendChild(el('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#888' }));
  svg.appendChild(el('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#888' }));
  svg.appendChild(el('text', { x: L, y: H - 8, 'font-size': 11 }, `${options.xLabel ?? 'epoch'} ${x0 === x1 ? x0 : `${x0}–${x1}`}`));
  svg.appendChild(el('text', { x: 4, y: T + 8, 'font-size': 10 }, y1.toPrecision(3)));
  svg.appendChild(el('text', { x: 4, y: H - B, 'font-size': 10 }, y0.toPrecision(3)));
  const palette = ['#1f4e9c', '#c4453b', '#2e8b57', '#b8860b', '#6a3d9a', '#e377c2', '#17becf', '#7f7f7f'];
  series.forEach((s, k) => {
    const xy = s.xs.flatMap((x, i) => (s.ys[i] === null ? [] : [[sx(x), sy(s.ys[i]!)] as const]));
    svg.appendChild(el('polyline', { points: xy.map(([x, y]) => `${x},${y}`).join(' '), fill: 'none', stroke: palette[k % palette.length], 'stroke-width': 2, class: 'series', 'data-name': s.name }));
    // a marker on each point: a one-epoch run's single point is otherwise not painted at all
    for (const [x, y] of xy) svg.appendChild(el('circle', { cx: x, cy: y, r: 2.5, fill: palette[k % palette.length], class: 'point', 'data-name': s.name }));
    svg.appendChild(el('text', { x: W - R + 6, y: T + 12 + k * 14, 'font-size': 11, fill: palette[k % palette.length] }, s.name));
  });
  return svg;
}

function download(name: string, url: string): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

/** Saves an SVG element as an .svg file. */
export function exportSvg(svg: SVGSVGElement, name: string): void {
  const text = new XMLSerializer().serializeToString(svg);
  download(`${name}.svg`, URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' })));
}

/** Renders an SVG element onto a canvas and saves it as a .png file. */
export function exportPng(svg: SVGSVGElement, name: string): Promise<void> {
  const text = new XMLSerializer().serializeToString(svg);
  const img = new Image();
  const w = Number(svg.getAttribute('width')), h = Number(svg.getAttribute('height'));
  return new Promise((resolve, reject) => {
    img.onload = () => {
      const c = document.createElement('canvas');
      c.width = w; c.height = h;
      c.getContext('2d')!.drawImage(img, 0, 0);
      download(`${name}.png`, c.toDataURL('image/png'));
      resolve();
    };
    img.onerror = () => reject(new Error('could not render the SVG'));
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(text)}`;
  });
}
