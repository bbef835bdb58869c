// N-API bindings: typed arrays are passed by pointer, never copied. The JS side
// (src/backend/native/) validates shapes and lengths before calling in.
#include <napi.h>

#include <cstring>
#include <vector>

#include "attention.h"
#include "cpu.h"
#include "gemm.h"
#include "kernels.h"
#include "threadpool.h"

using namespace attnkit;

namespace {

float* F32(const Napi::Value& v) { return v.As<Napi::Float32Array>().Data(); }
float* F32OrNull(const Napi::Value& v) { return v.IsNull() || v.IsUndefined() ? nullptr : F32(v); }
long L(const Napi::Value& v) { return static_cast<long>(v.As<Napi::Number>().Int64Value()); }
bool B(const Napi::Value& v) { return v.As<Napi::Boolean>().Value(); }
std::vector<long> Longs(const Napi::Value& v) {
  Napi::Array a = v.As<Napi::Array>();
  std::vector<long> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out[i] = static_cast<long>(a.Get(i).As<Napi::Number>().Int64Value());
  return out;
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", isa_name(active_isa()));
  o.Set("bestIsa", isa_name(detect_isa()));
  o.Set("threads", num_threads());
  return o;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  set_num_threads(static_cast<int>(L(info[0])));
  return info.Env().Undefined();
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  std::string s = info[0].As<Napi::String>().Utf8Value();
  set_isa(s == "generic" ? Isa::Generic : s == "avx2" ? Isa::Avx2 : Isa::Avx512);
  return Napi::String::New(info.Env(), isa_name(active_isa()));
}

// gemm(a, aOff, b, bOff, out, oOff, M, N, K, transA, transB, accumulate, bias?)
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  long M = L(info[6]), N = L(info[7]), K = L(info[8]);
  bool ta = B(info[9]), tb = B(info[10]);
  sgemm(ta, tb, M, N, K, F32(info[0]) + L(info[1]), ta ? M : K, F32(info[2]) + L(info[3]), tb ? K : N,
        F32(info[4]) + L(info[5]), N, B(info[11]), true, F32OrNull(info[12]));
  return info.Env().Undefined();
}

// gemmBatched(a, b, out, offsets [a0, b0, o0, a1, b1, o1, …] (Float64Array), M, N, K, transA, transB)
Napi::Value GemmBatched(const Napi::CallbackInfo& info) {
  Napi::Float64Array off = info[3].As<Napi::Float64Array>();
  long count = static_cast<long>(off.ElementLength() / 3);
  const double* od = off.Data();
  std::vector<long> ao(count), bo(count), oo(count);
  for (long i = 0; i < count; i++) {
    ao[i] = static_cast<long>(od[3 * i]);
    bo[i] = static_cast<long>(od[3 * i + 1]);
    oo[i] = static_cast<long>(od[3 * i + 2]);
  }
  sgemm_batched(B(info[7]), B(info[8]), L(info[4]), L(info[5]), L(info[6]), F32(info[0]), ao.data(), F32(info[1]), bo.data(),
                F32(info[2]), oo.data(), count, false);
  return info.Env().Undefined();
}

Napi::Value UnaryOp(const Napi::CallbackInfo& info) {
  Napi::Float32Array x = info[1].As<Napi::Float32Array>();
  unary(static_cast<Unary>(L(info[0])), x.Data(), F32(info[2]), static_cast<long>(x.ElementLength()));
  return info.Env().Undefined();
}

// stridedCopy(src, offset, strides, shape, out)
Napi::Value StridedCopy(const Napi::CallbackInfo& info) {
  std::vector<long> st = Longs(info[2]), sh = Longs(info[3]);
  strided_copy(F32(info[0]), L(info[1]), st.data(), sh.data(), static_cast<int>(sh.size()), F32(info[4]));
  return info.Env().Undefined();
}

