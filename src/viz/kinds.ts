/**
 * What the viewer does with each field kind, one entry per kind (the mapped type makes the
 * compiler ask a new kind for its entry, as src/data/fields does for the engine): the form's
 * editor for a value, the words its tokens stand for (shown instead of `<unk>`), and whether its
 * value summarises a record in the row picker.
 */
import * as ak from 'attnkit/browser';
import { colour, el } from './svg.js';
import { h } from './views.js';

type Spec<K extends ak.data.FieldKind> = Extract<ak.data.FieldSpec, { kind: K }>;

export interface KindUi<K extends ak.data.FieldKind> {
  /** The form's input for a value; `onChange` gets the value a record holds (null: missing). */
  editor(spec: Spec<K>, value: unknown, state: unknown, id: string, onChange: (value: unknown) => void): HTMLElement;
  /** One word per token the encoder makes of `raw` (the order the model's tokens come), or null where tokens are not words. */
  words(spec: Spec<K>, raw: unknown): string[] | null;
  /** Whether a value of this kind (free text) summarises a record in the row picker. */
  summary: boolean;
}

function pairsText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((p) => (Array.isArray(p) ? `${String(p[0])}: ${String(p[1] ?? '')}` : '')).join('\n');
  if (v && typeof v === 'object') return Object.entries(v).map(([k, x]) => `${k}: ${typeof x === 'object' ? JSON.stringify(x) : String(x ?? '')}`).join('\n');
  return '';
}

function numbers(v: unknown): number[] | null {
  if (Array.isArray(v)) return v.map(Number);
  if (typeof v === 'string') {
    const xs = v.split(/[\s,;]+/).filter((x) => x !== '').map(Number);
    return xs.every(Number.isFinite) ? xs : null;
  }
  return null;
}

function sparkline(xs: number[]): SVGSVGElement {
  const W = 360, H = 60;
  const lo = Math.min(...xs), hi = Math.max(...xs);
  const svg = el('svg', { width: W, height: H, class: 'spark' });
  const pts = xs.map((x, i) => `${(i / Math.max(1, xs.length - 1)) * (W - 4) + 2},${H - 2 - ((x - lo) / Math.max(1e-9, hi - lo)) * (H - 4)}`);
  svg.appendChild(el('polyline', { points: pts.join(' '), fill: 'none', stroke: '#1f4e9c', 'stroke-width': 1.5 }));
  return svg;
}

function image(xs: number[], f: { height: number; width: number; channels?: number }): HTMLCanvasElement {
  const Hh = f.height, W = f.width, C = f.channels ?? 1;
  const c = document.createElement('canvas');
  c.width = W; c.height = Hh;
  c.style.width = `${W * Math.max(1, Math.floor(112 / W))}px`;
  c.style.imageRendering = 'pixelated';
  const ctx = c.getContext('2d')!;
  const lo = Math.min(...xs), hi = Math.max(...xs);
  for (let y = 0; y < Hh; y++) for (let x = 0; x < W; x++) {
    const v = (xs[(y * W + x) * C] - lo) / Math.max(1e-9, hi - lo);
    ctx.fillStyle = colour(v);
    ctx.fillRect(x, y, 1, 1);
  }
  return c;
}


const textBox = (id: string, name: string, rows: number, text: string, onChange: (value: unknown) => void): HTMLElement => {
  const t = h('textarea', { id, 'data-field': name, rows: String(rows) }) as HTMLTextAreaElement;
  t.value = text;
  t.oninput = () => onChange(t.value === '' ? null : t.value);
  return t;
};

/** Series and images are shown as they are (not edited). */
function asIs(id: string, name: string, value: unknown, draw: (xs: number[]) => Element): HTMLElement {
  const xs = numbers(value);
  return h('div', { id, 'data-field': name, class: 'as-is' }, xs && xs.length ? draw(xs) : 'missing', xs ? h('span', { class: 'note' }, ` ${xs.length} values (shown as they are)`) : '');
}

export const KIND_UI: { [K in ak.data.FieldKind]: KindUi<K> } = {
  numeric: {
    editor: (f, v, _s, id, onChange) => {
      const i = h('input', { id, type: 'text', inputmode: 'decimal', 'data-field': f.name, value: v === null || v === undefined ? '' : String(v) }) as HTMLInputElement;
      i.oninput = () => {
        const s = i.value.trim();
        onChange(s === '' ? null : Number.isFinite(Number(s)) ? Number(s) : s);
      };
      return i;
    },
    words: () => null,
    summary: false,
  },
  categorical: {
    editor: (f, v, state, id, onChange) => {
      const cats = (state as ak.data.CategoricalState | null)?.categories ?? [];
      const cur = v === null || v === undefined ? '' : String(v);
      const s = h('select', { id, 'data-field': f.name }, h('option', { value: '' }, '(missing)'), ...cats.map((c) => h('option', { value: c }, c)),
        ...(cur && !cats.includes(cur) ? [h('option', { value: cur }, `${cur} (unknown to the model)`)] : [])) as HTMLSelectElement;
      s.value = cur;
      s.onchange = () => onChange(s.value === '' ? null : s.value);
      return s;
    },
    words: () => null,
    summary: false,
  },
  text: {
    editor: (f, v, _s, id, onChange) => textBox(id, f.name, 3, v === null || v === undefined ? '' : String(v), onChange),
    // as TextFieldEncoder: the tokenizer's words, at most maxLength (128)
    words: (f, raw) => (typeof raw === 'string' ? ak.data.tokenize(raw, f.tokenizer ?? 'word', f.lowercase ?? true).slice(0, f.maxLength ?? 128) : null),
    summary: true,
  },
  keyValue: {
    editor: (f, v, _s, id, onChange) => textBox(id, f.name, 4, pairsText(v), onChange),
    // as KeyValueEncoder: at most maxPairs pairs (32), each a key marker and maxValueTokens words (8)
    words: (f, raw) => {
      if (raw === null || raw === undefined) return null;
      try {
        return ak.data.parsePairs(raw, f.name).slice(0, f.maxPairs ?? 32).flatMap(([k, val]) => [`${k.toLowerCase()}:`, ...ak.data.tokenize(val).slice(0, f.maxValueTokens ?? 8)]);
      } catch {
        return null;   // a value the encoder refuses keeps its vocabulary labels
      }
    },
    summary: false,
  },
  timeSeries: { editor: (f, v, _s, id) => asIs(id, f.name, v, sparkline), words: () => null, summary: false },
  image: { editor: (f, v, _s, id) => asIs(id, f.name, v, (xs) => image(xs, f)), words: () => null, summary: false },
};

/** The entry of a field's kind, typed for that field. */
export function kindUi(f: ak.data.FieldSpec): KindUi<ak.data.FieldKind> {
  return KIND_UI[f.kind] as unknown as KindUi<ak.data.FieldKind>;
}
