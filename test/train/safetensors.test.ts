/** safetensors: round trips, PyTorch dtypes by hand-built bytes, every validation rule, and a fuzz test. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Generator, Tensor, randn, tensor, train } from '../../src/index.js';

const { encodeSafetensors, decodeSafetensors, CheckpointError } = train;

/** A file from a header object and raw data bytes, as another writer might produce it. */
function file(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Uint8Array {
  const head = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

test('round trip of every dtype with metadata; tensors start 8-byte aligned', () => {
  const rng = new Generator(0);
  const tensors = {
    'encoder.layers.0.weight': randn([3, 5], { rng }),
    'x64': randn([2], { rng, dtype: 'float64' }),
    ids: tensor(Int32Array.from([1, -2, 3]), { shape: [3] }),
    mask: tensor(Uint8Array.from([1, 0]), { shape: [2] }),
    scalar: new Tensor(Float32Array.from([7]), []),
    empty: new Tensor(new Float32Array(0), [0, 4]),
  };
  const bytes = encodeSafetensors(tensors, { format: 'pt', step: '12' });
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLen % 8, 0);
  const back = decodeSafetensors(bytes);
  // a Node Buffer view at an odd offset (Buffer.slice is a view, not a copy) decodes the same
  const viaBuffer = decodeSafetensors(Buffer.concat([Buffer.alloc(3), Buffer.from(bytes)]).subarray(3));
  assert.deepEqual(Array.from(viaBuffer.tensors['encoder.layers.0.weight'].data), Array.from(tensors['encoder.layers.0.weight'].data));
  assert.deepEqual({ ...back.metadata }, { format: 'pt', step: '12' });
  for (const [k, t] of Object.entries(tensors)) {
    assert.equal(back.tensors[k].dtype, t.dtype, k);
    assert.deepEqual([...back.tensors[k].shape], [...t.shape], k);
    assert.deepEqual(Array.from(back.tensors[k].data), Array.from(t.data), k);
  }
});

test('PyTorch dtypes: F16 and BF16 widen to float32, I64 narrows to int32 (range-checked), U8 reads as int32', () => {
  const data = new Uint8Array(2 * 3 + 2 * 2 + 8 * 2 + 2);
  const dv = new DataView(data.buffer);
  [0x3c00, 0xc000, 0x0001].forEach((h, i) => dv.setUint16(2 * i, h, true));   // 1, −2, 2⁻²⁴
  [0x3f80, 0x4049].forEach((h, i) => dv.setUint16(6 + 2 * i, h, true));        // 1, 3.140625
  dv.setBigInt64(10, 5n, true); dv.setBigInt64(18, -7n, true);
  data[26] = 200; data[27] = 3;
  const f = decodeSafetensors(file({
    h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] }, b: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] },
    l: { dtype: 'I64', shape: [2], data_offsets: [10, 26] }, u: { dtype: 'U8', shape: [2], data_offsets: [26, 28] },
  }, data));
  assert.deepEqual(Array.from(f.tensors.h.data), [1, -2, 2 ** -24]);
  assert.deepEqual(Array.from(f.tensors.b.data), [1, 3.140625]);
  assert.deepEqual(Array.from(f.tensors.l.data), [5, -7]);
  assert.equal(f.tensors.l.dtype, 'int32');
  assert.deepEqual(Array.from(f.tensors.u.data), [200, 3]);
  const big = new Uint8Array(8);
  new DataView(big.buffer).setBigInt64(0, 1n << 40n, true);
  assert.throws(() => decodeSafetensors(file({ l: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, big)), /outside int32/);
});

