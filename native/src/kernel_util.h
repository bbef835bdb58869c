// What the element-wise, row and convolution kernels share: the threading rule and small helpers.
#pragma once
#include <cmath>
#include <limits>

#include "threadpool.h"

namespace attnkit {
namespace detail {
constexpr float NEG_INF = -std::numeric_limits<float>::infinity();
constexpr long GRAIN = 1 << 15;  // elements below which a kernel stays on one thread

// fn(a, b) over [0, n) split among the pool's threads, or on this thread when the work is small
template <typename F>
void par(long n, long cost_per_item, F&& fn) {
  if (n * cost_per_item < GRAIN || pool().size() == 1) {
    fn(0, n);
    return;
  }
  pool().parallel_for(n, [&](long a, long b, int) { fn(a, b); });
}
inline float sigm(float x) { return x >= 0 ? 1.f / (1.f + std::exp(-x)) : std::exp(x) / (1.f + std::exp(x)); }
}  // namespace detail
}  // namespace attnkit
