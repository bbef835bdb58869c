/**
 * Block masks for the fused attention kernel (FlexAttention's idea): the [B, H, Lq, Lk] "may
 * attend" relation cut into blockQ × blockK tiles, each marked skip (nothing visible), full
 * (everything visible) or partial (an element mask for that tile). The kernel visits only the
 * touched tiles, so a ±32 window costs O(L·blockK) per head instead of O(L²).
 *
 * A block mask is plain data, built once and reused across layers and steps (it depends on the
 * lengths, not on the values).
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { checkOptions } from '../config.js';

/** Tile codes in `table`: skip, full, or (≥ 0) the index of the partial tile's element mask. */
export const TILE_SKIP = -2;
export const TILE_FULL = -1;
/** Header length of the packed table: [blockQ, blockK, Bm, Hm, nq, nk]. */
const HEADER = 6;

/** Sizes of a block mask: batch and heads may be 1 (the same mask for every batch row or head). */
export interface BlockMaskSizes {
  /** Batch rows the mask distinguishes (1 = shared). */
  B?: number;
  /** Heads the mask distinguishes (1 = shared). */
  H?: number;
  Lq: number;
  Lk: number;
  /** Query rows per tile (a multiple of 16; default 64). */
  blockQ?: number;
  /** Keys per tile (a multiple of 16; default 64). */
  blockK?: number;
}

/**
 * The tiles of a [B, H, Lq, Lk] attention mask. `table` packs a header [blockQ, blockK, B, H, nq,
 * nk] and then, for every (b, h, query tile, key tile), TILE_SKIP, TILE_FULL or the index p of a
 * partial tile whose element mask is `elems[p·blockQ·blockK + c·blockQ + r]` (key c, query r of the
 * tile: key-major, as the native kernel reads its score strips). Elements past Lq or Lk are 1.
 */
export class BlockMask {
  readonly B: number;
  readonly H: number;
  readonly nq: number;
  readonly nk: number;
  private dense?: Tensor;

  constructor(
    readonly Lq: number, readonly Lk: number, readonly blockQ: number, readonly blockK: number,
    readonly table: Int32Array, readonly elems: Uint8Array,
  ) {
    validateBlockMask('BlockMask', Lq, Lk, blockQ, blockK, table, elems);
    this.B = table[2]!;
    this.H = table[3]!;
    this.nq = table[4]!;
    this.nk = table[5]!;
  }

  /** Code of tile (qt, kt) for batch row b and head h (broadcast when the mask has one). */
  tile(b: number, h: number, qt: number, kt: number): number {
    const bb = this.B === 1 ? 0 : b, hh = this.H === 1 ? 0 : h;
    return this.table[HEADER + ((bb * this.H + hh) * this.nq + qt) * this.nk + kt]!;
  }

  /** May query i attend to key j (batch row b, head h)? */
  allows(b: number, h: number, i: number, j: number): boolean {
    const t = this.tile(b, h, Math.floor(i / this.blockQ), Math.floor(j / this.blockK));
    if (t === TILE_SKIP) return false;
    if (t === TILE_FULL) return true;
    return this.elems[t * this.blockQ * this.blockK + (j % this.blockK) * this.blockQ + (i % this.blockQ)] !== 0;
  }

  /** Tiles touched (full or partial) and all tiles, over the mask's B·H. */
  counts(): { full: number; partial: number; total: number } {
    let full = 0, partial = 0;
    for (let i = HEADER; i < this.table.length; i++) {
      const t = this.table[i]!;
      if (t === TILE_FULL) full++;
      else if (t >= 0) partial++;
    }
    return { full, partial, total: this.table.length - HEADER };
  }

  /** The equivalent dense bool mask [B, H, Lq, Lk] (true = may attend), for checks and small inputs. */
  toDense(): Tensor {
    if (this.dense) return this.dense;
    const { B, H, Lq, Lk } = this;
    const m = new Uint8Array(B * H * Lq * Lk);
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
      for (let i = 0; i < Lq; i++) for (let j = 0; j < Lk; j++) m[((b * H + h) * Lq + i) * Lk + j] = this.allows(b, h, i, j) ? 1 : 0;
    }
    return (this.dense = new Tensor(m, [B, H, Lq, Lk]));
  }
}

/**
 * Checks that a packed table and its elements describe an Lq × Lk mask of blockQ × blockK tiles
 * (the kernels index with them unchecked): header, length, every code −2, −1 or a partial tile of elems.
 */
