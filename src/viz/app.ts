/**
 * The live attention viewer. The page loads each run it is given (runs.json: one, or two side
 * by side) into the attnkit core running in the page (engine.ts, on the wasm backend), and:
 * - a row picker over the test split (search, class and correct/incorrect filters, the
 *   misclassified first) and a record form generated from the schema; every edit re-runs the
 *   model and every view, with the time it took in the footer;
 * - per run: the prediction (as `attnkit predict` gives it), the model view (layers × heads),
 *   the head view (hover, overlaid heads, strongest links), the heatmap, the neuron view,
 *   rollout, attention flow, gradient × attention, attribution per field and source, head
 *   redundancy with numbers;
 * - over the test split: attribution per field and source, entropy per layer × head, and a
 *   confusion matrix whose cells filter the row picker; the run's training curves and metrics.
 * No network but the server (or static folder) it came from.
 */
import { SPLIT_NAMES, type Report } from './report.js';
import { lines } from './svg.js';
import { Column, panel } from './column.js';
import { attentionFlow, bars, h, headView, heatCanvas, HEAD_COLOURS, modelView, neuronView, numberGrid, type LinkFilter } from './views.js';
import { pickerPage, recordMatches } from './search.js';
import { backendInfo, loadRun, loadSummary, measured, type Analysis, type DatasetSummary, type PageRun } from './engine.js';
import { recordForm } from './form.js';
import { kindUi } from './kinds.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
type DataRecord = Record<string, unknown>;

interface State {
  runs: PageRun[];
  reports: (Report | null)[];
  /** The test split's summary per run, computed by the CLI (dataset.json). */
  stats: DatasetSummary[];
  /** Runs shown (indices into runs). */
  visible: number[];
  /** Index into the first run's test records, or null once the record was edited by hand. */
  row: number;
  record: DataRecord;
  edited: boolean;
  layer: number; head: number; overlay: number[]; filter: LinkFilter;
  /** Until the user picks a link filter: all links for short inputs, each token's 3 strongest for long ones. */
  filterAuto: boolean;
  /** The query–key pair of the neuron view (positions among the real tokens). */
  q: number; k: number;
  search: string; cls: string; correct: 'all' | 'correct' | 'wrong';
  /** The picker's page (the filters reset it to the first). */
  page: number;
  /** Rows chosen by a confusion-matrix cell: [true, predicted]. */
  cell: [number, number] | null;
}

function table(headers: string[], rows: (string | number)[][], cls = ''): HTMLElement {
  const t = h('table', { class: cls });
  t.append(h('tr', {}, ...headers.map((x) => h('th', {}, x))));
  for (const r of rows) t.append(h('tr', {}, ...r.map((x) => h('td', {}, typeof x === 'number' ? x.toFixed(3) : x))));
  return t;
}

/** The name of the split a run's records are of: 'test' unless the run had no test rows. */
const splitName = (run: PageRun): string => SPLIT_NAMES[run.data.split ?? 'test'];
const truthOf = (run: PageRun, i: number): number => run.data.truth[run.target.name]?.[i] ?? Number.NaN;

/** A record's one-line summary for the picker: its first text field, clipped. */
function snippet(run: PageRun, rec: DataRecord): string {
  const f = run.state.schema.fields.find((x) => kindUi(x).summary && typeof rec[x.name] === 'string');
  const s = f ? String(rec[f.name]) : JSON.stringify(rec);
  return s.length > 70 ? `${s.slice(0, 69)}…` : s;
}

