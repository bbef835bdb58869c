/**
 * UTF-8 checking for the text readers: bytes that are not UTF-8 would otherwise be decoded to
 * U+FFFD silently and train on the wrong text. `Utf8Check` takes a file chunk by chunk (a
 * character may straddle two chunks), passes through valid bytes at native speed
 * (`buffer.isUtf8`), and on the first bad byte throws a DataError with its line and column.
 */
import { isUtf8 } from 'node:buffer';
import { Transform } from 'node:stream';
import { DataError } from '../../errors.js';

/** Length of the sequence a lead byte starts (0: not a lead byte). */
function seqLength(b: number): number {
  return b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
}

/** Index of the first byte of the first invalid sequence in `b` (UTF-8 as `isUtf8` reads it), or -1. */
function firstInvalid(b: Uint8Array): number {
  for (let i = 0; i < b.length;) {
    const n = seqLength(b[i]);
    if (n === 0 || i + n > b.length) return i;
    // the second byte's range excludes overlong forms, surrogates and code points past U+10FFFF
    const lo = b[i] === 0xe0 ? 0xa0 : b[i] === 0xf0 ? 0x90 : 0x80;
    const hi = b[i] === 0xed ? 0x9f : b[i] === 0xf4 ? 0x8f : 0xbf;
    if (n > 1 && (b[i + 1] < lo || b[i + 1] > hi)) return i;
    for (let k = 2; k < n; k++) if ((b[i + k] & 0xc0) !== 0x80) return i;
    i += n;
  }
  return -1;
}

/** Bytes at the end of `b` that begin a character the next chunk completes (0–3). */
function incompleteTail(b: Uint8Array): number {
  for (let k = 1; k <= Math.min(3, b.length); k++) {
    const x = b[b.length - k];
    if ((x & 0xc0) === 0x80) continue;
    const n = seqLength(x);
    return n > k ? k : 0;
  }
  return 0;
}

/** Characters (non-continuation bytes) in b[from, to). */
function chars(b: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if ((b[i] & 0xc0) !== 0x80) n++;
  return n;
}

/** Checks a file's bytes chunk by chunk; `where` names the file in messages. */
export class Utf8Check {
  private line = 1;
  private column = 0;
  private carry: Buffer = Buffer.alloc(0);
  constructor(private readonly where: string) {}

  /** Throws DataError at the first byte that is not UTF-8. */
  check(chunk: Buffer): void {
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const body = buf.subarray(0, buf.length - incompleteTail(buf));
    if (!isUtf8(body)) this.fail(body, firstInvalid(body));
    this.advance(body, body.length);
    this.carry = Buffer.from(buf.subarray(body.length));
  }

  /** At the end of the file: a character cut off by the end is an error too. */
  end(): void {
    if (this.carry.length) this.fail(this.carry, 0);
  }

  private advance(b: Uint8Array, to: number): void {
    let last = -1;
    for (let i = b.indexOf(0x0a); i >= 0 && i < to; i = b.indexOf(0x0a, i + 1)) { this.line++; last = i; }
    this.column = last >= 0 ? chars(b, last + 1, to) : this.column + chars(b, 0, to);
  }

  private fail(b: Uint8Array, at: number): never {
    this.advance(b, at);
    throw new DataError(`${this.where}:${this.line}: not valid UTF-8 (byte 0x${b[at].toString(16).padStart(2, '0')} at column ${this.column + 1}); `
      + "save the file as UTF-8, or read it as Latin-1 (encoding: 'latin1'; in a run config data.encoding: latin1; on the command line --encoding latin1)");
  }
}

/** A pass-through stream that errors with the DataError of `Utf8Check` at the first bad byte. */
export function utf8Checked(where: string): Transform {
  const check = new Utf8Check(where);
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      try { check.check(chunk); done(null, chunk); } catch (e) { done(e as Error); }
    },
    flush(done) {
      try { check.end(); done(); } catch (e) { done(e as Error); }
    },
  });
}
