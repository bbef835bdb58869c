/**
 * File readers (Node only): CSV / TSV (quoted fields, a header row), JSONL and JSON arrays →
 * records with their file and line. CSV and JSONL stream, so large files never sit in memory
 * as text. A malformed row is a DataError naming the file and line, or — with
 * `onError: 'skip'` — is left out and counted.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { extname } from 'node:path';
import { parse, CsvError } from 'csv-parse';
import { DataError } from '../../errors.js';
import type { DataRecord, RowOrigin, SkippedRow } from '../preprocessor.js';

export type RecordFormat = 'csv' | 'tsv' | 'jsonl' | 'json';

export interface ReadOptions {
  /** Default: from the extension (.csv, .tsv/.tab, .jsonl/.ndjson, .json). */
  format?: RecordFormat;
  /** 'throw' (default) or 'skip' malformed rows (listed in `skipped`). */
  onError?: 'throw' | 'skip';
  /** Stop after this many records. */
  limit?: number;
}

/** One record and where it came from. */
export interface SourcedRecord { record: DataRecord; origin: RowOrigin }

/** The format a path's extension implies, or a DataError. */
export function formatOf(path: string): RecordFormat {
  const ext = extname(path).toLowerCase();
  const f = ({ '.csv': 'csv', '.tsv': 'tsv', '.tab': 'tsv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'json' } as const)[ext as '.csv'];
  if (!f) throw new DataError(`readRecords: cannot tell the format of '${path}' from its extension; pass format: 'csv' | 'tsv' | 'jsonl' | 'json'`);
  return f;
}

/**
 * Streams records from a file. Skipped rows are reported through `onSkip`.
 *
 * @example
 * for await (const { record, origin } of streamRecords('wages.csv')) console.log(origin.line, record.wage);
 */
export async function* streamRecords(path: string, options: ReadOptions & { onSkip?: (s: SkippedRow) => void } = {}): AsyncGenerator<SourcedRecord> {
  const format = options.format ?? formatOf(path);
  const skip = options.onError === 'skip';
  const limit = options.limit ?? Infinity;
  let n = 0;
  if (format === 'json') {
    let parsed: unknown;
    try { parsed = JSON.parse(await readFile(path, 'utf8')); } catch (e) {
      throw new DataError(`${path}: not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(parsed)) throw new DataError(`${path}: a JSON data file must hold an array of records, got ${typeof parsed}`);
    for (let i = 0; i < parsed.length && n < limit; i++) {
      const r = parsed[i];
      if (r === null || typeof r !== 'object' || Array.isArray(r)) {
        const reason = `${path}: element ${i} is not an object of fields`;
        if (!skip) throw new DataError(reason);
        options.onSkip?.({ index: i, origin: `${path}:[${i}]`, reason });
        continue;
      }
      n++;
      yield { record: r as DataRecord, origin: { file: path } };
    }
    return;
  }
  if (format === 'jsonl') {
    const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
    let line = 0;
    try {
      for await (const text of lines) {
        line++;
        if (n >= limit) break;
        if (text.trim() === '') continue;
        let r: unknown, reason = '';
        try { r = JSON.parse(text); } catch (e) { reason = `${path}:${line}: not valid JSON (${(e as Error).message})`; }
        if (!reason && (r === null || typeof r !== 'object' || Array.isArray(r))) reason = `${path}:${line}: a JSONL line must be an object of fields`;
        if (reason) {
          if (!skip) throw new DataError(reason);
          options.onSkip?.({ index: line - 1, origin: `${path}:${line}`, reason });
          continue;
        }
        n++;
        yield { record: r as DataRecord, origin: { file: path, line } };
      }
    } finally { lines.close(); }
    return;
  }
  const parser = createReadStream(path).on('error', (e) => parser.destroy(e)).pipe(parse({
    columns: true, bom: true, info: true, skip_empty_lines: true, trim: false,
    delimiter: format === 'tsv' ? '\t' : ',',
    skip_records_with_error: skip,
    on_skip: (err) => {
      if (err) { const line = Number((err as CsvError & { lines?: number }).lines); options.onSkip?.({ index: line - 1, origin: `${path}:${line}`, reason: `${path}:${line}: ${err.message}` }); }
      return undefined;
    },
  }));
  try {
    for await (const row of parser as AsyncIterable<{ record: DataRecord; info: { lines: number } }>) {
      if (n >= limit) break;
      n++;
      yield { record: row.record, origin: { file: path, line: row.info.lines } };
    }
  } catch (e) {
    if (e instanceof CsvError) throw new DataError(`${path}:${(e as CsvError & { lines?: number }).lines ?? '?'}: ${e.message}`);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new DataError(`readRecords: no such file '${path}'`);
    throw e;
  } finally { parser.destroy(); }
}

/** Reads a whole file: records, their origins (for encode's error messages) and skipped rows. */
export async function readRecords(path: string, options: ReadOptions = {}): Promise<{ records: DataRecord[]; origins: RowOrigin[]; skipped: SkippedRow[] }> {
  const records: DataRecord[] = [], origins: RowOrigin[] = [], skipped: SkippedRow[] = [];
  try {
    for await (const { record, origin } of streamRecords(path, { ...options, onSkip: (s) => skipped.push(s) })) {
      records.push(record);
      origins.push(origin);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new DataError(`readRecords: no such file '${path}'`);
    throw e;
  }
  return { records, origins, skipped };
}
