/**
 * `attnkit encode <run> <data file | run:train | run:valid | run:test> <out.safetensors> [--shards N]`:
 * records (a file's, or the run's own split) encoded with the run's fitted preprocessing into
 * the tensors the exported model.py's forward takes — `fields.<field>.<key>` per field the
 * model reads (sequences padded to the fitted length, so every row has one shape) and
 * `targets.<name>` when the records have every target column.
 *
 * Memory stays bounded: records stream from the file in chunks, each chunk's tensors are
 * appended to one temporary file per tensor, and the output files are assembled from them at
 * the end (each written to a temporary name, fsynced and renamed: readers never see a torn file).
 * A JSON array file is parsed whole by its reader; CSV, TSV and JSONL stream.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readSync, writeSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError, DataError } from '../../errors.js';
import { Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { buildModel } from '../../models/build.js';
import { fieldKindOf } from '../../data/fields/index.js';
import type { DataRecord, FieldInfo, RowOrigin } from '../../data/preprocessor.js';
import type { Batch } from '../../data/dataset.js';
import { streamRecords } from '../../data/node/readers.js';
import { readRun, removeOnInterrupt, writeFileAtomic } from '../runDir.js';
import { reopen } from '../runFile.js';
import { inputName, modelFields, targetName } from './modelPy.js';

const ST_DTYPE = { float32: 'F32', float64: 'F64', int32: 'I32', bool: 'BOOL' } as const;

/** One tensor of the output: its safetensors dtype, its shape per row, and bytes per row. */
interface Column { name: string; dtype: string; row: number[]; rowBytes: number; fd: number; path: string }

/** The shard file names: out.safetensors, or out-00000-of-00004.safetensors … for N > 1. */
export function shardPaths(out: string, shards: number): string[] {
  if (shards === 1) return [out];
  const stem = out.replace(/\.safetensors$/i, '');
  const w = Math.max(5, String(shards).length);
  return Array.from({ length: shards }, (_, i) => `${stem}-${String(i).padStart(w, '0')}-of-${String(shards).padStart(w, '0')}.safetensors`);
}

/** x padded with zeros (false, 0) along axis 1 to length L: [n, l, …] → [n, L, …] bytes. */
function paddedBytes(t: Tensor, L: number | undefined): { bytes: Uint8Array; row: number[] } {
  const shape = t.shape as number[];
  const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (shape.length < 2 || L === undefined || shape[1] === L) return { bytes: raw, row: shape.slice(1) };
  if (shape[1]! > L) throw new DataError(`encode: a sequence of ${shape[1]} exceeds the fitted length ${L}`);
  const n = shape[0]!, inner = shape.slice(2).reduce((a, b) => a * b, 1), el = t.data.BYTES_PER_ELEMENT;
  const src = shape[1]! * inner * el, dst = L * inner * el;
  const out = new Uint8Array(n * dst);
  for (let i = 0; i < n; i++) out.set(raw.subarray(i * src, (i + 1) * src), i * dst);
  return { bytes: out, row: [L, ...shape.slice(2)] };
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

/** The tensors of one batch, fields padded to their fitted lengths: name → dtype, bytes and per-row shape. */
function batchTensors(fields: FieldInfo[], batch: Batch): Map<string, { dtype: string; bytes: Uint8Array; row: number[] }> {
  const tensors = new Map<string, { dtype: string; bytes: Uint8Array; row: number[] }>();
  for (const f of fields) {
    const def = fieldKindOf(f.kind);
    const fb = batch.fields[f.name] as unknown as Record<string, Tensor | string>;
    def.check?.(fb, f, `encode: field '${f.name}'`);
    for (const [key, t] of Object.entries(fb)) {
      if (key === 'kind') continue;
      const tt = t as Tensor;
      const { bytes, row } = paddedBytes(tt, f.maxLength ?? f.numPatches);
      tensors.set(inputName(f.name, key), { dtype: ST_DTYPE[tt.dtype], bytes, row });
    }
  }
  for (const [name, t] of Object.entries(batch.targets)) {
    tensors.set(targetName(name), { dtype: ST_DTYPE[t.dtype], bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), row: [] });
  }
  return tensors;
}

/** `run:train`, `run:valid`, `run:test`: the run's own rows of that split (its data read again, nothing refitted). */
export const RUN_SPLIT = /^run:(train|valid|test)$/;

export interface EncodeResult { files: string[]; rows: number; rowsPerShard: number[]; tensors: Record<string, { dtype: string; shape: number[] }>; skipped: number; targets: boolean }

/**
 * Encodes `dataFile` with the run's preprocessing into `out` (or `shards` files). `onProgress`
 * is called after each chunk with the rows read so far and the file's bytes read, of its size.
 */
