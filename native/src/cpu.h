#pragma once
#if defined(__x86_64__) || defined(__i386__)
#define ATTNKIT_X86 1
#else
#define ATTNKIT_X86 0
#endif

namespace attnkit {
enum class Isa { Generic = 0, Avx2 = 1, Avx512 = 2 };
// Best instruction set this CPU (and OS) supports, capped by ATTNKIT_ISA=generic|avx2|avx512. On
// WebAssembly, Avx2 names the 8-lane kernels built on SIMD128 (avx2_wasm.h), reported as "simd128".
// AVX-512 exists on x86 only (X86 below).
Isa detect_isa();
Isa active_isa();
void set_isa(Isa isa);
const char* isa_name(Isa isa);
}  // namespace attnkit
