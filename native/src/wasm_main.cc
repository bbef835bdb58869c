// The WebAssembly build's hand-written exports (addon.cc's controls for N-API): the kernels' exports
// are generated from the kernel table into generated/wasm_exports.cc. Compiled by scripts/build-wasm.mjs.
#include <emscripten/emscripten.h>

#include "cpu.h"
#include "threadpool.h"

using namespace attnkit;

extern "C" {

EMSCRIPTEN_KEEPALIVE int ak_threads() { return num_threads(); }
EMSCRIPTEN_KEEPALIVE void ak_set_num_threads(int n) { set_num_threads(n); }
// instruction sets as cpu.h's codes: 0 generic, 1 the 8-lane kernels on SIMD128
EMSCRIPTEN_KEEPALIVE int ak_isa() { return static_cast<int>(active_isa()); }
EMSCRIPTEN_KEEPALIVE int ak_best_isa() { return static_cast<int>(detect_isa()); }
EMSCRIPTEN_KEEPALIVE int ak_set_isa(int isa) {
  set_isa(static_cast<Isa>(isa));
  return static_cast<int>(active_isa());
}

}  // extern "C"
