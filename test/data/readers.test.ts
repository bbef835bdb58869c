/**
 * File readers refuse input they would otherwise read wrongly: a header naming one column twice,
 * bytes that are not UTF-8 (which would become U+FFFD), and a quote that never closes (reported
 * where it opened, not where the parser gave up).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, data } from '../../src/node.js';

const dir = mkdtempSync(join(tmpdir(), 'attnkit-readers-'));
const file = (name: string, content: string | Buffer): string => { const p = join(dir, name); writeFileSync(p, content); return p; };
const rejects = (p: Promise<unknown>, message: RegExp): Promise<void> => assert.rejects(p, (e: Error) => {
  assert.ok(e instanceof DataError, `${e.name}: ${e.message}`);
  assert.match(e.message, message);
  return true;
});

test('a CSV header naming a column twice is a DataError naming the column and both positions', async () => {
  const p = file('dup.csv', 'wage,education,education,sex\n5.1,8,12,F\n4.9,9,14,M\n');
  await rejects(data.readRecords(p), /dup\.csv: column 'education' appears twice in the header \(columns 2 and 3\)/);
  // also when malformed rows are skipped: the header is not a row to skip
  await rejects(data.readRecords(p, { onError: 'skip' }), /column 'education' appears twice/);
  const tsv = file('dup.tsv', 'a\tb\ta\n1\t2\t3\n');
  await rejects(data.readRecords(tsv), /dup\.tsv: column 'a' appears twice in the header \(columns 1 and 3\)/);
  // unnamed columns (an export's trailing commas) may repeat: no field can be called ''
  const trailing = await data.readRecords(file('trailing.csv', 'a,b,,\n1,2,,\n'));
  assert.deepEqual(trailing.records, [{ a: '1', b: '2', '': '' }]);
});

test('bytes that are not UTF-8 are a DataError with file:line (CSV, TSV, JSONL, JSON), unless encoding says latin1', async () => {
  const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');
  const csv = file('bad.csv', Buffer.concat([Buffer.from('name,city\nAnna,Oslo\nBo,Bergen\n'), latin1('Zoë,Tromsø\n'), Buffer.from('Eve,Rome\n')]));
  await rejects(data.readRecords(csv), /bad\.csv:4: not valid UTF-8 \(byte 0xeb at column 3\)/);
  await rejects(data.readRecords(csv, { onError: 'skip' }), /bad\.csv:4: not valid UTF-8/);
  const l1 = await data.readRecords(csv, { encoding: 'latin1' });
  assert.deepEqual(l1.records[2], { name: 'Zoë', city: 'Tromsø' });
  const tsv = file('bad.tsv', Buffer.concat([Buffer.from('a\tb\n1\t2\n'), Buffer.from([0x33, 0x09, 0xc3, 0x28, 0x0a])]));
  await rejects(data.readRecords(tsv), /bad\.tsv:3: not valid UTF-8 \(byte 0xc3 at column 3\)/);
  const jsonl = file('bad.jsonl', Buffer.concat([Buffer.from('{"a": "x"}\n{"a": "y"}\n{"a": "'), Buffer.from([0xff]), Buffer.from('"}\n')]));
  await rejects(data.readRecords(jsonl), /bad\.jsonl:3: not valid UTF-8 \(byte 0xff at column 8\)/);
  const json = file('bad.json', Buffer.concat([Buffer.from('[\n{"a": 1},\n{"a": "'), Buffer.from([0xe2, 0x82]), Buffer.from('"}\n]\n')]));
  await rejects(data.readRecords(json), /bad\.json:3: not valid UTF-8/);
  // a multi-byte character split across read chunks is still valid
  const long = file('long.csv', `tt\n${'é'.repeat(40_000)}\n${'ü'.repeat(70_001)}x\n`);
  const ok = await data.readRecords(long);
  assert.deepEqual(ok.records.map((r) => (r.tt as string).length), [40_000, 70_002]);
  // a bad byte far into a file is located by line
  const far = file('far.csv', Buffer.concat([Buffer.from(`v\n${'12345678\n'.repeat(9_999)}`), Buffer.from([0x31, 0x80, 0x0a])]));
  await rejects(data.readRecords(far), /far\.csv:10001: not valid UTF-8 \(byte 0x80 at column 2\)/);
  // a character cut off by the end of the file
  const cut = file('cut.jsonl', Buffer.concat([Buffer.from('{"a": 1}\n{"a": 2}'), Buffer.from([0xe2, 0x82])]));
  await rejects(data.readRecords(cut), /cut\.jsonl:2: not valid UTF-8 \(byte 0xe2 at column 9\)/);
  await rejects(data.readRecords(join(dir, 'none.jsonl')), /no such file/);
  await rejects(data.readRecords(join(dir, 'none.csv')), /no such file/);
});

test('a quote that never closes is reported at the line where it opened', async () => {
  const rows = Array.from({ length: 534 }, (_, i) => (i === 49 ? `${i},"open,x` : `${i},y,z`));
  const p = file('quote.csv', `a,b,c\n${rows.join('\n')}\n`);
  await rejects(data.readRecords(p), /quote\.csv:51: a quoted field opens here and is never closed/);
  // skipping malformed rows does not hide it: the rest of the file would vanish as one "row"
  await rejects(data.readRecords(p, { onError: 'skip' }), /quote\.csv:51: a quoted field opens here and is never closed/);
  // closed later by an unrelated quote: the parser stops there; the message names both lines
  const mid = file('mid.csv', 'a,b\n1,2\n3,"x\n4,5\n6,"7"\n8,9\n');
  await rejects(data.readRecords(mid), /mid\.csv:3: the quoted field opened here closes on line 5 followed by "7"/);
  // CRLF line ends, and blank lines before the record
  const crlf = file('crlf.csv', 'a,b\r\n1,2\r\n\r\n3,"x\r\n4,5\r\n6,7\r\n');
  await rejects(data.readRecords(crlf), /crlf\.csv:4: a quoted field opens here and is never closed/);
  // quoted fields with doubled quotes and newlines still read, and lines stay right
  const good = file('good.csv', 'a,b\n"say ""hi""","two\nlines"\n3,4\n');
  const r = await data.readRecords(good);
  assert.deepEqual(r.records, [{ a: 'say "hi"', b: 'two\nlines' }, { a: '3', b: '4' }]);
  assert.deepEqual(r.origins.map((o) => o.line), [3, 4]);
});