test('every malformed file is a CheckpointError that says what is wrong', () => {
  const four = new Uint8Array(4);
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(3), /shorter than the 8-byte header length/],
    [(() => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, 1n << 40n, true); return b; })(), new RegExp(`exceeds the ${train.MAX_HEADER_BYTES}-byte limit`)],
    [(() => { const b = new Uint8Array(16); new DataView(b.buffer).setBigUint64(0, 100n, true); return b; })(), /runs past the end/],
    [file(null, four, '{"a": '), /not valid JSON/],
    [file(null, four, '[1, 2]'), /must be a JSON object/],
    [(() => { const b = file(null, four, '{"a":1}'); b[9] = 0xff; return b; })(), /not valid UTF-8/],
    [file({ a: { dtype: 'F8', shape: [1], data_offsets: [0, 4] } }, four), /dtype "F8"/],
    [file({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, four), /shape \[-1\]/],
    [file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, four), /= 8 bytes, but data_offsets span 4/],
    [file({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, four), /0 ≤ begin ≤ end/],
    [file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(2)), /past the 2 data bytes/],
    [file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(6)), /2 trailing bytes/],
    [file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [2, 6] } }, new Uint8Array(8)), /overlap/],
    [file({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /gap of 4 bytes/],
    [file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4], extra: 1 } }, four), /unknown keys \[extra\]/],
    [file({ __metadata__: { a: 1 } }), /__metadata__\.a must be a string/],
    [file({ a: { dtype: 'BOOL', shape: [1], data_offsets: [0, 1] } }, Uint8Array.from([2])), /other than 0 and 1/],
    [file({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 20], data_offsets: [0, 4] } }, four), /too large/],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(() => decodeSafetensors(bytes, 'm.safetensors'), (e: Error) => e instanceof CheckpointError && e.message.startsWith('m.safetensors: ') && re.test(e.message), String(re));
  }
  assert.throws(() => encodeSafetensors({ __metadata__: randn([1], { rng: new Generator(0) }) }), /reserved/);
});

test('fuzz: thousands of mutated files load as a tensor set or fail with CheckpointError — nothing else', () => {
  const rng = new Generator(1);
  const base = encodeSafetensors({ w: randn([4, 3], { rng }), b: tensor(Int32Array.from([1, 2]), { shape: [2] }), m: tensor(Uint8Array.from([1, 0, 1]), { shape: [3] }) }, { step: '3' });
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ maxLength: 16 }) }),
    fc.record({ kind: fc.constant('header' as const), text: fc.string({ maxLength: 60 }) }),
  );
  const outcome = (bytes: Uint8Array): void => {
    try {
      const r = decodeSafetensors(bytes, 'fuzz');
      for (const t of Object.values(r.tensors)) assert.ok(t instanceof Tensor);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
    }
  };
  fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
    let b: Uint8Array = base.slice();
    for (const m of muts) {
      if (m.kind === 'flip') b[m.at % b.length] = m.value;
      else if (m.kind === 'truncate') b = b.slice(0, m.at % (b.length + 1));
      else if (m.kind === 'extend') { const n = new Uint8Array(b.length + m.extra.length); n.set(b); n.set(m.extra, b.length); b = n; }
      else {
        // splice arbitrary text into the JSON header and fix up the length prefix
        if (b.length < 8) continue;
        const len = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
        if (b.length < 8 + len || len > 1e6) continue;
        const head = new TextDecoder().decode(b.subarray(8, 8 + len));
        const cut = m.text.length % (head.length + 1);
        b = file(null, b.slice(8 + len), head.slice(0, cut) + m.text + head.slice(cut));
      }
    }
    outcome(b);
  }), { numRuns: 3000, seed: 42 });
  // and random bytes from scratch
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => outcome(b)), { numRuns: 1000, seed: 7 });
});