export async function encodeRun(runDir: string, dataFile: string, out: string, options: {
  shards?: number; chunkRows?: number; encoding?: 'utf-8' | 'latin1'; onProgress?: (rows: number, fraction: number | null) => void;
} = {}): Promise<EncodeResult> {
  const saved = readRun(runDir);
  const shards = options.shards ?? 1;
  if (!Number.isInteger(shards) || shards < 1) throw new ConfigError(`encode: --shards must be a positive integer, got ${String(options.shards)}`);
  if (!/\.safetensors$/i.test(out)) throw new ConfigError(`encode: the output '${out}' must end in .safetensors`);
  const chunkRows = options.chunkRows ?? 4096;
  const model = buildModel(saved.config.model, saved.preprocessor.fieldInfo(), saved.preprocessor.targetInfo(), new Generator(0));
  const fields = modelFields(model, saved.preprocessor.fieldInfo());
  const split = RUN_SPLIT.exec(dataFile)?.[1] as 'train' | 'valid' | 'test' | undefined;
  const size = split ? 0 : (() => { try { return statSync(dataFile).size; } catch { throw new ConfigError(`encode: no such data file '${dataFile}' (or run:train, run:valid, run:test for the run's own split)`); } })();
  mkdirSync(dirname(out), { recursive: true });
  const tmp = mkdtempSync(join(dirname(out), `.encode-${basename(out)}-`));
  const release = removeOnInterrupt(tmp);
  const columns = new Map<string, Column>();
  let rows = 0, skipped = 0, firstSkip: string | undefined, withTargets = true;
  const append = (batch: Batch): void => {
    for (const [name, t] of batchTensors(fields, batch)) {
      let col = columns.get(name);
      if (!col) {
        const path = join(tmp, `${columns.size}.bin`);
        col = { name, dtype: t.dtype, row: t.row, rowBytes: t.bytes.length / batch.size, fd: openSync(path, 'w'), path };
        columns.set(name, col);
      }
      writeAll(col.fd, t.bytes);
    }
    rows += batch.size;
  };
  try {
    if (split) {
      const { dataset } = await reopen(saved);
      const idx = saved.split[split];
      if (idx.length === 0) throw new DataError(`encode: the run's ${split} split is empty`);
      for (let i = 0; i < idx.length; i += chunkRows) {
        append(dataset.batch(idx.slice(i, i + chunkRows)));
        options.onProgress?.(Math.min(idx.length, i + chunkRows), Math.min(1, (i + chunkRows) / idx.length));
      }
    } else {
      let records: DataRecord[] = [], origins: RowOrigin[] = [];
      let first = true;
      const flush = (): void => {
        if (records.length === 0) return;
        const { dataset, skipped: sk } = saved.preprocessor.encode(records, { origins, onError: saved.config.data.onError, targets: withTargets });
        skipped += sk.length; firstSkip ??= sk[0]?.reason;
        if (dataset.size) append(dataset.batch(Array.from({ length: dataset.size }, (_, i) => i)));
        records = []; origins = [];
      };
      let read = 0;
      for await (const { record, origin } of streamRecords(dataFile, { encoding: options.encoding ?? saved.config.data.encoding, onError: saved.config.data.onError })) {
        // targets are encoded when the first record has every target column
        if (first) { withTargets = model.targets.every((t) => record[t.name] !== undefined); first = false; }
        records.push(record); origins.push(origin);
        if (++read % chunkRows === 0) { flush(); options.onProgress?.(read, null); }
      }
      flush();
      options.onProgress?.(read, size ? 1 : null);
    }
    if (rows === 0) throw new DataError(`encode: ${dataFile} has no record to encode${firstSkip ? ` (${skipped} skipped, first: ${firstSkip})` : ''}`);
    for (const col of columns.values()) { fsyncSync(col.fd); closeSync(col.fd); col.fd = -1; }
    const paths = shardPaths(out, shards);
    const per = Array.from({ length: shards }, (_, i) => Math.floor(rows / shards) + (i < rows % shards ? 1 : 0));
    let start = 0;
    paths.forEach((p, i) => {
      writeShard(p, [...columns.values()], start, per[i], { run: saved.dir, source: basename(dataFile), shard: String(i), shards: String(shards), first_row: String(start), rows: String(rows) });
      start += per[i];
    });
    const tensors = Object.fromEntries([...columns.values()].map((c) => [c.name, { dtype: c.dtype, shape: c.row }]));
    return { files: paths, rows, rowsPerShard: per, tensors, skipped, targets: withTargets };
  } finally {
    for (const col of columns.values()) if (col.fd >= 0) closeSync(col.fd);
    rmSync(tmp, { recursive: true, force: true });
    release();
  }
}

/** Rows [start, start + n) of every column as one safetensors file, written atomically (streamed from the column files). */
function writeShard(path: string, columns: Column[], start: number, n: number, metadata: Record<string, string>): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const c of columns) {
    const bytes = c.rowBytes * n;
    header[c.name] = { dtype: c.dtype, shape: [n, ...c.row], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  writeFileAtomic(path, (write) => {
    write(len);
    write(head);
    const buf = Buffer.alloc(1 << 20);
    for (const c of columns) {
      const src = openSync(c.path, 'r');
      try {
        let pos = c.rowBytes * start, left = c.rowBytes * n;
        while (left > 0) {
          const got = readSync(src, buf, 0, Math.min(buf.length, left), pos);
          if (got <= 0) throw new DataError('encode: a temporary column file ended early; please report this');
          write(buf.subarray(0, got));
          pos += got; left -= got;
        }
      } finally { closeSync(src); }
    }
  });
}