function renderPicker(st: State, choose: (i: number) => void): void {
  const run = st.runs[0], stats = st.stats[0];
  const box = $('picker');
  box.replaceChildren();
  const search = h('input', { id: 'search', type: 'search', placeholder: 'search rows…', value: st.search }) as HTMLInputElement;
  const cls = h('select', { id: 'filter-class' }, h('option', { value: '' }, 'every class'), ...run.classNames.map((c, i) => h('option', { value: String(i) }, `true: ${c}`))) as HTMLSelectElement;
  cls.value = st.cls;
  const correct = h('select', { id: 'filter-correct' }, h('option', { value: 'all' }, 'correct and wrong'), h('option', { value: 'wrong' }, 'misclassified'), h('option', { value: 'correct' }, 'correct')) as HTMLSelectElement;
  correct.value = st.correct;
  const list = h('ol', { id: 'rows' });
  const fill = (): void => {
    list.replaceChildren();
    const q = st.search.toLowerCase();
    const inputs = run.state.schema.fields.map((f) => f.name);
    const idx = run.data.records.map((_, i) => i).filter((i) => {
      const t = truthOf(run, i), p = stats.predicted[i];
      if (st.cls !== '' && t !== Number(st.cls)) return false;
      if (st.correct !== 'all' && (p === undefined || (p === t) !== (st.correct === 'correct'))) return false;
      if (st.cell && (t !== st.cell[0] || p !== st.cell[1])) return false;
      return recordMatches(run.data.records[i], inputs, q);
    });
    // the misclassified first (the CLI predicted the split: dataset.json), then in test-split order
    idx.sort((a, b) => Number(stats.predicted[a] === truthOf(run, a)) - Number(stats.predicted[b] === truthOf(run, b)) || a - b);
    const pg = pickerPage(idx, st.page);
    st.page = pg.page;
    for (const i of pg.rows) {
      const t = truthOf(run, i), p = stats.predicted[i];
      const wrong = p !== undefined && p !== t;
      const li = h('li', { class: `row-item${wrong ? ' wrong' : ''}${i === st.row && !st.edited ? ' active' : ''}`, 'data-i': String(i), title: snippet(run, run.data.records[i]) },
        h('span', { class: 'row-id' }, `#${run.data.rows[i]}`), ' ',
        h('span', { class: 'row-cls' }, `${run.target.task === 'regression' ? t.toPrecision(4) : run.className(t)}${p === undefined ? '' : ` → ${run.target.task === 'regression' ? p.toPrecision(4) : run.className(p)}`}`),
        h('div', { class: 'row-text' }, snippet(run, run.data.records[i])));
      li.onclick = () => choose(i);
      list.append(li);
    }
    $('picker-count').textContent = `${idx.length} of ${run.data.records.length} ${splitName(run)} rows${pg.pages > 1 ? ` (${pg.from + 1}–${pg.from + pg.rows.length} listed)` : ''}`;
    const nav = $('picker-pages');
    nav.replaceChildren();
    if (pg.pages > 1) {
      const go = (to: number, label: string, id: string): HTMLButtonElement => {
        const b = h('button', { type: 'button', id }, label) as HTMLButtonElement;
        b.disabled = to < 0 || to >= pg.pages;
        b.onclick = () => { st.page = to; fill(); };
        return b;
      };
      nav.append(go(0, 'first', 'page-first'), go(pg.page - 1, '◀', 'page-prev'), h('span', { class: 'page-of' }, ` page ${pg.page + 1} of ${pg.pages} `), go(pg.page + 1, '▶', 'page-next'), go(pg.pages - 1, 'last', 'page-last'));
    }
  };
  search.oninput = () => { st.search = search.value; st.page = 0; fill(); };
  cls.onchange = () => { st.cls = cls.value; st.page = 0; fill(); };
  correct.onchange = () => { st.correct = correct.value as State['correct']; st.page = 0; fill(); };
  const clear = h('button', { type: 'button', id: 'clear-cell' }, 'clear cell filter');
  clear.onclick = () => { st.cell = null; st.page = 0; renderPicker(st, choose); };
  box.append(search, cls, correct, ...(st.cell ? [h('div', { class: 'note' }, `confusion cell: true ${run.className(st.cell[0])}, predicted ${run.className(st.cell[1])} `, clear)] : []), h('div', { id: 'picker-count', class: 'note' }), h('div', { id: 'picker-pages', class: 'note' }), list);
  fill();
}

