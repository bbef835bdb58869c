/**
 * The safetensors reader: valid files of every dtype, then structure-aware damage — flipped,
 * truncated and appended bytes, a wrong length prefix, header edits (keys removed, retyped,
 * added; odd dtypes, shapes and offsets; names like `__proto__`), deep and huge headers.
 * Only CheckpointError may escape; an accepted file must hold exactly the header's tensor names.
 */
import { CheckpointError, MAX_HEADER_BYTES, MAX_TENSORS } from '../../../src/tensor/safetensors.js';
import { Generator, Tensor, randn, tensor, train } from '../../../src/index.js';
import { chance, mutateObject, nested, oddValue, pick, type FuzzTarget } from '../harness.js';

const { encodeSafetensors, decodeSafetensors } = train;

const DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'U8', 'BOOL', 'F8_E4M3', 'I16', 'f32', '', 'constructor', 'toString', '__proto__', 'hasOwnProperty'];
const NAMES = ['w', 'encoder.layers.0.weight', '__proto__', 'constructor', 'toString', '__metadata__', '', 'a'.repeat(300), '💥'];

/** A valid file of a few tensors (float, int, bool, empty, scalar) with metadata. */
function validFile(rng: Generator): Uint8Array {
  const tensors: Record<string, Tensor> = {};
  const n = rng.int(0, 5);
  for (let i = 0; i < n; i++) {
    const name = chance(rng, 0.2) ? pick(rng, NAMES.filter((x) => x !== '__metadata__')) : `t${i}`;
    const shape = Array.from({ length: rng.int(0, 4) }, () => rng.int(0, 4));
    switch (rng.int(0, 4)) {
      case 0: tensors[name] = randn(shape, { rng }); break;
      case 1: tensors[name] = randn(shape, { rng, dtype: 'float64' }); break;
      case 2: tensors[name] = tensor(Int32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.int(-9, 9)), { shape }); break;
      default: tensors[name] = tensor(Uint8Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.int(0, 2)), { shape });
    }
  }
  return encodeSafetensors(tensors, chance(rng, 0.5) ? { format: 'pt', step: String(rng.int(0, 100)) } : {});
}

