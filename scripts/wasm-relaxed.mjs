// Relaxed SIMD's final opcodes for emscripten 3.1.6's output (used by build-wasm.mjs for the *-rx builds).
// Its clang 14 compiles __builtin_wasm_fma_f32x4 (with -mrelaxed-simd) to the proposal's prototype opcode,
// 0xfd 0xaf (f32x4.relaxed_fma), which no shipping engine accepts; the standard's f32x4.relaxed_madd is
// 0xfd 0x105. Both immediates are two-byte LEB128s (af 01, 85 02), so the function bodies keep their sizes
// and every offset in the module stays valid. The rewrite decodes every instruction of every function
// body: a byte pattern search would also hit constants and memory offsets that happen to hold fd af 01.
// Which operand is which (prototype fma(a, b, c) is a + b·c, relaxed_madd(a, b, c) is a·b + c) is the
// build's concern: avx2_wasm.h's ak_madd4 is written for the standard's order, and test/backend checks it.

const PROTO_FMA_F32X4 = 0xaf;
const RELAXED_MADD_F32X4 = 0x105;

/** A reader over `bytes` from `pos`. */
class Reader {
  constructor(bytes, pos) { this.b = bytes; this.pos = pos; }
  byte() {
    if (this.pos >= this.b.length) throw new Error(`wasm-relaxed: unexpected end of module at byte ${this.pos}`);
    return this.b[this.pos++];
  }
  u32() {
    let result = 0, shift = 0, byte;
    do {
      byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  }
  /** A signed LEB128 (i32.const, i64.const, a block type's type index): only its length matters here. */
  sleb() { while (this.byte() & 0x80); }
  skip(n) { this.pos += n; }
  memarg() { this.u32(); this.u32(); }
}

/** Value types a block can name by one byte (i32 … v128, funcref, externref) and the empty type. */
const BLOCK_BYTES = new Set([0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

/**
 * Reads one function body's instructions from r.pos to `end`, calling `onSimd(op, opStart)` for each
 * 0xfd-prefixed instruction, where opStart is the offset of its LEB128 opcode.
 */
function walkBody(r, end, onSimd) {
  while (r.pos < end) {
    const op = r.byte();
    if (op === 0x02 || op === 0x03 || op === 0x04) {  // block, loop, if: a block type
      if (BLOCK_BYTES.has(r.b[r.pos])) r.skip(1); else r.sleb();
    } else if (op === 0x0c || op === 0x0d || op === 0x10 || op === 0x12 || (op >= 0x20 && op <= 0x26) || op === 0xd2
      || op === 0x08 || op === 0x09 || op === 0x07 || op === 0x18) {
      r.u32();  // br, br_if, call, return_call, local.*, global.*, table.get/set, ref.func; throw, rethrow, catch, delegate
    } else if (op === 0x0e) {  // br_table
      const n = r.u32();
      for (let i = 0; i <= n; i++) r.u32();
    } else if (op === 0x11 || op === 0x13) { r.u32(); r.u32(); }  // call_indirect, return_call_indirect
    else if (op === 0x06) { if (BLOCK_BYTES.has(r.b[r.pos])) r.skip(1); else r.sleb(); }  // try
    else if (op === 0x1c) { const n = r.u32(); r.skip(n); }  // select t*
    else if (op >= 0x28 && op <= 0x3e) r.memarg();
    else if (op === 0x3f || op === 0x40) r.skip(1);  // memory.size, memory.grow
    else if (op === 0x41 || op === 0x42) r.sleb();
    else if (op === 0x43) r.skip(4);
    else if (op === 0x44) r.skip(8);
    else if (op === 0xd0) r.skip(1);  // ref.null t
    else if (op === 0xfc) {
      const sub = r.u32();
      if (sub === 8) { r.u32(); r.skip(1); }  // memory.init
      else if (sub === 10) r.skip(2);  // memory.copy
      else if (sub === 11) r.skip(1);  // memory.fill
      else if (sub === 12 || sub === 14) { r.u32(); r.u32(); }  // table.init, table.copy
      else if (sub === 9 || sub === 13 || (sub >= 15 && sub <= 17)) r.u32();  // data.drop, elem.drop, table.grow/size/fill
      else if (sub > 7) throw new Error(`wasm-relaxed: unknown opcode 0xfc ${sub} at byte ${r.pos}`);  // 0–7: trunc_sat, no immediate
    } else if (op === 0xfd) {
      const at = r.pos;
      const sub = r.u32();
      // SIMD128 ends at 0xff, the standard relaxed SIMD at 0x113 (both no immediates beyond those below)
      if (sub > 0x113) throw new Error(`wasm-relaxed: unknown opcode 0xfd ${sub} at byte ${at}`);
      onSimd(sub, at);
      if (sub <= 0x0b || sub === 0x5c || sub === 0x5d) r.memarg();  // loads, splats, v128.store, load*_zero
      else if (sub === 0x0c || sub === 0x0d) r.skip(16);  // v128.const, i8x16.shuffle
      else if (sub >= 0x15 && sub <= 0x22) r.skip(1);  // extract/replace lane
      else if (sub >= 0x54 && sub <= 0x5b) { r.memarg(); r.skip(1); }  // load/store lane
    } else if (op === 0xfe) {
      const sub = r.u32();
      if (sub === 0x03) r.skip(1);  // atomic.fence
      else if (sub <= 0x4e) r.memarg();  // notify, waits, atomic loads, stores and read-modify-writes
      else throw new Error(`wasm-relaxed: unknown opcode 0xfe ${sub} at byte ${r.pos}`);
    } else if (op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x1a || op === 0x1b || op === 0x19 || op === 0xd1
      || (op >= 0x45 && op <= 0xc4)) {
      // no immediate
    } else {
      throw new Error(`wasm-relaxed: unknown opcode 0x${op.toString(16)} at byte ${r.pos - 1}`);
    }
  }
  if (r.pos !== end) throw new Error(`wasm-relaxed: a function body ends at byte ${r.pos}, not ${end}`);
}

/**
 * Calls `onSimd(op, opStart)` for every 0xfd-prefixed instruction of every function body of a wasm
 * module, decoding each instruction (opStart: the offset of the LEB128 opcode after 0xfd). Throws on a
 * module it cannot decode.
 */
export function walkSimd(bytes, onSimd) {
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new Error('wasm-relaxed: not a wasm module');
  const r = new Reader(bytes, 8);
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (id === 10) {  // code
      const count = r.u32();
      for (let f = 0; f < count; f++) {
        const bodySize = r.u32();
        const bodyEnd = r.pos + bodySize;
        const groups = r.u32();
        for (let g = 0; g < groups; g++) { r.u32(); r.skip(1); }  // count, value type
        walkBody(r, bodyEnd, onSimd);
      }
    }
    r.pos = end;
  }
}

/** How many f32x4.relaxed_madd instructions (the standard's opcode) a wasm module holds. */
export function relaxedMaddCount(bytes) {
  let n = 0;
  walkSimd(bytes, (op) => { if (op === RELAXED_MADD_F32X4) n++; });
  return n;
}

/**
 * Rewrites the prototype f32x4.relaxed_fma opcodes of a wasm module to the standard's
 * f32x4.relaxed_madd, in place. Returns how many it rewrote. Throws on a module it cannot decode.
 */
export function finalizeRelaxedSimd(bytes) {
  let patched = 0;
  walkSimd(bytes, (op, at) => {
    if (op !== PROTO_FMA_F32X4) return;
    if (bytes[at] !== 0xaf || bytes[at + 1] !== 0x01) throw new Error(`wasm-relaxed: f32x4.relaxed_fma at byte ${at} is not encoded as af 01`);
    bytes[at] = 0x80 | (RELAXED_MADD_F32X4 & 0x7f);
    bytes[at + 1] = RELAXED_MADD_F32X4 >> 7;
    patched++;
  });
  return patched;
}