function predictionBox(run: PageRun, a: Analysis, truth: number | null): HTMLElement {
  const p = a.prediction;
  const t = truth === null || Number.isNaN(truth) ? null : truth;
  const ok = t !== null && run.target.task !== 'regression' ? p.index === t : null;
  return h('div', { class: `prediction${ok === false ? ' wrong' : ''}` },
    h('span', { class: 'pred-label' }, `${run.target.name}: `),
    h('strong', { class: 'pred-class', 'data-index': String(p.index) }, p.name),
    p.confidence === null ? '' : ` (p = ${p.confidence.toFixed(4)})`,
    t === null ? ' · edited record' : ` · true: ${run.target.task === 'regression' ? t.toPrecision(5) : run.className(t)}`,
    h('code', { class: 'pred-json', title: 'what attnkit predict prints for this record' }, JSON.stringify(p.record)));
}

/**
 * Run k's views of analysis `a` into its column: the prediction at once, each panel when it is on
 * screen (Column). `redraw` draws the views again from the same analysis (a control changed: the
 * model does not run again).
 */
function drawRun(st: State, col: Column, k: number, a: Analysis, redraw: () => void): void {
  const run = st.runs[k];
  const n = a.tokens.length;
  const labels = a.tokens.map((t) => t.label), full = a.tokens.map((t) => t.full);
  const layer = Math.min(st.layer, run.layers - 1), head = Math.min(st.head, (a.weights[layer]?.length ?? run.heads) - 1);   // composite layers may differ in heads
  const pred = predictionBox(run, a, st.edited ? null : truthOf(run, st.row));
  const old = col.el.querySelector('.prediction');
  if (old) old.replaceWith(pred);
  else {
    col.append(h('h2', { class: 'run-title' }, `${run.title} · ${run.description} · ${run.model.numParameters().toLocaleString('en-US')} parameters`));
    col.append(pred);
    if (!run.fusion) col.append(h('p', { class: 'note no-maps' }, `This model has no token-to-token attention maps (they come from early fusion with Transformer layers or attention blocks), so the attention views are left out. Its prediction, the ${splitName(run)} split's confusion matrix, training curves and metrics are shown.`));
  }
  if (!run.fusion) return;
  col.schedule('modelview', (prev) => ({ title: 'Model view: every layer × head (click one to open it)', figure: modelView(a.weights, n, (l, hd) => { st.layer = l; st.head = hd; st.overlay = [hd]; redraw(); }, { layer, head }, prev) }));
  col.schedule('headview', () => {
    // overlaid heads in colour, a strongest-links filter
    const ctl = h('div', { class: 'hv-controls' });
    for (let hd = 0; hd < run.heads; hd++) {
      const cb = h('input', { type: 'checkbox', class: 'hv-head', 'data-head': String(hd), ...(st.overlay.includes(hd) ? { checked: '' } : {}) }) as HTMLInputElement;
      cb.onchange = () => { st.overlay = cb.checked ? [...st.overlay, hd].sort() : st.overlay.filter((x) => x !== hd); redraw(); };
      ctl.append(h('label', { style: `color:${HEAD_COLOURS[hd % HEAD_COLOURS.length]}` }, cb, ` head ${hd + 1} `));
    }
    const filt = h('select', { class: 'hv-filter' }, h('option', { value: 'all' }, 'all links ≥ 0.01'), ...[1, 2, 3, 5].map((x) => h('option', { value: String(x) }, `strongest ${x} per token`))) as HTMLSelectElement;
    const filter: LinkFilter = st.filterAuto && n > 40 ? { kind: 'top', k: 3 } : st.filter;
    filt.value = filter.kind === 'all' ? 'all' : String(filter.k);
    filt.onchange = () => { st.filter = filt.value === 'all' ? { kind: 'all' } : { kind: 'top', k: Number(filt.value) }; st.filterAuto = false; redraw(); };
    ctl.append(filt);
    return {
      title: `Head view, layer ${layer + 1}: hover a token to highlight its links; click a link for the neuron view`, controls: ctl,
      figure: headView(a.weights[layer], st.overlay.filter((x) => x < run.heads), n, labels, full, filter, (q, kk) => { st.q = q; st.k = kk; redraw(); }),
    };
  });
  col.schedule('heatmap', () => {
    const tip = h('div', { class: 'tip' }, 'hover a cell');
    return { title: `Attention weights, layer ${layer + 1} head ${head + 1}: rows attend to columns`, figure: h('div', {}, heatCanvas(a.weights[layer][head], n, Math.min(640, Math.max(160, n * 6)), { labels: full, tip }), tip) };
  });
  col.schedule('neuron', () => {
    const q = Math.min(st.q, n - 1), kk = Math.min(st.k, n - 1);
    const qSel = h('select', { class: 'nv-q' }, ...labels.map((l, i) => h('option', { value: String(i), title: full[i] }, `${i}: ${l}`))) as HTMLSelectElement;
    const kSel = h('select', { class: 'nv-k' }, ...labels.map((l, i) => h('option', { value: String(i), title: full[i] }, `${i}: ${l}`))) as HTMLSelectElement;
    qSel.value = String(q); kSel.value = String(kk);
    qSel.onchange = () => { st.q = Number(qSel.value); redraw(); };
    kSel.onchange = () => { st.k = Number(kSel.value); redraw(); };
    const nv = run.neuron(a, layer, q, kk);
    return {
      title: `Neuron view, layer ${layer + 1}: query ${labels[q]} → key ${labels[kk]}`, controls: h('div', { class: 'nv-controls' }, 'query ', qSel, ' key ', kSel),
      note: nv.heads.length ? 'blue positive, red negative; the softmax row is the head\'s attention from the query to every key (the picked key outlined)' : 'this layer\'s attention is not softmax multi-head attention (sparse or linear), so it has no query–key softmax to show',
      figure: neuronView(nv, kk, full),
    };
  });
  const cls = Array.from(a.rollout);
  col.schedule('rollout', () => ({ title: 'Attention rollout: what flows into [CLS] through all layers (30 largest)', figure: bars(cls, labels, full, { top: 30 }) }));
  col.schedule('flow', () => {
    const flow = measured('model: attention flow', () => attentionFlow(a.weights, n, cls));
    const idx = flow.map((v, i) => (Number.isNaN(v) ? -1 : i)).filter((i) => i > 0);
    return {
      title: 'Attention flow: maximum flow from each token to [CLS] (30 largest)', note: n > 32 ? `computed over the 32 tokens with the largest rollout (of ${n})` : undefined,
      figure: bars(idx.map((i) => flow[i]), idx.map((i) => labels[i]), idx.map((i) => full[i]), { top: 30 }),
    };
  });
  col.schedule('gradattn', () => {
    const g = a.gradAttention();
    const ga = Array.from({ length: n }, (_, j) => g.reduce((s, m) => s + m[j], 0) / g.length);
    return { title: 'Gradient × attention for [CLS], mean over layers (30 largest)', figure: bars(ga, labels, full, { top: 30 }) };
  });
  col.schedule('fields', () => ({ title: 'Attribution by field and source: rollout of [CLS] (this record)', figure: bars([...a.fields.map((f) => f.rollout), ...a.sources.map((s) => s.rollout)], [...a.fields.map((f) => f.name), ...a.sources.map((s) => `source ${s.name}`)]) }));
  const names = Array.from({ length: run.heads }, (_, i) => `H${i + 1}`);
  col.schedule('redundancy', () => ({ title: `Head redundancy, layer ${layer + 1} (1 − JSD of the heads' rows: 1 = identical)`, figure: numberGrid(run.redundancy(a, layer), names, names, { max: 1, id: 'redundancy-grid' }) }));
}

