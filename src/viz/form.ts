/**
 * The record form, generated from the run's schema: each field's editor comes from its kind's
 * entry in kinds.ts (numbers as inputs, categories as selects of the fitted categories, text as
 * text areas, key–value pairs as "Key: value" lines, time series and images shown as they are).
 * Every edit calls `onChange(field, value)` with the value a record holds (empty is missing).
 * Fields of the schema the model leaves out (its `sources` option) are marked.
 */
import type * as ak from 'attnkit/browser';
import { h } from './views.js';
import { kindUi } from './kinds.js';

/** The form for `record` under `schema` (categories from the fitted `state`). */
export function recordForm(schema: ak.data.Schema, state: ak.data.PreprocessorState, record: Record<string, unknown>, used: ReadonlySet<string>, onChange: (field: string, value: unknown) => void): HTMLElement {
  const form = h('form', { class: 'record-form', id: 'record-form' });
  form.onsubmit = (e) => e.preventDefault();
  for (const f of schema.fields) {
    const id = `field-${f.name.replace(/[^\w-]/g, '_')}`;
    const input = kindUi(f).editor(f, record[f.name], state.fields[f.name] ?? null, id, (v) => onChange(f.name, v));
    form.append(h('label', { class: `field field-${f.kind}`, for: id }, h('span', { class: 'field-name', title: `${f.kind}${f.source ? `, source ${f.source}` : ''}` }, f.name, used.has(f.name) ? '' : h('span', { class: 'note' }, ' (not used by this model)')), input));
  }
  return form;
}