/** Asserts `fn` throws a CheckpointError whose message matches `re` and stays short. */
function refuses(fn: () => unknown, re: RegExp, maxLen = 400): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${e.name}: ${e.message.slice(0, 200)}`);
    assert.match(e.message, re);
    assert.ok(e.message.length <= maxLen, `message of ${e.message.length} characters: ${e.message.slice(0, 200)}…`);
    return true;
  });
}

test('hostile headers stay CheckpointErrors with short messages: deep nesting, huge shapes, long names', () => {
  let deep = '0';
  for (let i = 0; i < 4103; i++) deep = `[${deep}]`;
  refuses(() => decodeSafetensors(file(null, undefined, `{"a":{"dtype":"F32","shape":${deep},"data_offsets":[0,0]}}`)), /nested deeper than/);
  const huge = `[${Array.from({ length: 1_000_000 }, () => '-1').join(',')}]`;
  refuses(() => decodeSafetensors(file(null, undefined, `{"a":{"dtype":"F32","shape":${huge},"data_offsets":[0,0]}}`)), /'a' has shape \[-1,-1.*…/);
  refuses(() => decodeSafetensors(file({ a: { dtype: 'F32', shape: Array(65).fill(1), data_offsets: [0, 4] } }, new Uint8Array(4))), /65 dims; at most 64/);
  refuses(() => decodeSafetensors(file({ ['n'.repeat(100_000)]: { dtype: 'F99', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4))), /'nnnn.*…' has dtype "F99"/);
  refuses(() => decodeSafetensors(file({ a: { dtype: 'x'.repeat(100_000), shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4))), /dtype "xxx.*…"/);
  refuses(() => decodeSafetensors(file({ __metadata__: { ['k'.repeat(100_000)]: 1 } })), /__metadata__\.kkk.*… must be a string/);
  refuses(() => decodeSafetensors(file(null, undefined, `{"a":{"dtype":"F32","shape":[1],"data_offsets":${deep}}}`)), /nested deeper than/);
});

test('tensor and metadata names that are Object.prototype members load as ordinary names', () => {
  const f = decodeSafetensors(file({
    ['__proto__']: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, constructor: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
    __metadata__: { ['__proto__']: 'p', toString: 's' },
  }, new Uint8Array(Float32Array.from([1, 2]).buffer)));
  assert.deepEqual(Object.keys(f.tensors).sort(), ['__proto__', 'constructor']);
  assert.ok(Object.hasOwn(f.tensors, '__proto__') && f.tensors['__proto__'] instanceof Tensor);
  assert.deepEqual(Array.from(f.tensors['__proto__'].data), [1]);
  assert.deepEqual(Array.from(f.tensors['constructor' as string].data), [2]);
  assert.equal(Object.getPrototypeOf(f.tensors), null);
  assert.deepEqual(Object.entries(f.metadata).sort(), [['__proto__', 'p'], ['toString', 's']]);
  // and they survive a round trip through the writer
  const back = decodeSafetensors(encodeSafetensors(f.tensors, f.metadata));
  assert.deepEqual(Object.keys(back.tensors).sort(), ['__proto__', 'constructor']);
  assert.deepEqual(Array.from(back.tensors['__proto__'].data), [1]);
  assert.equal(back.metadata['__proto__'], 'p');
  // dtype names that are Object.prototype members are not dtypes
  for (const dtype of ['constructor', 'toString', '__proto__']) {
    refuses(() => decodeSafetensors(file({ a: { dtype, shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4))), new RegExp(`dtype "${dtype}"; supported`));
  }
});

test(`the header is bounded before it is parsed: at most ${train.MAX_HEADER_BYTES} bytes and ${train.MAX_TENSORS} tensors`, () => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(train.MAX_HEADER_BYTES + 1), true);
  refuses(() => decodeSafetensors(b), new RegExp(`exceeds the ${train.MAX_HEADER_BYTES}-byte limit`));
  const entries = Array.from({ length: train.MAX_TENSORS + 1 }, (_, i) => `"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
  refuses(() => decodeSafetensors(file(null, undefined, `{${entries.join(',')}}`)), new RegExp(`more than ${train.MAX_TENSORS} tensors`));
  // braces inside names and metadata strings are not entries
  const braces = '{'.repeat(train.MAX_TENSORS + 10);
  const f = decodeSafetensors(file({ __metadata__: { note: braces }, [braces]: { dtype: 'F32', shape: [0], data_offsets: [0, 0] } }));
  assert.equal(f.metadata.note, braces);
  assert.deepEqual(Object.keys(f.tensors), [braces]);
  // exactly at the limit still loads
  const ok = decodeSafetensors(file(null, undefined, `{${entries.slice(1).join(',')}}`));
  assert.equal(Object.keys(ok.tensors).length, train.MAX_TENSORS);
});

test('the writer enforces the reader\'s limits: a checkpoint it writes, --resume can read', () => {
  const refuses = (f: () => unknown, re: RegExp): void => assert.throws(f, (e: Error) => e instanceof CheckpointError && re.test(e.message) && e.message.length < 300);
  const many: Record<string, Tensor> = {};
  for (let i = 0; i <= train.MAX_TENSORS; i++) many[`t${i}`] = new Tensor(new Float32Array(0), [0]);
  refuses(() => encodeSafetensors(many), new RegExp(`more than ${train.MAX_TENSORS} tensors`));
  refuses(() => encodeSafetensors({ deep: new Tensor(new Float32Array(1), new Array(train.MAX_DIMS + 1).fill(1)) }), new RegExp(`${train.MAX_DIMS + 1} dims; at most ${train.MAX_DIMS}`));
  refuses(() => encodeSafetensors({ a: new Tensor(new Float32Array(1), [1]) }, { note: 'x'.repeat(train.MAX_HEADER_BYTES) }), new RegExp(`${train.MAX_HEADER_BYTES}-byte limit`));
  const ok = encodeSafetensors({ deep: new Tensor(new Float32Array(1), new Array(train.MAX_DIMS).fill(1)) });
  assert.deepEqual(decodeSafetensors(ok).tensors.deep.shape, new Array(train.MAX_DIMS).fill(1));
});
