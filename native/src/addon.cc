// N-API module: the kernels' bindings are generated from the kernel table
// (src/backend/native/kernelTable.ts → generated/bindings.inc by scripts/gen-kernels.mjs); the
// controls below (instruction set, threads) are the only hand-written exports.
#include <napi.h>

#include <cstdlib>
#include <string>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "cpu.h"
#include "kernels.h"
#include "marshal.h"
#include "threadpool.h"

using namespace attnkit;

#include "generated/bindings.inc"

namespace {

// Tensor data are ArrayBuffers from glibc's malloc. By default each large one is a fresh mmap (the
// threshold starts at 128 KiB) and freed memory above 128 KiB at the heap's top goes back to the
// system, so every op's output pays a page fault per 4 KiB on first touch — on the development VM
// (AMD EPYC, 2 cores) that was half of attention forward B8 H8 L512 (39.5 → 17.5 ms) and of
// matmul 1024³ (17.3 → 7.9 ms). Keeping freed memory for reuse removes that; the cost is that the
// process keeps its high-water mark of memory instead of returning it. The user's own settings win:
// ATTNKIT_MALLOC=system, or any MALLOC_*_ / GLIBC_TUNABLES variable, leaves glibc's defaults.
const char* tune_malloc() {
#if defined(__GLIBC__)
  const char* opt = std::getenv("ATTNKIT_MALLOC");
  if (opt && std::string(opt) == "system") return "system";
  for (const char* v : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_", "GLIBC_TUNABLES"})
    if (std::getenv(v)) return "system";
  if (!mallopt(M_MMAP_THRESHOLD, 256 << 20)) mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc caps it at 32 MiB on some versions
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  return "retain";
#else
  return "system";
#endif
}
const char* g_malloc = "system";

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", isa_name(active_isa()));
  o.Set("bestIsa", isa_name(detect_isa()));
  o.Set("threads", num_threads());
  o.Set("malloc", g_malloc);
  return o;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  long n = 0;
  if (marshal::scalar(info.Env(), info[0], n, "setNumThreads", "n")) set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  std::string s = info[0].As<Napi::String>().Utf8Value();
  set_isa(s == "generic" ? Isa::Generic : s == "avx2" ? Isa::Avx2 : Isa::Avx512);
  return Napi::String::New(info.Env(), isa_name(active_isa()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  g_malloc = tune_malloc();
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa));
  generated::register_kernels(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(attnkit_native, Init)
