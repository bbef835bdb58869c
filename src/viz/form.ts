/**
 * The record form, generated from the run's schema: numbers as inputs, categories as selects
 * (the fitted categories), text as text areas, key–value pairs as "Key: value" lines, and time
 * series and images shown as they are. Every edit calls `onChange(field, value)` with the value
 * a record holds (an empty input is a missing value).
 */
import { colour, el } from './svg.js';
import { h } from './views.js';

type FieldSpec = { name: string; kind: string; source?: string; height?: number; width?: number; channels?: number };
type Schema = { fields: readonly FieldSpec[] };

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

function image(xs: number[], f: FieldSpec): HTMLCanvasElement {
  const Hh = f.height ?? Math.round(Math.sqrt(xs.length)), W = f.width ?? Hh, C = f.channels ?? 1;
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

/** The form for `record` under `schema` (categories from the fitted `state`). */
export function recordForm(schema: Schema, state: { fields: Record<string, unknown> }, record: Record<string, unknown>, onChange: (field: string, value: unknown) => void): HTMLElement {
  const form = h('form', { class: 'record-form', id: 'record-form' });
  form.onsubmit = (e) => e.preventDefault();
  for (const f of schema.fields) {
    const v = record[f.name];
    const id = `field-${f.name.replace(/[^\w-]/g, '_')}`;
    let input: HTMLElement;
    switch (f.kind) {
      case 'numeric': {
        const i = h('input', { id, type: 'text', inputmode: 'decimal', 'data-field': f.name, value: v === null || v === undefined ? '' : String(v) }) as HTMLInputElement;
        i.oninput = () => {
          const s = i.value.trim();
          onChange(f.name, s === '' ? null : Number.isFinite(Number(s)) ? Number(s) : s);
        };
        input = i;
        break;
      }
      case 'categorical': {
        const cats = (state.fields[f.name] as { categories?: string[] } | null)?.categories ?? [];
        const cur = v === null || v === undefined ? '' : String(v);
        const s = h('select', { id, 'data-field': f.name }, h('option', { value: '' }, '(missing)'), ...cats.map((c) => h('option', { value: c }, c)),
          ...(cur && !cats.includes(cur) ? [h('option', { value: cur }, `${cur} (unknown to the model)`)] : [])) as HTMLSelectElement;
        s.value = cur;
        s.onchange = () => onChange(f.name, s.value === '' ? null : s.value);
        input = s;
        break;
      }
      case 'text':
      case 'keyValue': {
        const t = h('textarea', { id, 'data-field': f.name, rows: f.kind === 'text' ? '3' : '4' }) as HTMLTextAreaElement;
        t.value = f.kind === 'text' ? (v === null || v === undefined ? '' : String(v)) : pairsText(v);
        t.oninput = () => onChange(f.name, t.value === '' ? null : t.value);
        input = t;
        break;
      }
      default: {
        const xs = numbers(v);
        input = h('div', { id, 'data-field': f.name, class: 'as-is' }, xs && xs.length ? (f.kind === 'image' ? image(xs, f) : sparkline(xs)) : 'missing',
          xs ? h('span', { class: 'note' }, ` ${xs.length} values (shown as they are)`) : '');
      }
    }
    form.append(h('label', { class: `field field-${f.kind}`, for: id }, h('span', { class: 'field-name', title: `${f.kind}${f.source ? `, source ${f.source}` : ''}` }, f.name), input));
  }
  return form;
}
