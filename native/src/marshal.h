// The typed unwrapping the generated bindings (generated/bindings.inc) use: each reader checks one
// argument against its kind in the kernel table and, if it does not fit, throws a TypeError naming
// the kernel and the argument and returns false. Typed arrays are passed by pointer, never copied.
#pragma once
#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

namespace attnkit::marshal {

inline bool fail(Napi::Env env, const char* fn, const std::string& arg, const char* want) {
  Napi::TypeError::New(env, std::string(fn) + ": " + arg + " must be " + want).ThrowAsJavaScriptException();
  return false;
}

struct Buffer {
  void* data = nullptr;
  size_t length = 0;
  bool present = false;
};

// a typed array of type `t` (or `t2` when given), or null/undefined when nullable
inline bool buffer(Napi::Env env, const Napi::Value& v, napi_typedarray_type t, int t2, bool nullable, Buffer& out,
                   const char* fn, const char* arg, const char* want) {
  if (nullable && (v.IsNull() || v.IsUndefined())) return true;
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  if (!v.IsTypedArray() || napi_get_typedarray_info(env, v, &type, &out.length, &out.data, &ab, &offset) != napi_ok ||
      (type != t && static_cast<int>(type) != t2))
    return fail(env, fn, arg, want);
  out.present = true;
  return true;
}

// the common element count of the given buffers (absent ones skipped)
inline bool same_length(Napi::Env env, std::initializer_list<const Buffer*> bufs, long& n, const char* fn, const char* names) {
  bool first = true;
  for (const Buffer* b : bufs) {
    if (!b->present) continue;
    if (first) n = static_cast<long>(b->length), first = false;
    else if (static_cast<long>(b->length) != n) return fail(env, fn, names, "of the same length");
  }
  if (first) n = 0;
  return true;
}

inline bool scalar(Napi::Env env, const Napi::Value& v, long& out, const char* fn, const std::string& arg) {
  if (!v.IsNumber()) return fail(env, fn, arg, "a number");
  out = static_cast<long>(v.As<Napi::Number>().Int64Value());
  return true;
}
inline bool scalar(Napi::Env env, const Napi::Value& v, uint32_t& out, const char* fn, const std::string& arg) {
  if (!v.IsNumber()) return fail(env, fn, arg, "a number");
  out = v.As<Napi::Number>().Uint32Value();
  return true;
}
inline bool scalar(Napi::Env env, const Napi::Value& v, double& out, const char* fn, const std::string& arg) {
  if (!v.IsNumber()) return fail(env, fn, arg, "a number");
  out = v.As<Napi::Number>().DoubleValue();
  return true;
}
inline bool scalar(Napi::Env env, const Napi::Value& v, float& out, const char* fn, const std::string& arg) {
  if (!v.IsNumber()) return fail(env, fn, arg, "a number");
  out = static_cast<float>(v.As<Napi::Number>().DoubleValue());
  return true;
}
inline bool scalar(Napi::Env env, const Napi::Value& v, bool& out, const char* fn, const std::string& arg) {
  if (!v.IsBoolean()) return fail(env, fn, arg, "a boolean");
  out = v.As<Napi::Boolean>().Value();
  return true;
}

// an enum's code, in [0, count)
template <typename E>
bool enumeration(Napi::Env env, const Napi::Value& v, int count, E& out, const char* fn, const char* arg) {
  long c = -1;
  if (!v.IsNumber() || (c = static_cast<long>(v.As<Napi::Number>().Int64Value())) < 0 || c >= count)
    return fail(env, fn, arg, "a member's code");
  out = static_cast<E>(c);
  return true;
}

inline bool longs(Napi::Env env, const Napi::Value& v, std::vector<long>& out, const char* fn, const char* arg) {
  if (!v.IsArray()) return fail(env, fn, arg, "an array of numbers");
  Napi::Array a = v.As<Napi::Array>();
  out.resize(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) return fail(env, fn, arg, "an array of numbers");
    out[i] = static_cast<long>(e.As<Napi::Number>().Int64Value());
  }
  return true;
}

// a struct's scalar field: the argument's path is composed only when it does not fit
template <typename T>
bool field(Napi::Env env, const Napi::Object& o, const char* name, T& out, const char* fn, const std::string& arg) {
  Napi::Value v = o.Get(name);
  if (std::is_same_v<T, bool> ? v.IsBoolean() : v.IsNumber()) return scalar(env, v, out, fn, arg);
  return scalar(env, v, out, fn, arg + "." + name);
}

inline bool object(Napi::Env env, const Napi::Value& v, Napi::Object& out, const char* fn, const std::string& arg) {
  if (!v.IsObject()) return fail(env, fn, arg, "an object");
  out = v.As<Napi::Object>();
  return true;
}

}  // namespace attnkit::marshal
