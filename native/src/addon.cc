// N-API module: the kernels' bindings are generated from the kernel table
// (src/backend/native/kernelTable.ts → generated/bindings.inc by scripts/gen-kernels.mjs); the
// controls below (instruction set, threads) are the only hand-written exports.
#include <napi.h>

#include <string>
#include <vector>

#include "cpu.h"
#include "kernels.h"
#include "marshal.h"
#include "threadpool.h"

using namespace attnkit;

#include "generated/bindings.inc"

namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", isa_name(active_isa()));
  o.Set("bestIsa", isa_name(detect_isa()));
  o.Set("threads", num_threads());
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
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa));
  generated::register_kernels(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(attnkit_native, Init)