function datasetColumn(st: State, k: number, choose: (cell: [number, number]) => void): HTMLElement {
  const run = st.runs[k], s = st.stats[k];
  const col = h('div', { class: 'run-col', 'data-run': String(k) });
  col.append(h('h2', { class: 'run-title' }, `${run.title}: the ${run.data.records.length} ${splitName(run)} rows`));
  if (s.fields && s.sources) {
    col.append(panel('ds-fields', `Attribution per field, mean over the ${splitName(run)} split (rollout of [CLS])`, bars(s.fields.map((f) => f.rollout), s.fields.map((f) => f.name))));
    col.append(panel('ds-sources', `Attribution per source, mean over the ${splitName(run)} split`, bars(s.sources.map((f) => f.rollout), s.sources.map((f) => f.name))));
    col.append(panel('ds-gradattn', `Gradient × attention per field, mean over the ${splitName(run)} split`, bars(s.fields.map((f) => f.gradAttention), s.fields.map((f) => f.name))));
  }
  if (s.entropy) {
    col.append(panel('ds-entropy', `Normalised entropy per layer × head over the ${splitName(run)} split (1 = uniform, 0 = one token)`,
      numberGrid(s.entropy, s.entropy.map((_, l) => `layer ${l + 1}`), s.entropy[0].map((_, hd) => `H${hd + 1}`), { max: 1, id: 'entropy-grid' })));
  }
  if (run.target.task !== 'regression') {
    const K = run.classNames.length || 2;
    const cm = Array.from({ length: K }, () => new Array<number>(K).fill(0));
    s.predicted.forEach((p, i) => { const t = truthOf(run, i); if (t >= 0 && t < K) cm[t][p]++; });
    const correct = cm.reduce((acc, r, i) => acc + r[i], 0);
    const t = h('table', { class: 'confusion' });
    t.append(h('tr', {}, h('th', {}, 'true ↓ predicted →'), ...run.classNames.map((c) => h('th', {}, c))));
    cm.forEach((r, i) => {
      const tr = h('tr', {}, h('th', {}, run.classNames[i] ?? String(i)));
      r.forEach((v, j) => {
        const td = h('td', { class: `cm-cell${i === j ? ' diag' : ''}`, 'data-true': String(i), 'data-pred': String(j), title: 'click: list these rows' }, String(v));
        td.onclick = () => choose([i, j]);
        tr.append(td);
      });
      t.append(tr);
    });
    col.append(panel('confusion', `Confusion matrix (accuracy ${(correct / Math.max(1, s.predicted.length)).toFixed(4)}); click a cell to list its rows`, t));
  }
  const rep = st.reports[k];
  if (rep?.history.length) {
    const xs = rep.history.map((r) => r.epoch);
    col.append(panel('training', 'Training curves', lines([
      { name: 'train loss', xs, ys: rep.history.map((r) => r.trainLoss) },
      { name: 'valid loss', xs, ys: rep.history.map((r) => r.validLoss) },
    ])));
  }
  if (rep?.entropyHistory.length) {
    const eh = rep.entropyHistory;
    const series = eh[0].entropy.flatMap((heads, l) => heads.map((_, hd) => ({ name: `L${l + 1} H${hd + 1}`, xs: eh.map((p) => p.epoch), ys: eh.map((p) => p.entropy[l]?.[hd] ?? null) })));
    col.append(panel('entropy-history', 'Normalised attention entropy over training (probe rows; 1 = uniform)', lines(series, { yLabel: 'entropy' })));
  }
  const gates = Object.entries(rep?.gates ?? {});
  if (gates.length) col.append(panel('gates', 'Gate values of composite modules', table(['module', 'branch', 'gate'], gates.flatMap(([path, g]) => g.names.map((nm, i) => [path, nm, g.values[i]])))));
  if (rep?.metrics) col.append(panel('metrics', 'Test metrics (at training)', table(['target', 'metric', 'value'], Object.entries(rep.metrics).flatMap(([tn, m]) => Object.entries(m).map(([kk, v]) => [tn, kk, v])))));
  return col;
}