/** A file from header text and data bytes, the length prefix optionally wrong. */
function assemble(text: string, data: Uint8Array, rng: Generator): Uint8Array {
  const head = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + head.length + data.length);
  let len = BigInt(head.length);
  if (chance(rng, 0.05)) len = pick(rng, [0n, 1n, BigInt(head.length + 1), BigInt(head.length - 1), BigInt(MAX_HEADER_BYTES + 1), 2n ** 63n, 2n ** 64n - 1n]);
  new DataView(out.buffer).setBigUint64(0, len < 0n ? 0n : len, true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

function split(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}

/** Header edits aimed at the validator's rules. */
function editHeader(rng: Generator, header: Record<string, unknown>): void {
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const e = names.length ? header[pick(rng, names)] : null;
  const entry = e !== null && typeof e === 'object' ? e as Record<string, unknown> : null;
  switch (rng.int(0, 10)) {
    case 0: if (entry) entry.dtype = pick(rng, DTYPES); break;
    case 1: if (entry) entry.shape = pick(rng, [[], [-1], [1.5], [2 ** 53], [2 ** 40, 2 ** 20], ['2'], [null], Array(65).fill(1), Array(rng.int(1, 3000)).fill(0), nested(rng.int(2, 40)), [0, 2 ** 52]]); break;
    case 2: if (entry) { const o = Array.isArray(entry.data_offsets) && entry.data_offsets.length === 2 ? entry.data_offsets as number[] : [0, 4]; entry.data_offsets = pick(rng, [[o[1], o[0]], [o[0], o[1] + 1], [o[0] + 1, o[1] + 1], [0], [0, 0, 0], [-1, 0], [0, 2 ** 53], ['0', '4'], [1.5, 2], null]); } break;
    case 3: header[pick(rng, NAMES)] = { dtype: pick(rng, DTYPES), shape: [rng.int(0, 3)], data_offsets: [rng.int(0, 20), rng.int(0, 40)] }; break;
    case 4: header.__metadata__ = pick(rng, [{ a: 1 }, { ['__proto__']: 'x' }, [], 'meta', null, { k: 'v'.repeat(rng.int(0, 10_000)) }, { nested: { a: 'b' } }]); break;
    case 5: if (entry) entry[pick(rng, ['extra', '__proto__', 'DTYPE'])] = oddValue(rng); break;
    default: mutateObject(rng, header, ['dtype', 'shape', 'data_offsets', '__metadata__']);
  }
}

/** Headers too big or too deep to be worth parsing. */
function hostileHeader(rng: Generator): string {
  switch (rng.int(0, 4)) {
    case 0: { let s = '0'; for (let i = rng.int(5, 5000); i > 0; i--) s = `[${s}]`; return `{"a":{"dtype":"F32","shape":${s},"data_offsets":[0,0]}}`; }
    // many tensors: over the limit (refused before parsing) or a few thousand (accepted, linear cost)
    case 1: return `{${Array.from({ length: chance(rng, 0.5) ? MAX_TENSORS + rng.int(1, 3) : rng.int(1000, 8000) }, (_, i) => `"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`).join(',')}}`;
    case 2: return `{"a":{"dtype":"F32","shape":[${Array(rng.int(1, 200_000)).fill(rng.int(-1, 2)).join(',')}],"data_offsets":[0,0]}}`;
    default: return `{"__metadata__":{"k":"${'{['.repeat(rng.int(1, 100_000))}"}}`;
  }
}

type Input = Uint8Array;

const target: FuzzTarget<Input> = {
  name: 'safetensors',
  allowed: [CheckpointError],
  ciCount: 3000,
  generate(rng) {
    if (chance(rng, 0.002)) return assemble(hostileHeader(rng), new Uint8Array(0), rng);
    let bytes = validFile(rng);
    const rounds = rng.int(0, 4);
    for (let r = 0; r < rounds; r++) {
      switch (rng.int(0, 6)) {
        case 0: { bytes = bytes.slice(); for (let k = rng.int(1, 4); k > 0; k--) bytes[rng.int(0, bytes.length)] = rng.int(0, 256); break; }
        case 1: bytes = bytes.slice(0, rng.int(0, bytes.length + 1)); break;
        case 2: { const extra = Uint8Array.from({ length: rng.int(1, 17) }, () => rng.int(0, 256)); const b = new Uint8Array(bytes.length + extra.length); b.set(bytes); b.set(extra, bytes.length); bytes = b; break; }
        default: {
          let parts;
          try { parts = split(bytes); } catch { break; }                 // already damaged beyond a header edit
          if (parts.header === null || typeof parts.header !== 'object' || Array.isArray(parts.header)) break;
          editHeader(rng, parts.header);
          bytes = assemble(JSON.stringify(parts.header) ?? 'null', chance(rng, 0.2) ? parts.data.subarray(0, rng.int(0, parts.data.length + 1)) : parts.data, rng);
        }
      }
    }
    if (chance(rng, 0.01)) bytes = Uint8Array.from({ length: rng.int(0, 64) }, () => rng.int(0, 256));
    return bytes;
  },
  run(bytes) {
    const f = decodeSafetensors(bytes, 'fuzz');
    // an accepted file keeps every tensor name of its header as an own key
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const names = Object.keys(JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)))).filter((k) => k !== '__metadata__');
    const got = Object.keys(f.tensors);
    if (got.length !== names.length || !names.every((k) => Object.hasOwn(f.tensors, k) && f.tensors[k] instanceof Tensor)) {
      throw new Error(`decodeSafetensors lost tensors: header names [${names.join(', ')}], result [${got.join(', ')}]`);
    }
    return f;
  },
  describe: (b) => { try { const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true)); return `${b.length} bytes, header ${new TextDecoder().decode(b.subarray(8, 8 + Math.min(n, 300)))}`; } catch { return `${b.length} bytes`; } },
};
export default target;
