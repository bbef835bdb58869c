/**
 * File readers (Node only): CSV / TSV (quoted fields, a header row), JSONL and JSON arrays →
 * records with their file and line. CSV and JSONL stream, so large files never sit in memory
 * as text. A malformed row is a DataError naming the file and line, or — with
 * `onError: 'skip'` — is left out and counted. What would be read wrongly rather than fail is
 * refused whatever `onError` says: a header naming a column twice, bytes that are not UTF-8
 * (unless `encoding: 'latin1'`), and a quote that never closes (reported where it opened).
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { extname } from 'node:path';
import { parse, CsvError } from 'csv-parse';
import { DataError, clipText } from '../../errors.js';
import { checkOptions } from '../../config.js';
import type { DataRecord, RowOrigin, SkippedRow } from '../preprocessor.js';
import { Utf8Check, utf8Checked } from './utf8.js';

export type RecordFormat = 'csv' | 'tsv' | 'jsonl' | 'json';

export interface ReadOptions {
  /** Default: from the extension (.csv, .tsv/.tab, .jsonl/.ndjson, .json). */
  format?: RecordFormat;
  /** 'throw' (default) or 'skip' malformed rows (listed in `skipped`). */
  onError?: 'throw' | 'skip';
  /** Stop after this many records. */
  limit?: number;
  /** 'utf-8' (default: a byte that is not UTF-8 is a DataError with its line) or 'latin1' (every byte is a character). */
  encoding?: 'utf-8' | 'latin1';
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
  checkOptions('streamRecords', options, { format: true, onError: true, limit: true, encoding: true, onSkip: true });
  const format = options.format ?? formatOf(path);
  const skip = options.onError === 'skip';
  const limit = options.limit ?? Infinity;
  const latin1 = options.encoding === 'latin1';
  let n = 0;
  if (format === 'json') {
    let parsed: unknown;
    const bytes = await readFile(path);
    if (!latin1) { const check = new Utf8Check(path); check.check(bytes); check.end(); }
    try { parsed = JSON.parse(bytes.toString(latin1 ? 'latin1' : 'utf8')); } catch (e) {
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
  const source = createReadStream(path);
  // csv-parse decodes bytes itself (its encoding option); readline needs latin1 as strings
  const checked = !latin1 ? source.pipe(utf8Checked(path)) : format === 'jsonl' ? source.setEncoding('latin1') : source;
  if (format === 'jsonl') {
    const lines = createInterface({ input: checked, crlfDelay: Infinity });
    let line = 0;
    // readline does not pass on its input's errors (a missing file, a byte that is not UTF-8)
    let failed: Error | undefined;
    const fail = (e: Error): void => { failed ??= e; lines.close(); };
    source.on('error', fail);
    checked.on('error', fail);
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
    } finally { lines.close(); source.destroy(); }
    if (failed) throw failed;
    return;
  }
  const delimiter = format === 'tsv' ? '\t' : ',';
  // an unclosed quote swallows the rest of the file: never a row to skip
  let unclosed: CsvError | undefined;
  const parser = parse({
    columns: (header: string[]) => uniqueColumns(path, header),
    bom: true, info: true, skip_empty_lines: true, trim: false, delimiter,
    encoding: latin1 ? 'latin1' : 'utf8',
    skip_records_with_error: skip,
    on_skip: (err) => {
      if (err?.code === 'CSV_QUOTE_NOT_CLOSED') unclosed = err;
      else if (err) { const line = Number((err as CsvError & { lines?: number }).lines); options.onSkip?.({ index: line - 1, origin: `${path}:${line}`, reason: `${path}:${line}: ${err.message}` }); }
      return undefined;
    },
  });
  source.on('error', (e) => parser.destroy(e));
  checked.on('error', (e: Error) => parser.destroy(e));
  checked.pipe(parser);
  try {
    for await (const row of parser as AsyncIterable<{ record: DataRecord; info: { lines: number } }>) {
      if (n >= limit) break;
      n++;
      yield { record: row.record, origin: { file: path, line: row.info.lines } };
    }
    if (unclosed) throw unclosed;
  } catch (e) {
    if (e instanceof CsvError) throw new DataError(await quoteMessage(path, delimiter, e) ?? `${path}:${(e as CsvError & { lines?: number }).lines ?? '?'}: ${e.message}`);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new DataError(`readRecords: no such file '${path}'`);
    throw e;
  } finally { parser.destroy(); source.destroy(); }
}

/**
 * The header, or a DataError if it names a column twice (the later column would silently win).
 * Unnamed columns (trailing commas) may repeat: no field can be called ''.
 */
function uniqueColumns(path: string, header: string[]): string[] {
  const first = new Map<string, number>();
  header.forEach((name, i) => {
    if (name === '') return;
    const j = first.get(name);
    if (j !== undefined) throw new DataError(`${path}: column '${clipText(name)}' appears twice in the header (columns ${j + 1} and ${i + 1}); rename one`);
    first.set(name, i);
  });
  return header;
}

/**
 * For a quote error, where the quoted field opened: the parser only knows where it gave up
 * (the end of the file, or a later quote that happened to close the field). Scans the file's
 * bytes with CSV's quoting rules; undefined for other errors or if the scan disagrees.
 */
async function quoteMessage(path: string, delimiter: string, e: CsvError): Promise<string | undefined> {
  if (e.code !== 'CSV_QUOTE_NOT_CLOSED' && e.code !== 'CSV_INVALID_CLOSING_QUOTE') return undefined;
  const Q = 0x22, LF = 0x0a, CR = 0x0d, D = delimiter.charCodeAt(0);
  let line = 1, inQuotes = false, quoteSeen = false, fieldStart = true, open = 0, first = true;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let i = 0;
    if (first && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3;
    first = false;
    for (; i < chunk.length; i++) {
      const b = chunk[i];
      if (inQuotes) {
        if (!quoteSeen) { if (b === Q) quoteSeen = true; else if (b === LF) line++; continue; }
        quoteSeen = false;
        if (b === Q) continue;                       // "" inside quotes is one quote
        inQuotes = false;
        if (b !== D && b !== CR && b !== LF) {
          return `${path}:${open}: the quoted field opened here closes on line ${line} followed by ${JSON.stringify(String.fromCharCode(b))}, not a delimiter or a line end — is a quote unbalanced? (${e.message})`;
        }
      }
      if (b === LF) { line++; fieldStart = true; } else if (b === D || b === CR) fieldStart = true;
      else if (b === Q && fieldStart) { inQuotes = true; open = line; fieldStart = false; } else fieldStart = false;
    }
  }
  if (inQuotes && !quoteSeen) return `${path}:${open}: a quoted field opens here and is never closed (the file ends at line ${line} inside it)`;
  return undefined;
}

/** Reads a whole file: records, their origins (for encode's error messages) and skipped rows. */
export async function readRecords(path: string, options: ReadOptions = {}): Promise<{ records: DataRecord[]; origins: RowOrigin[]; skipped: SkippedRow[] }> {
  checkOptions('readRecords', options, { format: true, onError: true, limit: true, encoding: true });
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