async function start(): Promise<void> {
  const res = await fetch('runs.json');
  if (!res.ok) { $('main').textContent = `could not load runs.json: HTTP ${res.status}`; return; }
  const { runs: list } = (await res.json()) as { runs: { id: string; title: string }[] };
  const runs = await Promise.all(list.map((r) => loadRun(r.id)));
  const stats = await Promise.all(list.map((r) => loadSummary(r.id)));
  const reports = await Promise.all(list.map((r) => fetch(`runs/${r.id}/report.json`).then((x) => (x.ok ? x.json() as Promise<Report> : null)).catch(() => null)));
  const st: State = {
    runs, reports, stats, visible: runs.map((_, i) => i), row: 0, record: { ...runs[0].data.records[0] }, edited: false,
    layer: 0, head: 0, overlay: [0], filter: { kind: 'all' }, filterAuto: true, q: 0, k: 0, search: '', cls: '', correct: 'all', page: 0, cell: null,
  };
  document.title = `attnkit · ${runs.map((r) => r.title).join(' vs ')}`;
  $('title').textContent = runs.map((r) => r.title).join('  vs  ');
  $('subtitle').textContent = `the model runs in this page on ${backendInfo()} · ${runs[0].data.records.length} ${splitName(runs[0])} rows`;

  // each run's column (lasting panels, drawn when on screen) and its analysis of the record shown
  let columns: Column[] = [], shown = '', analyses: Analysis[] = [];
  /** Draws the views of the current analyses (a control changed: the model does not run again). */
  const draw = (): void => {
    if (shown !== st.visible.join()) {
      for (const c of columns) c.dispose();
      columns = st.visible.map((k) => new Column({ class: 'run-col', 'data-run': String(k) }));
      $('views').replaceChildren(...columns.map((c) => c.el));
      shown = st.visible.join();
    }
    st.visible.forEach((k, i) => drawRun(st, columns[i], k, analyses[i], draw));
  };
  // edits that come while the model runs are coalesced into one update of the latest record
  let since: number | null = null;
  const analyseAll = (): void => {
    if (since !== null) return;
    since = performance.now();
    document.body.dataset.pending = 'true';
    setTimeout(() => {
      const t0 = since!, t1 = performance.now();
      analyses = st.visible.map((k) => st.runs[k].analyse(st.record));
      draw();
      since = null;
      const total = performance.now() - t1;
      const timing = $('timing');
      timing.dataset.ms = analyses.map((a) => a.ms.toFixed(1)).join(',');
      timing.dataset.total = total.toFixed(1);
      const say = (painted: number | null): void => {
        timing.textContent = `${st.visible.map((k, i) => `${st.runs[k].title}: model ${analyses[i].ms.toFixed(0)} ms`).join(' · ')} · with the views on screen ${total.toFixed(0)} ms${painted === null ? '' : ` · painted ${painted.toFixed(0)} ms after the edit`} · ${backendInfo()}`;
      };
      say(null);
      delete document.body.dataset.pending;
      document.body.dataset.ready = 'true';
      // the next frame is on screen: the whole latency of the edit, layout and paint included
      requestAnimationFrame(() => setTimeout(() => {
        const painted = performance.now() - t0;
        timing.dataset.painted = painted.toFixed(1);
        say(painted);
      }, 0));
    }, 0);
  };
  const renderForm = (): void => {
    const used = new Set(st.runs.flatMap((r) => [...r.usedFields]));
    $('record').replaceChildren(recordForm(st.runs[0].state.schema, st.runs[0].state, st.record, used, (name, value) => {
      st.record = { ...st.record, [name]: value };
      st.edited = true;
      analyseAll();
    }));
  };
  const choose = (i: number): void => {
    st.row = i; st.record = { ...runs[0].data.records[i] }; st.edited = false; st.q = 0; st.k = 0;
    renderForm(); renderPicker(st, choose); analyseAll();
  };
  const renderDataset = (): void => {
    $('dataset').replaceChildren(...st.visible.map((k) => datasetColumn(st, k, (cell) => { st.cell = cell; st.page = 0; renderPicker(st, choose); $('picker').scrollIntoView(); })));
  };
  const switcher = (): void => {
    const nav = $('runs');
    nav.replaceChildren();
    if (runs.length < 2) return;
    const opts: [string, number[]][] = [...runs.map((r, i): [string, number[]] => [r.title, [i]]), ['side by side', runs.map((_, i) => i)]];
    for (const [name, vis] of opts) {
      const b = h('button', { type: 'button', class: `run-btn${vis.join() === st.visible.join() ? ' active' : ''}`, 'data-runs': vis.join(',') }, name);
      b.onclick = () => { st.visible = vis; switcher(); analyseAll(); renderDataset(); };
      nav.append(b);
    }
  };
  switcher();
  renderPicker(st, choose);
  renderForm();
  analyseAll();
  renderDataset();
  $('ds-status').textContent = `computed by attnkit inspect over the ${st.runs.map(splitName).filter((x, i, a) => a.indexOf(x) === i).join(' and ')} split`;
  document.body.dataset.stats = 'true';
}

start().catch((e: unknown) => {
  $('views').textContent = `the viewer could not start: ${e instanceof Error ? e.message : String(e)}`;
  document.body.dataset.ready = 'error';
  throw e;
});
