// pmetal native addon: reading a dispatch list (see dispatch_args.h).
#include "addon/dispatch_args.h"

#include "addon/addon_data.h"
#include "addon/buffer_wrap.h"
#include "addon/js_error.h"
#include "addon/library_wrap.h"

namespace pmetal {
namespace addon {

static void read3(Napi::Env env, Napi::Value v, uint32_t out[3], const std::string& what) {
  if (!v.IsArray()) throwJs(env, "BAD_ARGUMENT", what + " must be [x, y, z]");
  auto a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < 3; i++) {
    Napi::Value x = i < a.Length() ? a.Get(i) : Napi::Number::New(env, 1);
    if (!x.IsNumber()) throwJs(env, "BAD_ARGUMENT", what + " must hold numbers");
    double d = x.As<Napi::Number>().DoubleValue();
    if (d < 0 || d > 4294967295.0 || d != (double)(uint32_t)d) throwJs(env, "BAD_ARGUMENT", what + " must hold non-negative integers");
    out[i] = (uint32_t)d;
  }
}

static void readBuffers(Napi::Env env, Napi::Value bv, const std::string& at, Dispatch& D) {
  if (bv.IsUndefined()) return;
  if (!bv.IsArray()) throwJs(env, "BAD_ARGUMENT", at + ".buffers must be an array");
  Napi::Array ba = bv.As<Napi::Array>();
  for (uint32_t j = 0; j < ba.Length(); j++) {
    Napi::Value e = ba.Get(j);
    if (!e.IsObject()) throwJs(env, "BAD_ARGUMENT", at + ".buffers entries must be objects");
    Napi::Object eo = e.As<Napi::Object>();
    Napi::Value buf = eo.Get("buffer");
    if (!buf.IsObject() || !buf.As<Napi::Object>().InstanceOf(addonData(env)->buffer.Value()))
      throwJs(env, "BAD_ARGUMENT", at + ".buffers[" + std::to_string(j) + "].buffer must be a Buffer");
    BufferBinding bb;
    bb.index = eo.Get("index").ToNumber().Int32Value();
    bb.buffer = BufferWrap::Unwrap(buf.As<Napi::Object>())->impl;
    if (eo.Has("offset") && eo.Get("offset").IsNumber()) bb.offset = (uint64_t)eo.Get("offset").As<Napi::Number>().DoubleValue();
    D.buffers.push_back(bb);
  }
}

static void readBytes(Napi::Env env, Napi::Value yv, const std::string& at, Dispatch& D) {
  if (yv.IsUndefined()) return;
  if (!yv.IsArray()) throwJs(env, "BAD_ARGUMENT", at + ".bytes must be an array");
  Napi::Array ya = yv.As<Napi::Array>();
  for (uint32_t j = 0; j < ya.Length(); j++) {
    Napi::Object eo = ya.Get(j).ToObject();
    BytesBinding b;
    b.index = eo.Get("index").ToNumber().Int32Value();
    Napi::Value dd = eo.Get("data");
    if (!dd.IsTypedArray()) throwJs(env, "BAD_ARGUMENT", at + ".bytes[" + std::to_string(j) + "].data must be a Uint8Array");
    auto ta = dd.As<Napi::TypedArray>();
    const uint8_t* p = (const uint8_t*)ta.ArrayBuffer().Data() + ta.ByteOffset();
    b.data.assign(p, p + ta.ByteLength());
    D.bytes.push_back(std::move(b));
  }
}

static void readThreadgroupMemory(Napi::Env env, Napi::Value tv, const std::string& at, Dispatch& D) {
  if (tv.IsUndefined()) return;
  if (!tv.IsArray()) throwJs(env, "BAD_ARGUMENT", at + ".threadgroupMemory must be an array");
  Napi::Array ta = tv.As<Napi::Array>();
  for (uint32_t j = 0; j < ta.Length(); j++) {
    Napi::Object eo = ta.Get(j).ToObject();
    D.threadgroupMemory.push_back({eo.Get("index").ToNumber().Int32Value(), (uint64_t)eo.Get("byteLength").ToNumber().DoubleValue()});
  }
}

std::vector<Dispatch> readDispatches(Napi::Env env, Napi::Value list) {
  if (!list.IsArray()) throwJs(env, "BAD_ARGUMENT", "run(dispatches: Array)");
  Napi::Array arr = list.As<Napi::Array>();
  std::vector<Dispatch> ds;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    std::string at = "dispatches[" + std::to_string(i) + "]";
    Napi::Value dv = arr.Get(i);
    if (!dv.IsObject()) throwJs(env, "BAD_ARGUMENT", at + " must be an object");
    Napi::Object d = dv.As<Napi::Object>();
    Dispatch D;
    Napi::Value pv = d.Get("pipeline");
    if (!pv.IsObject() || !pv.As<Napi::Object>().InstanceOf(addonData(env)->pipeline.Value()))
      throwJs(env, "BAD_ARGUMENT", at + ".pipeline must be a Pipeline");
    D.pipeline = PipelineWrap::Unwrap(pv.As<Napi::Object>())->impl;
    readBuffers(env, d.Get("buffers"), at, D);
    readBytes(env, d.Get("bytes"), at, D);
    readThreadgroupMemory(env, d.Get("threadgroupMemory"), at, D);
    read3(env, d.Get("grid"), D.grid, at + ".grid");
    read3(env, d.Get("threadgroup"), D.threadgroup, at + ".threadgroup");
    ds.push_back(std::move(D));
  }
  return ds;
}

}  // namespace addon
}  // namespace pmetal