function validateBlockMask(fn: string, Lq: number, Lk: number, blockQ: number, blockK: number, table: unknown, elems: unknown): void {
  if (!(table instanceof Int32Array) || !(elems instanceof Uint8Array)) {
    throw new ValueError(`${fn}: table must be an Int32Array and elems a Uint8Array, got ${typeof table} and ${typeof elems}`);
  }
  for (const [k, v] of Object.entries({ Lq, Lk, blockQ, blockK })) {
    if (!Number.isInteger(v) || v < 1) throw new ValueError(`${fn}: ${k} must be a positive integer, got ${String(v)}`);
  }
  if (blockQ % 16 !== 0 || blockK % 16 !== 0) throw new ValueError(`${fn}: blockQ and blockK must be multiples of 16, got ${blockQ} × ${blockK}`);
  const [bq, bk, B, H, nq, nk] = table.length >= HEADER ? Array.from(table.subarray(0, HEADER)) : [];
  if (bq !== blockQ || bk !== blockK || !(B! >= 1) || !(H! >= 1) || nq !== Math.ceil(Lq / blockQ) || nk !== Math.ceil(Lk / blockK)) {
    throw new ShapeError(`${fn}: table header [blockQ, blockK, B, H, nq, nk] = [${Array.from(table.subarray(0, HEADER)).join(', ')}] does not match `
      + `Lq ${Lq}, Lk ${Lk} in tiles of ${blockQ} × ${blockK} (nq ${Math.ceil(Lq / blockQ)}, nk ${Math.ceil(Lk / blockK)})`);
  }
  const want = HEADER + B! * H! * nq * nk;
  if (table.length !== want) throw new ShapeError(`${fn}: table has ${table.length} entries, expected ${want} (6 + B·H·nq·nk = 6 + ${B}·${H}·${nq}·${nk})`);
  const per = blockQ * blockK;
  if (elems.length % per !== 0) throw new ShapeError(`${fn}: elems has ${elems.length} bytes, not whole tiles of ${blockQ} × ${blockK}`);
  const parts = elems.length / per;
  for (let i = HEADER; i < table.length; i++) {
    const t = table[i]!;
    if (t < TILE_SKIP || t >= parts) throw new ValueError(`${fn}: tile code ${t} at ${i} is not −2 (skip), −1 (full) or one of the ${parts} partial tiles in elems`);
  }
}

function sizes(fn: string, o: BlockMaskSizes): Required<BlockMaskSizes> {
  if (o === null || typeof o !== 'object') throw new ValueError(`${fn}: options must give Lq and Lk ({ Lq, Lk, B?, H?, blockQ?, blockK? }), got ${o === null ? 'null' : typeof o}`);
  checkOptions(fn, o, { B: true, H: true, Lq: true, Lk: true, blockQ: true, blockK: true });
  const r = { B: o.B ?? 1, H: o.H ?? 1, Lq: o.Lq, Lk: o.Lk, blockQ: o.blockQ ?? 64, blockK: o.blockK ?? 64 };
  for (const [k, v] of Object.entries(r)) {
    if (!Number.isInteger(v) || v < 1) throw new ValueError(`${fn}: ${k} must be a positive integer, got ${String(v)}`);
  }
  if (r.blockQ % 16 !== 0 || r.blockK % 16 !== 0) throw new ValueError(`${fn}: blockQ and blockK must be multiples of 16, got ${r.blockQ} × ${r.blockK}`);
  return r;
}

/**
 * Builds a block mask tile by tile: `fill(b, h, set)` calls set(i, j) for every visible (query,
 * key) pair, or setRow(i) for a query that sees every key. Touched tiles get an element buffer;
 * those found complete become full tiles and identical partial tiles share one element mask.
 */
export function buildBlockMask(
  fn: string, o: BlockMaskSizes, fill: (b: number, h: number, set: (i: number, j: number) => void, setRow: (i: number) => void) => void,
): BlockMask {
  const { B, H, Lq, Lk, blockQ, blockK } = sizes(fn, o);
  const nq = Math.ceil(Lq / blockQ), nk = Math.ceil(Lk / blockK), per = blockQ * blockK;
  const table = new Int32Array(HEADER + B * H * nq * nk).fill(TILE_SKIP);
  table.set([blockQ, blockK, B, H, nq, nk]);
  const parts: Uint8Array[] = [];
  const shared = new Map<string, number>();
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const base = HEADER + (b * H + h) * nq * nk;
    const open = new Map<number, Uint8Array>();                 // tile (qt·nk + kt) → element buffer
    const tileBuf = (qt: number, kt: number): Uint8Array => {
      let e = open.get(qt * nk + kt);
      if (!e) open.set(qt * nk + kt, e = new Uint8Array(per));
      return e;
    };
    const set = (i: number, j: number): void => {
      if (i < 0 || i >= Lq || j < 0 || j >= Lk) return;
      tileBuf(Math.floor(i / blockQ), Math.floor(j / blockK))[(j % blockK) * blockQ + (i % blockQ)] = 1;
    };
    const setRow = (i: number): void => {
      if (i < 0 || i >= Lq) return;
      const qt = Math.floor(i / blockQ), r = i % blockQ;
      for (let kt = 0; kt < nk; kt++) {
        const e = tileBuf(qt, kt);
        for (let c = 0; c < blockK; c++) e[c * blockQ + r] = 1;
      }
    };
    fill(b, h, set, setRow);
    for (const [at, e] of open) {
      const qt = Math.floor(at / nk), kt = at % nk;
      const rows = Math.min(blockQ, Lq - qt * blockQ), cols = Math.min(blockK, Lk - kt * blockK);
      let n = 0;
      for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) n += e[c * blockQ + r]!;
      if (n === 0) continue;
      if (n === rows * cols) { table[base + at] = TILE_FULL; continue; }
      for (let c = 0; c < blockK; c++) for (let r = 0; r < blockQ; r++) if (r >= rows || c >= cols) e[c * blockQ + r] = 1;
      const key = latin1(e);
      let p = shared.get(key);
      if (p === undefined) { shared.set(key, p = parts.length); parts.push(e); }
      table[base + at] = p;
    }
  }
  const elems = new Uint8Array(parts.length * per);
  parts.forEach((e, p) => elems.set(e, p * per));
  return new BlockMask(Lq, Lk, blockQ, blockK, table, elems);
}

