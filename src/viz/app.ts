/**
 * The attention viewer page. It fetches the run's report (`run/report.json`) and renders:
 * sample, layer and head pickers; the head's heatmap with token labels; a head view (lines
 * between tokens); rollout and gradient × attention per token; the diagnostics table with
 * head redundancy; entropy over training; gate values; training curves; test metrics.
 * Every figure exports as SVG or PNG. No network but the local server; no engine code.
 */
import type { Report } from './report.js';
import { bars, exportPng, exportSvg, headView, heatmap, lines } from './svg.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

interface State { sample: number; layer: number; head: number | 'mean' }

function h(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

/** A titled panel whose figure can be exported. */
function panel(id: string, title: string, figure: SVGSVGElement | HTMLElement, note?: string): HTMLElement {
  const box = h('section', { class: 'panel', id });
  const head = h('div', { class: 'panel-head' }, h('h2', {}, title));
  if (figure instanceof SVGSVGElement) {
    const svgBtn = h('button', { class: 'export-svg', type: 'button' }, 'SVG');
    const pngBtn = h('button', { class: 'export-png', type: 'button' }, 'PNG');
    svgBtn.onclick = () => exportSvg(figure, id);
    pngBtn.onclick = () => { void exportPng(figure, id); };
    head.append(svgBtn, pngBtn);
  }
  box.append(head);
  if (note) box.append(h('p', { class: 'note' }, note));
  box.append(h('div', { class: 'figure' }, figure));
  return box;
}

function meanHeads(layer: number[][][]): number[][] {
  const H = layer.length;
  return layer[0].map((row, i) => row.map((_, j) => layer.reduce((s, hd) => s + hd[i][j], 0) / H));
}

function table(headers: string[], rows: (string | number)[][], cls = ''): HTMLElement {
  const t = h('table', { class: cls });
  t.append(h('tr', {}, ...headers.map((x) => h('th', {}, x))));
  for (const r of rows) t.append(h('tr', {}, ...r.map((x) => h('td', {}, typeof x === 'number' ? x.toFixed(3) : x))));
  return t;
}

function render(report: Report, st: State): void {
  const main = $('main');
  main.replaceChildren();
  const s = report.samples[st.sample];
  if (s) {
    const labels = s.tokens.map((t) => t.label);
    const layer = s.layers[st.layer];
    const m = st.head === 'mean' ? meanHeads(layer) : layer[st.head];
    const which = `layer ${st.layer + 1}, ${st.head === 'mean' ? 'mean of heads' : `head ${st.head + 1}`}`;
    main.append(h('p', { class: 'sample-info' }, `row ${s.row} · ${s.tokens.length} tokens · target ${s.target} · prediction ${s.prediction}`));
    const top = Math.max(1e-9, ...m.flat());
    main.append(panel('heatmap', `Attention weights (${which}): rows attend to columns`, heatmap(m, labels, labels, { id: 'heatmap-svg', max: top }), `colour scale: white 0 → blue ${top.toFixed(3)} (the largest weight shown)`));
    main.append(panel('headview', `Head view (${which}): lines from each token to the tokens it attends to`, headView(m, labels)));
    main.append(panel('rollout', 'Attention rollout: what flows into [CLS] through all layers', bars(s.rollout, labels)));
    main.append(panel('gradattn', 'Gradient × attention for [CLS] (mean over layers)', bars(s.gradAttention, labels)));
    main.append(panel('fields', 'Attribution by field: rollout of [CLS], summed over each field\'s tokens', bars(s.fields.map((f) => f.rollout), s.fields.map((f) => f.field))));
  } else if (report.note) {
    main.append(h('p', { class: 'note' }, report.note));
  }
  if (report.diagnostics) {
    const rows = report.diagnostics.flatMap((l, li) => l.heads.map((hd, hi) => [`${li + 1}`, `${hi + 1}`, hd.entropy, hd.normEntropy, hd.maxWeight, hd.support, hd.distance]));
    main.append(panel('diagnostics', 'Diagnostics per layer and head (probe rows)', table(['layer', 'head', 'entropy', 'norm. entropy', 'max weight', 'support', 'distance'], rows, 'diag')));
    const red = report.diagnostics[st.layer]?.redundancy;
    if (red) {
      const names = red.map((_, i) => `head ${i + 1}`);
      main.append(panel('redundancy', `Head redundancy, layer ${st.layer + 1} (1 − JSD: 1 = identical heads)`, heatmap(red, names, names, { cell: 28 })));
    }
  }
  if (report.entropyHistory.length) {
    const eh = report.entropyHistory;
    const series = eh[0].entropy.flatMap((heads, l) => heads.map((_, hd) => ({ name: `L${l + 1} H${hd + 1}`, xs: eh.map((p) => p.epoch), ys: eh.map((p) => p.entropy[l]?.[hd] ?? null) })));
    main.append(panel('entropy', 'Normalised attention entropy over training (1 = uniform, 0 = one token)', lines(series, { yLabel: 'entropy' })));
  }
  const gates = Object.entries(report.gates);
  if (gates.length) {
    main.append(panel('gates', 'Gate values of composite modules', table(['module', 'branch', 'gate'], gates.flatMap(([path, g]) => g.names.map((n, i) => [path, n, g.values[i]])))));
  }
  if (report.history.length) {
    const xs = report.history.map((r) => r.epoch);
    main.append(panel('training', 'Training curves', lines([
      { name: 'train loss', xs, ys: report.history.map((r) => r.trainLoss) },
      { name: 'valid loss', xs, ys: report.history.map((r) => r.validLoss) },
    ])));
  }
  if (report.metrics) {
    main.append(panel('metrics', 'Test metrics', table(['target', 'metric', 'value'], Object.entries(report.metrics).flatMap(([t, m]) => Object.entries(m).map(([k, v]) => [t, k, v])))));
  }
}

function controls(report: Report, st: State, rerender: () => void): void {
  const nav = $('controls');
  nav.replaceChildren();
  if (!report.samples.length) return;
  const sample = h('select', { id: 'sample' }) as HTMLSelectElement;
  report.samples.forEach((s, i) => sample.append(h('option', { value: String(i) }, `row ${s.row}: ${s.target} → ${s.prediction}`)));
  sample.value = String(st.sample);
  sample.onchange = () => { st.sample = Number(sample.value); rerender(); };
  const layer = h('select', { id: 'layer' }) as HTMLSelectElement;
  report.samples[0].layers.forEach((_, i) => layer.append(h('option', { value: String(i) }, `layer ${i + 1}`)));
  layer.value = String(st.layer);
  layer.onchange = () => { st.layer = Number(layer.value); rerender(); };
  const heads = h('span', { id: 'heads' });
  const H = report.samples[0].layers[0].length;
  const choices: (number | 'mean')[] = [...Array.from({ length: H }, (_, i) => i), 'mean'];
  for (const c of choices) {
    const b = h('button', { type: 'button', class: `head-btn${st.head === c ? ' active' : ''}`, 'data-head': String(c) }, c === 'mean' ? 'mean' : `head ${c + 1}`);
    b.onclick = () => { st.head = c; rerender(); };
    heads.append(b);
  }
  nav.append(h('label', {}, 'sample ', sample), h('label', {}, 'layer ', layer), heads);
}

async function start(): Promise<void> {
  const res = await fetch('run/report.json');
  if (!res.ok) { $('main').textContent = `could not load the report: HTTP ${res.status}`; return; }
  const report = (await res.json()) as Report;
  document.title = `attnkit · ${report.title}`;
  $('title').textContent = report.title;
  $('subtitle').textContent = `${report.model.type}${report.model.strategy ? ` (${report.model.strategy})` : ''} · ${report.model.layers} layers × ${report.model.heads} heads · ${report.model.parameters.toLocaleString('en-US')} parameters · report of ${report.createdAt}`;
  const st: State = { sample: 0, layer: 0, head: 0 };
  const rerender = (): void => { controls(report, st, rerender); render(report, st); document.body.dataset.ready = 'true'; };
  rerender();
}

void start();
