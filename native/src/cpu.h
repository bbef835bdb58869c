#pragma once
namespace attnkit {
enum class Isa { Generic = 0, Avx2 = 1, Avx512 = 2 };
// Best instruction set this CPU (and OS) supports, capped by ATTNKIT_ISA=generic|avx2|avx512.
Isa detect_isa();
Isa active_isa();
void set_isa(Isa isa);
const char* isa_name(Isa isa);
}  // namespace attnkit