// a tile's bytes as a string key (for sharing identical partial tiles)
function latin1(e: Uint8Array): string {
  let s = '';
  for (let i = 0; i < e.length; i += 4096) s += String.fromCharCode(...e.subarray(i, i + 4096));
  return s;
}

/**
 * A block mask from a predicate: `predicate(b, h, q, k)` is true where query q may attend to key k.
 * It is called for every (b, h, q, k), O(B·H·Lq·Lk) calls, once; reuse the mask across layers and
 * steps. For long sequences build from a pattern instead (`causalBlockMask`, `nn.patternBlockMask`).
 *
 * @example
 * const bm = createBlockMask((b, h, q, k) => Math.abs(q - k) <= 32, { Lq: 1024, Lk: 1024 });
 * const out = F.scaledDotProductAttention(q, k, v, { blockMask: bm });   // q, k, v [B, H, 1024, D]
 */
export function createBlockMask(predicate: (b: number, h: number, q: number, k: number) => boolean, options: BlockMaskSizes): BlockMask {
  const fn = 'createBlockMask';
  if (typeof predicate !== 'function') throw new ValueError(`${fn}: predicate must be a function (b, h, q, k) => boolean, got ${typeof predicate}`);
  const { Lq, Lk } = sizes(fn, options);
  return buildBlockMask(fn, options, (b, h, set) => {
    for (let i = 0; i < Lq; i++) for (let j = 0; j < Lk; j++) if (predicate(b, h, i, j)) set(i, j);
  });
}

/** Causal block mask [1, 1, Lq, Lk]: key j visible to query i when j ≤ i (top-left aligned, as `causal`). */
export function causalBlockMask(Lq: number, Lk: number, options: { blockQ?: number; blockK?: number } = {}): BlockMask {
  checkOptions('causalBlockMask', options, { blockQ: true, blockK: true });
  return buildBlockMask('causalBlockMask', { Lq, Lk, ...options }, (_b, _h, set) => {
    for (let i = 0; i < Lq; i++) for (let j = 0; j <= Math.min(i, Lk - 1); j++) set(i, j);
  });
}

/** Key padding as a block mask [B, 1, Lq, S]: keyMask [B, S] bool (true = real token); padded key tiles are skipped. */
export function keyPaddingBlockMask(keyMask: Tensor, Lq: number, options: { blockQ?: number; blockK?: number } = {}): BlockMask {
  const fn = 'keyPaddingBlockMask';
  checkOptions(fn, options, { blockQ: true, blockK: true });                 // (a B or Lk here would override keyMask's)
  if (!(keyMask instanceof Tensor) || keyMask.dtype !== 'bool' || keyMask.ndim !== 2) {
    throw new ShapeError(`${fn}: keyMask must be a bool Tensor [B, S], got ${keyMask instanceof Tensor ? `${keyMask.dtype} ${fmtShape(keyMask.shape)}` : typeof keyMask}`);
  }
  const [B, S] = keyMask.shape as [number, number];
  const d = keyMask.data as Uint8Array;
  return buildBlockMask(fn, { B, Lq, Lk: S, ...options }, (b, _h, set) => {
    for (let j = 0; j < S; j++) if (d[b * S + j]) for (let i = 0; i < Lq; i++) set(i, j);
  });
}

/** Checks a block mask against an attention of shape [B, H, T, S]. */
export function checkBlockMask(fn: string, bm: unknown, B: number, H: number, T: number, S: number): BlockMask {
  if (!(bm instanceof BlockMask)) throw new ValueError(`${fn}: blockMask must be a BlockMask (createBlockMask, causalBlockMask, nn.patternBlockMask), got ${typeof bm}`);
  validateBlockMask(`${fn}: blockMask`, bm.Lq, bm.Lk, bm.blockQ, bm.blockK, bm.table, bm.elems);  // its arrays may have changed since
  if (bm.Lq !== T || bm.Lk !== S || (bm.B !== 1 && bm.B !== B) || (bm.H !== 1 && bm.H !== H)) {
    throw new ShapeError(`${fn}: blockMask is for [${bm.B}, ${bm.H}, ${bm.Lq}, ${bm.Lk}], which does not broadcast to [B, H, T, S] = ${fmtShape([B, H, T, S])}`);
  }
  return bm;
}