// stridedScatter(dst, offset, strides, shape, src, assign)
Napi::Value StridedScatter(const Napi::CallbackInfo& info) {
  std::vector<long> st = Longs(info[2]), sh = Longs(info[3]);
  strided_scatter(F32(info[0]), L(info[1]), st.data(), sh.data(), static_cast<int>(sh.size()), F32(info[4]),
                  info[5].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// unaryBackward(op, x, y, g, out)
Napi::Value UnaryBackwardOp(const Napi::CallbackInfo& info) {
  Napi::Float32Array x = info[1].As<Napi::Float32Array>();
  unary_backward(static_cast<Unary>(L(info[0])), x.Data(), F32(info[2]), F32(info[3]), F32(info[4]), static_cast<long>(x.ElementLength()));
  return info.Env().Undefined();
}

// dropout(x, out, p, seed)
Napi::Value DropoutOp(const Napi::CallbackInfo& info) {
  Napi::Float32Array x = info[0].As<Napi::Float32Array>();
  dropout(x.Data(), F32(info[1]), static_cast<long>(x.ElementLength()), info[2].As<Napi::Number>().DoubleValue(),
          info[3].As<Napi::Number>().Uint32Value());
  return info.Env().Undefined();
}

// binary(op, a, aShape, b, bShape, outShape, out)
Napi::Value BinaryOp(const Napi::CallbackInfo& info) {
  std::vector<long> as = Longs(info[2]), bs = Longs(info[4]), os = Longs(info[5]);
  binary(static_cast<Binary>(L(info[0])), F32(info[1]), as.data(), static_cast<int>(as.size()), F32(info[3]), bs.data(),
         static_cast<int>(bs.size()), os.data(), static_cast<int>(os.size()), F32(info[6]));
  return info.Env().Undefined();
}

Napi::Value SoftmaxRows(const Napi::CallbackInfo& info) {
  softmax_rows(F32(info[0]), F32(info[1]), L(info[2]), L(info[3]), B(info[4]));
  return info.Env().Undefined();
}
Napi::Value SoftmaxBackwardRows(const Napi::CallbackInfo& info) {
  softmax_backward_rows(F32(info[0]), F32(info[1]), F32(info[2]), L(info[3]), L(info[4]), B(info[5]));
  return info.Env().Undefined();
}
// crossEntropy(x, rows, C, target, w|null, eps, ignoreIndex, loss, lse)
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  cross_entropy_rows(F32(info[0]), L(info[1]), L(info[2]), info[3].As<Napi::Int32Array>().Data(), F32OrNull(info[4]),
                     static_cast<float>(info[5].As<Napi::Number>().DoubleValue()), L(info[6]), F32(info[7]), F32(info[8]));
  return info.Env().Undefined();
}
// crossEntropyBackward(x, lse, g, rows, C, target, w|null, eps, ignoreIndex, out)
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  cross_entropy_backward_rows(F32(info[0]), F32(info[1]), F32(info[2]), L(info[3]), L(info[4]), info[5].As<Napi::Int32Array>().Data(),
                              F32OrNull(info[6]), static_cast<float>(info[7].As<Napi::Number>().DoubleValue()), L(info[8]), F32(info[9]));
  return info.Env().Undefined();
}
// allFinite(x): no NaN and no ±∞ in x
Napi::Value AllFinite(const Napi::CallbackInfo& info) {
  auto x = info[0].As<Napi::Float32Array>();
  return Napi::Boolean::New(info.Env(), all_finite(x.Data(), static_cast<long>(x.ElementLength())));
}
Napi::Value SumDim(const Napi::CallbackInfo& info) {
  sum_dim(F32(info[0]), F32(info[1]), L(info[2]), L(info[3]), L(info[4]));
  return info.Env().Undefined();
}
// layerNorm(x, w|null, b|null, y, mean, rstd, rows, n, eps)
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  layer_norm(F32(info[0]), F32OrNull(info[1]), F32OrNull(info[2]), F32(info[3]), F32(info[4]), F32(info[5]), L(info[6]), L(info[7]),
             static_cast<float>(info[8].As<Napi::Number>().DoubleValue()));
  return info.Env().Undefined();
}
// layerNormBackward(x, w|null, mean, rstd, g, gx|null, gw|null, gb|null, rows, n)
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  layer_norm_backward(F32(info[0]), F32OrNull(info[1]), F32(info[2]), F32(info[3]), F32(info[4]), F32OrNull(info[5]),
                      F32OrNull(info[6]), F32OrNull(info[7]), L(info[8]), L(info[9]));
  return info.Env().Undefined();
}
Napi::Value IndexSelect(const Napi::CallbackInfo& info) {
  Napi::Int32Array idx = info[4].As<Napi::Int32Array>();
  index_select(F32(info[0]), L(info[1]), L(info[2]), L(info[3]), idx.Data(), static_cast<long>(idx.ElementLength()), F32(info[5]));
  return info.Env().Undefined();
}
Napi::Value IndexAdd(const Napi::CallbackInfo& info) {
  Napi::Int32Array idx = info[4].As<Napi::Int32Array>();
  index_add(F32(info[0]), L(info[1]), L(info[2]), L(info[3]), idx.Data(), static_cast<long>(idx.ElementLength()), F32(info[5]));
  return info.Env().Undefined();
}

