/**
 * safetensors, read and written by us (https://github.com/huggingface/safetensors, format
 * notes): 8 bytes little-endian header length N, N bytes of JSON
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: { key: string } }`,
 * then the tensor bytes. Reading validates everything before trusting it: header size,
 * nesting depth and entry count (scanned before JSON.parse, so a hostile header costs at most
 * a linear pass over MAX_HEADER_BYTES), encoding, dtypes, shapes, byte counts, and offsets
 * that must tile the data exactly (no overlap, no gap, nothing out of bounds). Any violation
 * is a CheckpointError with a short message (values clipped to ~80 characters); nothing else
 * escapes. F16 / BF16 are widened to float32, I64 narrowed to int32 (range-checked) and U8
 * read as int32, so PyTorch files load.
 */
import { Tensor, type DType } from './tensor.js';
import { AttnkitError, clipText, preview } from '../errors.js';

/** A checkpoint file that is malformed, truncated or not what it claims. */
export class CheckpointError extends AttnkitError {}

/**
 * Largest header accepted, 16 MiB: room for ~250,000 tensor entries, while parsing the
 * largest allowed header stays well under a second and a few hundred MB.
 */
export const MAX_HEADER_BYTES = 16 * 2 ** 20;
/** Most tensors one file may hold (checked before the header is parsed). */
export const MAX_TENSORS = 65_536;
/** Most dims one tensor may have. */
export const MAX_DIMS = 64;
/** Deepest JSON nesting accepted in a header (a valid one needs 3: root, entry, shape). */
const MAX_DEPTH = 8;

const SIZES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1, BOOL: 1 };
const WRITE_DTYPE: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32', bool: 'BOOL' };

export interface SafetensorsFile { tensors: Record<string, Tensor>; metadata: Record<string, string> }

/**
 * Serialises tensors (by dotted name) and string metadata. The header is padded with spaces
 * to a multiple of 8 bytes so every tensor starts 8-byte aligned.
 *
 * @example
 * const bytes = encodeSafetensors(model.stateDict(), { format: 'pt' });
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = Object.create(null);   // a tensor may be named '__proto__'
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new CheckpointError(`encodeSafetensors: metadata '${clipText(k)}' must be a string, got ${typeof v}`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  const parts: Uint8Array[] = [];
  const names = Object.keys(tensors);
  if (names.length > MAX_TENSORS) throw new CheckpointError(`encodeSafetensors: ${names.length} tensors, more than ${MAX_TENSORS} tensors (the limit decodeSafetensors enforces)`);
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new CheckpointError("encodeSafetensors: '__metadata__' is reserved and cannot name a tensor");
    if (!(t instanceof Tensor)) throw new CheckpointError(`encodeSafetensors: '${clipText(name)}' is not a Tensor`);
    if (t.shape.length > MAX_DIMS) throw new CheckpointError(`encodeSafetensors: '${clipText(name)}' has ${t.shape.length} dims; at most ${MAX_DIMS} (the limit decodeSafetensors enforces)`);
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: WRITE_DTYPE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  if (head.length > MAX_HEADER_BYTES) throw new CheckpointError(`encodeSafetensors: header length ${head.length} exceeds the ${MAX_HEADER_BYTES}-byte limit (the limit decodeSafetensors enforces)`);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let p = 8 + head.length;
  for (const b of parts) { out.set(b, p); p += b.length; }
  return out;
}

function fail(where: string, msg: string): never {
  throw new CheckpointError(`${where}: ${msg}`);
}

/**
 * One linear pass over the header bytes before JSON.parse: the nesting depth (outside strings)
 * must stay within MAX_DEPTH and the entries that are objects (tensors, __metadata__) within
 * MAX_TENSORS + 1, so neither a deep nor a huge header reaches the parser.
 */
function scanHeader(head: Uint8Array, where: string): void {
  let depth = 0, entries = 0, inString = false;
  for (let i = 0; i < head.length; i++) {
    const c = head[i];
    if (inString) {
      if (c === 0x5c) i++;                                  // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {                    // { [
      if (++depth > MAX_DEPTH) fail(where, `header is nested deeper than ${MAX_DEPTH} levels (a valid one needs 3)`);
      if (c === 0x7b && depth === 2 && ++entries > MAX_TENSORS + 1) fail(where, `header declares more than ${MAX_TENSORS} tensors (the limit)`);
    } else if (c === 0x7d || c === 0x5d) depth--;           // } ]
  }
}

/** Half-precision bits → float. */
function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Parses and validates a safetensors file. `where` names it in errors (a path). `tensors` and
 * `metadata` are null-prototype objects, so any name (even `__proto__`) is an ordinary key.
 * Limits: a header of at most MAX_HEADER_BYTES, MAX_TENSORS tensors of at most MAX_DIMS dims.
 *
 * @example
 * const { tensors, metadata } = decodeSafetensors(readFileSync('model.safetensors'), 'model.safetensors');
 */
