// A growable 64-byte-aligned float scratch buffer, kept per thread by the kernels that tile.
#pragma once
#include <cstddef>
#include <cstdlib>

namespace attnkit {
// unnamed: the AVX2 translation units include this too, and must not share compiled member
// functions with the portable ones (the linker could pick an AVX2-compiled copy for both)
namespace {

struct AlignedBuf {
  float* p = nullptr;
  size_t n = 0;
  AlignedBuf() = default;
  AlignedBuf(const AlignedBuf&) = delete;
  AlignedBuf& operator=(const AlignedBuf&) = delete;
  ~AlignedBuf() { std::free(p); }
  // at least `want` floats; the contents are not kept when it grows
  float* get(size_t want) {
    if (want > n) {
      std::free(p);
      n = (want + 15) & ~size_t(15);
      p = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
    }
    return p;
  }
};

}  // namespace
}  // namespace attnkit