ConvGeom Geom(const Napi::Value& v) {
  std::vector<long> g = Longs(v);
  return ConvGeom{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]};
}
Napi::Value Conv2dForward(const Napi::CallbackInfo& info) {
  conv2d_forward(Geom(info[3]), F32(info[0]), F32(info[1]), F32(info[2]));
  return info.Env().Undefined();
}
Napi::Value Conv2dBackward(const Napi::CallbackInfo& info) {
  conv2d_backward(Geom(info[5]), F32(info[0]), F32(info[1]), F32(info[2]), F32OrNull(info[3]), F32OrNull(info[4]));
  return info.Env().Undefined();
}
Napi::Value MaxPool2dForward(const Napi::CallbackInfo& info) {
  max_pool2d_forward(Geom(info[3]), F32(info[0]), F32(info[1]), info[2].As<Napi::Int32Array>().Data());
  return info.Env().Undefined();
}
Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
  max_pool2d_backward(Geom(info[3]), F32(info[0]), info[1].As<Napi::Int32Array>().Data(), F32(info[2]));
  return info.Env().Undefined();
}
Napi::Value AvgPool2dForward(const Napi::CallbackInfo& info) {
  avg_pool2d_forward(Geom(info[2]), F32(info[0]), F32(info[1]), info[3].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}
Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  avg_pool2d_backward(Geom(info[2]), F32(info[0]), F32(info[1]), info[3].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// shape: [B, H, Hkv, T, S, D, Dv]; opts: [scale, causal, dropout, seed, maskKind]; mask data; mask strides [b, h, t, s]
void AttnArgs(const Napi::CallbackInfo& info, int at, AttnShape& s, AttnMask& m) {
  std::vector<long> sh = Longs(info[at]);
  Napi::Array o = info[at + 1].As<Napi::Array>();
  s = AttnShape{sh[0], sh[1], sh[2], sh[3], sh[4], sh[5], sh[6],
                static_cast<float>(o.Get(0u).As<Napi::Number>().DoubleValue()), o.Get(1u).As<Napi::Number>().Int32Value() != 0,
                o.Get(2u).As<Napi::Number>().DoubleValue(), o.Get(3u).As<Napi::Number>().Uint32Value()};
  m.kind = o.Get(4u).As<Napi::Number>().Int32Value();
  if (m.kind == 1) m.b = info[at + 2].As<Napi::Uint8Array>().Data();
  if (m.kind == 2) m.f = F32(info[at + 2]);
  if (m.kind != 0) {
    std::vector<long> st = Longs(info[at + 3]);
    m.sb = st[0]; m.sh = st[1]; m.st = st[2]; m.ss = st[3];
  }
}

// the operands' layout: absent (contiguous) or 16 numbers, offset, sb, sh, sr for q, k, v and out
// (dout takes out's; dq, dk and dv take q's, k's and v's)
AttnLayout LayoutArg(const Napi::Value& v, const AttnShape& s, long off[4]) {
  std::vector<long> a = v.IsUndefined() || v.IsNull() ? std::vector<long>{} : Longs(v);
  if (a.size() != 16) {
    off[0] = off[1] = off[2] = off[3] = 0;
    return contiguous_layout(s);
  }
  for (int i = 0; i < 4; i++) off[i] = a[i * 4];
  return {{a[1], a[2], a[3]}, {a[5], a[6], a[7]}, {a[9], a[10], a[11]}, {a[13], a[14], a[15]}};
}

// attentionForward(q, k, v, out, lse, shape, opts, mask, maskStrides, layout?)
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  AttnShape s; AttnMask m;
  AttnArgs(info, 5, s, m);
  long off[4];
  AttnLayout lay = LayoutArg(info[9], s, off);
  attention_forward(s, m, lay, F32(info[0]) + off[0], F32(info[1]) + off[1], F32(info[2]) + off[2], F32(info[3]) + off[3], F32(info[4]));
  return info.Env().Undefined();
}
// attentionBackward(q, k, v, out, lse, dout, dq, dk, dv, shape, opts, mask, maskStrides, layout?)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  AttnShape s; AttnMask m;
  AttnArgs(info, 9, s, m);
  long off[4];
  AttnLayout lay = LayoutArg(info[13], s, off);
  attention_backward(s, m, lay, F32(info[0]) + off[0], F32(info[1]) + off[1], F32(info[2]) + off[2], F32(info[3]) + off[3], F32(info[4]),
                     F32(info[5]) + off[3], F32(info[6]) + off[0], F32(info[7]) + off[1], F32(info[8]) + off[2]);
  return info.Env().Undefined();
}

