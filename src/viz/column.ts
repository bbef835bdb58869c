/**
 * A column of the viewer's panels that draws only what is on screen. Each panel is a lasting
 * element (observed, so its size and place stay while it is redrawn); `schedule` gives it its
 * drawing for the current record, which runs at once when the panel is on screen (or near it),
 * and otherwise when it scrolls into view — a panel out of sight costs nothing per edit, and
 * the numbers only its drawing needs (gradient × attention, the neuron view's layer inputs) are
 * computed then. A panel waiting for its drawing has the class `stale`.
 */
import { exportPng, exportSvg } from './svg.js';
import { measured } from './engine.js';
import { h } from './views.js';

/** What a panel shows: title, an optional note and controls above the figure. */
export interface PanelContent { title: string; figure: Node; note?: string; controls?: HTMLElement }

/** Fills `box` with a panel's head (SVG figures get export buttons), note, controls and figure. */
export function fillPanel(box: HTMLElement, c: PanelContent): void {
  const head = h('div', { class: 'panel-head' }, h('h2', {}, c.title));
  const fig = c.figure;
  if (fig instanceof SVGSVGElement) {
    const svgBtn = h('button', { class: 'export-svg', type: 'button' }, 'SVG');
    const pngBtn = h('button', { class: 'export-png', type: 'button' }, 'PNG');
    svgBtn.onclick = () => exportSvg(fig, box.id);
    pngBtn.onclick = () => { void exportPng(fig, box.id); };
    head.append(svgBtn, pngBtn);
  }
  box.replaceChildren(head, ...(c.note ? [h('p', { class: 'note' }, c.note)] : []), ...(c.controls ? [c.controls] : []), h('div', { class: 'figure' }, fig));
}

/** A titled panel drawn at once (the test split's panels, drawn once per page). */
export function panel(id: string, title: string, figure: Node, note?: string): HTMLElement {
  const box = h('section', { class: 'panel', id });
  fillPanel(box, { title, figure, note });
  return box;
}

export class Column {
  readonly el: HTMLElement;
  private readonly boxes = new Map<string, { box: HTMLElement; draw: ((prev: Node | null) => PanelContent) | null }>();
  private readonly onScreen = new Set<string>();
  private readonly observer: IntersectionObserver;

  constructor(attrs: Record<string, string>) {
    this.el = h('div', attrs);
    // a margin of a screen: a panel about to scroll into view is drawn before it shows
    this.observer = new IntersectionObserver((entries) => {
      for (const e of entries) {
        const id = (e.target as HTMLElement).id;
        if (e.isIntersecting) { this.onScreen.add(id); this.flush(id); } else this.onScreen.delete(id);
      }
    }, { rootMargin: '400px 0px' });
  }

  /** Appends a text element (title, prediction, note) before the panels that follow. */
  append(node: Node): void { this.el.append(node); }

  /** The panel `id`, created and appended on first use. */
  box(id: string): HTMLElement {
    let p = this.boxes.get(id);
    if (!p) {
      const box = h('section', { class: 'panel stale', id }, h('div', { class: 'panel-head' }, h('h2', {}, id)));
      p = { box, draw: null };
      this.boxes.set(id, p);
      this.el.append(box);
      this.observer.observe(box);
    }
    return p.box;
  }

  /**
   * Gives panel `id` its drawing: run now when the panel is on screen, else when it comes into
   * view. `draw` gets the figure it drew last time (or null), to reuse its elements.
   */
  schedule(id: string, draw: (prev: Node | null) => PanelContent): void {
    const p = this.boxes.get(id) ?? (this.box(id), this.boxes.get(id)!);
    p.draw = draw;
    if (this.onScreen.has(id)) this.flush(id);
    else p.box.classList.add('stale');
  }

  /** Draws every panel now, on screen or not (the screenshots; a test that reads them all). */
  drawAll(): void { for (const id of this.boxes.keys()) this.flush(id); }

  private flush(id: string): void {
    const p = this.boxes.get(id);
    if (!p?.draw) return;
    const draw = p.draw;
    p.draw = null;
    measured(`view: ${id}`, () => fillPanel(p.box, draw(p.box.querySelector(':scope > .figure')?.firstChild ?? null)));
    p.box.classList.remove('stale');
  }

  /** Stops observing (the column is dropped). */
  dispose(): void { this.observer.disconnect(); }
}