export function decodeSafetensors(bytes: Uint8Array, where = 'safetensors'): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) fail(where, 'expected the file bytes (a Uint8Array)');
  if (bytes.length < 8) fail(where, `${bytes.length} bytes is shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(where, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.length) fail(where, `header length ${headerLen} runs past the end of the ${bytes.length}-byte file`);
  const head = bytes.subarray(8, 8 + headerLen);
  scanHeader(head, where);
  let text: string;
  try { text = new TextDecoder('utf-8', { fatal: true }).decode(head); } catch { fail(where, 'header is not valid UTF-8'); }
  let header: unknown;
  try { header = JSON.parse(text); } catch (e) { fail(where, `header is not valid JSON (${clipText((e as Error).message, 160)})`); }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(where, 'header must be a JSON object');
  const data = bytes.subarray(8 + headerLen);
  // null prototypes: a tensor or metadata key named '__proto__' is an ordinary name, not a prototype
  const metadata: Record<string, string> = Object.create(null);
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(where, '__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(where, `__metadata__.${clipText(k)} must be a string, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(where, `'${clipText(name)}' must be an object { dtype, shape, data_offsets }, got ${preview(raw)}`);
    const { dtype, shape, data_offsets: offs } = raw as Record<string, unknown>;
    for (const k in raw) {                                        // a loop, not a rest spread: this runs per tensor
      if (k !== 'dtype' && k !== 'shape' && k !== 'data_offsets') {
        fail(where, `'${clipText(name)}' has unknown keys [${clipText(Object.keys(raw).filter((x) => x !== 'dtype' && x !== 'shape' && x !== 'data_offsets').join(', '))}]`);
      }
    }
    if (typeof dtype !== 'string' || !Object.hasOwn(SIZES, dtype)) fail(where, `'${clipText(name)}' has dtype ${preview(dtype)}; supported: ${Object.keys(SIZES).join(', ')}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(where, `'${clipText(name)}' has shape ${preview(shape)}; expected non-negative integers`);
    if (shape.length > MAX_DIMS) fail(where, `'${clipText(name)}' has ${shape.length} dims; at most ${MAX_DIMS}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      fail(where, `'${clipText(name)}' has data_offsets ${preview(offs)}; expected [begin, end] with 0 ≤ begin ≤ end`);
    }
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(numel * SIZES[dtype])) fail(where, `'${clipText(name)}' has a shape too large to address: ${preview(shape)}`);
    const [begin, end] = offs as number[];
    if (end - begin !== numel * SIZES[dtype]) fail(where, `'${clipText(name)}' is ${dtype} ${preview(shape)} = ${numel * SIZES[dtype]} bytes, but data_offsets span ${end - begin}`);
    entries.push({ name, dtype, shape: shape as number[], begin, end });
    // the scan allows one object more (__metadata__): a header of MAX_TENSORS + 1 tensors ends here
    if (entries.length > MAX_TENSORS) fail(where, `header declares more than ${MAX_TENSORS} tensors (the limit)`);
  }
  // the byte ranges must tile the data buffer exactly: sorted, each starting where the last ended
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin < at) fail(where, `'${clipText(e.name)}' bytes [${e.begin}, ${e.end}) overlap the previous tensor (ending at ${at})`);
    if (e.begin > at) fail(where, `a gap of ${e.begin - at} bytes before '${clipText(e.name)}' (at ${at}); offsets must be contiguous`);
    at = e.end;
  }
  if (at !== data.length) fail(where, at > data.length ? `tensor data ends at ${at}, past the ${data.length} data bytes (truncated file?)` : `${data.length - at} trailing bytes after the last tensor`);
  const tensors: Record<string, Tensor> = Object.create(null);
  for (const e of entries) {
    const chunk = new Uint8Array(data.subarray(e.begin, e.end));  // a copy (Buffer.slice would be a view): aligned, independent of the file
    const dv = e.dtype === 'F16' || e.dtype === 'BF16' || e.dtype === 'I64' ? new DataView(chunk.buffer) : null!;
    const numel = e.shape.reduce((a, b) => a * b, 1);
    let arr: Float32Array | Float64Array | Int32Array | Uint8Array;
    switch (e.dtype) {
      case 'F32': arr = new Float32Array(chunk.buffer); break;
      case 'F64': arr = new Float64Array(chunk.buffer); break;
      case 'I32': arr = new Int32Array(chunk.buffer); break;
      case 'U8': arr = Int32Array.from(chunk); break;
      case 'BOOL':
        if (chunk.some((b) => b > 1)) fail(where, `'${clipText(e.name)}' is BOOL but holds bytes other than 0 and 1`);
        arr = chunk;
        break;
      case 'F16': arr = Float32Array.from({ length: numel }, (_, i) => f16(dv.getUint16(2 * i, true))); break;
      case 'BF16': {                                              // bfloat16 is the top half of a float32
        const bits = new Uint32Array(numel);
        for (let i = 0; i < numel; i++) bits[i] = dv.getUint16(2 * i, true) << 16;
        arr = new Float32Array(bits.buffer);
        break;
      }
      default: {                                                  // I64
        const out = new Int32Array(numel);
        for (let i = 0; i < numel; i++) {
          const v = dv.getBigInt64(8 * i, true);
          if (v > 2147483647n || v < -2147483648n) fail(where, `'${clipText(e.name)}' holds the int64 ${v}, outside int32`);
          out[i] = Number(v);
        }
        arr = out;
      }
    }
    tensors[e.name] = new Tensor(arr, e.shape);
  }
  return { tensors, metadata };
}