// adamUpdate(w, g, m, v, [lr, b1, b2, c1, c2, eps, wd, decoupled])
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  Napi::Float32Array w = info[0].As<Napi::Float32Array>();
  Napi::Float32Array g = info[1].As<Napi::Float32Array>();
  Napi::Float64Array m = info[2].As<Napi::Float64Array>();
  Napi::Float64Array v = info[3].As<Napi::Float64Array>();
  Napi::Array o = info[4].As<Napi::Array>();
  auto d = [&](uint32_t i) { return o.Get(i).As<Napi::Number>().DoubleValue(); };
  AdamParams p{d(0), d(1), d(2), d(3), d(4), d(5), d(6), d(7) != 0};
  const size_t n = w.ElementLength();
  if (g.ElementLength() != n || m.ElementLength() != n || v.ElementLength() != n) {
    Napi::TypeError::New(info.Env(), "adamUpdate: w, g, m and v must have the same length").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  adam_update(w.Data(), g.Data(), m.Data(), v.Data(), static_cast<long>(n), p);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa));
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("gemmBatched", Napi::Function::New(env, GemmBatched));
  exports.Set("unary", Napi::Function::New(env, UnaryOp));
  exports.Set("stridedCopy", Napi::Function::New(env, StridedCopy));
  exports.Set("stridedScatter", Napi::Function::New(env, StridedScatter));
  exports.Set("unaryBackward", Napi::Function::New(env, UnaryBackwardOp));
  exports.Set("dropout", Napi::Function::New(env, DropoutOp));
  exports.Set("binary", Napi::Function::New(env, BinaryOp));
  exports.Set("softmaxRows", Napi::Function::New(env, SoftmaxRows));
  exports.Set("softmaxBackwardRows", Napi::Function::New(env, SoftmaxBackwardRows));
  exports.Set("crossEntropy", Napi::Function::New(env, CrossEntropy));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, CrossEntropyBackward));
  exports.Set("sumDim", Napi::Function::New(env, SumDim));
  exports.Set("allFinite", Napi::Function::New(env, AllFinite));
  exports.Set("layerNorm", Napi::Function::New(env, LayerNorm));
  exports.Set("layerNormBackward", Napi::Function::New(env, LayerNormBackward));
  exports.Set("indexSelect", Napi::Function::New(env, IndexSelect));
  exports.Set("indexAdd", Napi::Function::New(env, IndexAdd));
  exports.Set("conv2dForward", Napi::Function::New(env, Conv2dForward));
  exports.Set("conv2dBackward", Napi::Function::New(env, Conv2dBackward));
  exports.Set("maxPool2dForward", Napi::Function::New(env, MaxPool2dForward));
  exports.Set("maxPool2dBackward", Napi::Function::New(env, MaxPool2dBackward));
  exports.Set("avgPool2dForward", Napi::Function::New(env, AvgPool2dForward));
  exports.Set("avgPool2dBackward", Napi::Function::New(env, AvgPool2dBackward));
  exports.Set("attentionForward", Napi::Function::New(env, AttentionForward));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward));
  exports.Set("adamUpdate", Napi::Function::New(env, AdamUpdate));
  return exports;
}

}  // namespace

NODE_API_MODULE(attnkit_native, Init)
