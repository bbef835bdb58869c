#include "cpu.h"

#include <cstdlib>
#include <cstring>

namespace attnkit {

Isa detect_isa() {
  Isa best = Isa::Generic;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // libgcc's checks include the OS's XSAVE state (XCR0), so a kernel without AVX-512 support reports false
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Isa::Avx2;
  if (best == Isa::Avx2 && __builtin_cpu_supports("avx512f")) best = Isa::Avx512;
#elif defined(__wasm_simd128__)
  best = Isa::Avx2;  // the 8-lane kernels, on SIMD128 through avx2_wasm.h
#endif
  if (const char* env = std::getenv("ATTNKIT_ISA")) {
    Isa cap = std::strcmp(env, "generic") == 0 ? Isa::Generic : std::strcmp(env, "avx2") == 0 ? Isa::Avx2 : Isa::Avx512;
    if (static_cast<int>(cap) < static_cast<int>(best)) best = cap;
  }
  return best;
}

static Isa g_isa = detect_isa();
Isa active_isa() { return g_isa; }
void set_isa(Isa isa) {
  Isa best = detect_isa();
  g_isa = static_cast<int>(isa) < static_cast<int>(best) ? isa : best;
}
const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
#if defined(__wasm_simd128__)
    case Isa::Avx2: return "simd128";
#else
    case Isa::Avx2: return "avx2";
#endif
    default: return "generic";
  }
}

}  // namespace attnkit
