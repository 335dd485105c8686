// pmetal native addon: the JS surface (same on Linux and macOS).
//   native.platform                          'host' | 'metal'
//   native.openDevice({ chip })              -> Device
//   Device.info                              { name, family, tier, hasNax, metal4, maxThreadsPerThreadgroup, threadExecutionWidth, host }
//   Device.compileLibrary(src, opts)         -> Promise<Library>
//   Library.pipeline(name, constants)        -> Pipeline { name, maxTotalThreadsPerThreadgroup, threadExecutionWidth }
//   Device.buffer(byteLength)                -> Buffer { byteLength, write(data, off), read(off, len) }
//   Device.run(dispatches)                   -> Promise<{ gpuStartNs, gpuEndNs }>
// Errors carry a string `code` (see backend.h).
#include <napi.h>

#include <cstring>

#include "backend.h"

namespace {

using pmetal::Error;

Napi::Error makeError(Napi::Env env, const std::string& code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

[[noreturn]] void throwJs(Napi::Env env, const std::string& code, const std::string& msg) {
  throw makeError(env, code, msg);
}

struct AddonData {
  Napi::FunctionReference device, library, pipeline, buffer;
};

AddonData* data(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

// ------------------------------------------------------------------ Buffer
class BufferWrap : public Napi::ObjectWrap<BufferWrap> {
 public:
  std::shared_ptr<pmetal::BufferImpl> impl;
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Buffer",
                       {InstanceAccessor<&BufferWrap::ByteLength>("byteLength"), InstanceMethod<&BufferWrap::Write>("write"),
                        InstanceMethod<&BufferWrap::Read>("read")});
  }
  BufferWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BufferWrap>(info) {
    if (info.Length() < 1 || !info[0].IsExternal()) throwJs(info.Env(), "BAD_ARGUMENT", "Buffer is created by Device.buffer()");
    impl = *info[0].As<Napi::External<std::shared_ptr<pmetal::BufferImpl>>>().Data();
  }
  Napi::Value ByteLength(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), (double)impl->length()); }
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const uint8_t* src = nullptr;
    size_t n = 0;
    if (info.Length() >= 1 && info[0].IsTypedArray()) {
      auto ta = info[0].As<Napi::TypedArray>();
      src = (const uint8_t*)ta.ArrayBuffer().Data() + ta.ByteOffset();
      n = ta.ByteLength();
    } else if (info.Length() >= 1 && info[0].IsDataView()) {
      auto dv = info[0].As<Napi::DataView>();
      src = (const uint8_t*)dv.ArrayBuffer().Data() + dv.ByteOffset();
      n = dv.ByteLength();
    } else if (info.Length() >= 1 && info[0].IsArrayBuffer()) {
      auto ab = info[0].As<Napi::ArrayBuffer>();
      src = (const uint8_t*)ab.Data();
      n = ab.ByteLength();
    } else {
      throwJs(env, "BAD_ARGUMENT", "Buffer.write(data, byteOffset?): data must be a TypedArray, DataView or ArrayBuffer");
    }
    double off = info.Length() >= 2 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0;
    if (off < 0 || off + (double)n > (double)impl->length())
      throwJs(env, "BAD_ARGUMENT", "Buffer.write: " + std::to_string(n) + " bytes at offset " + std::to_string((long long)off) +
                                       " exceed the buffer's " + std::to_string(impl->length()) + " bytes");
    if (n) memcpy((uint8_t*)impl->contents() + (size_t)off, src, n);
    return env.Undefined();
  }
  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    double off = info.Length() >= 1 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
    double len = info.Length() >= 2 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue()
                                                          : (double)impl->length() - off;
    if (off < 0 || len < 0 || off + len > (double)impl->length())
      throwJs(env, "BAD_ARGUMENT", "Buffer.read: range exceeds the buffer's " + std::to_string(impl->length()) + " bytes");
    auto out = Napi::Uint8Array::New(env, (size_t)len);
    if (len > 0) memcpy(out.Data(), (const uint8_t*)impl->contents() + (size_t)off, (size_t)len);
    return out;
  }
};

// ------------------------------------------------------------------ Pipeline
class PipelineWrap : public Napi::ObjectWrap<PipelineWrap> {
 public:
  std::shared_ptr<pmetal::PipelineImpl> impl;
  static Napi::Function Init(Napi::Env env) { return DefineClass(env, "Pipeline", {}); }
  PipelineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PipelineWrap>(info) {
    if (info.Length() < 1 || !info[0].IsExternal()) throwJs(info.Env(), "BAD_ARGUMENT", "Pipeline is created by Library.pipeline()");
    impl = *info[0].As<Napi::External<std::shared_ptr<pmetal::PipelineImpl>>>().Data();
    Napi::Object self = info.This().As<Napi::Object>();
    self.Set("name", impl->name);
    self.Set("maxTotalThreadsPerThreadgroup", (double)impl->maxTotalThreadsPerThreadgroup);
    self.Set("threadExecutionWidth", (double)impl->threadExecutionWidth);
  }
};

// ------------------------------------------------------------------ Library
class LibraryWrap : public Napi::ObjectWrap<LibraryWrap> {
 public:
  std::shared_ptr<pmetal::LibraryImpl> impl;
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Library", {InstanceMethod<&LibraryWrap::Pipeline>("pipeline")});
  }
  LibraryWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LibraryWrap>(info) {
    if (info.Length() < 1 || !info[0].IsExternal()) throwJs(info.Env(), "BAD_ARGUMENT", "Library is created by Device.compileLibrary()");
    impl = *info[0].As<Napi::External<std::shared_ptr<pmetal::LibraryImpl>>>().Data();
    Napi::Env env = info.Env();
    Napi::Object self = info.This().As<Napi::Object>();
    auto names = Napi::Array::New(env, impl->functionNames.size());
    for (size_t i = 0; i < impl->functionNames.size(); i++) names.Set((uint32_t)i, impl->functionNames[i]);
    self.Set("functionNames", names);
    self.Set("cached", impl->cached);
    self.Set("asan", impl->asan);
  }
  Napi::Value Pipeline(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throwJs(env, "BAD_ARGUMENT", "Library.pipeline(functionName, constants?)");
    std::string name = info[0].As<Napi::String>();
    std::vector<pmetal::FunctionConstantValue> constants;
    if (info.Length() >= 2 && !info[1].IsUndefined() && !info[1].IsNull()) {
      if (!info[1].IsArray()) throwJs(env, "BAD_ARGUMENT", "constants must be an array of { index, type, value }");
      auto arr = info[1].As<Napi::Array>();
      for (uint32_t i = 0; i < arr.Length(); i++) {
        Napi::Value v = arr.Get(i);
        if (!v.IsObject()) throwJs(env, "BAD_ARGUMENT", "constants[" + std::to_string(i) + "] must be an object");
        Napi::Object o = v.As<Napi::Object>();
        pmetal::FunctionConstantValue c;
        Napi::Value idx = o.Get("index"), type = o.Get("type"), val = o.Get("value");
        if (!idx.IsNumber() || !type.IsString())
          throwJs(env, "BAD_ARGUMENT", "constants[" + std::to_string(i) + "] needs a numeric index and a string type");
        c.index = idx.As<Napi::Number>().Int32Value();
        c.type = type.As<Napi::String>();
        if (val.IsBoolean()) c.value = val.As<Napi::Boolean>().Value() ? 1 : 0;
        else if (val.IsNumber()) c.value = val.As<Napi::Number>().DoubleValue();
        else throwJs(env, "BAD_ARGUMENT", "constants[" + std::to_string(i) + "].value must be a number or boolean");
        constants.push_back(c);
      }
    }
    std::shared_ptr<pmetal::PipelineImpl> p;
    try {
      p = impl->pipeline(name, constants);
    } catch (const Error& e) {
      throwJs(env, e.code, e.what());
    } catch (const std::exception& e) {
      throwJs(env, "UNSUPPORTED", e.what());
    }
    auto ext = Napi::External<std::shared_ptr<pmetal::PipelineImpl>>::New(
        env, new std::shared_ptr<pmetal::PipelineImpl>(p),
        [](Napi::Env, std::shared_ptr<pmetal::PipelineImpl>* x) { delete x; });
    return data(env)->pipeline.New({ext});
  }
};

// ------------------------------------------------------------------ async workers
class CompileWorker : public Napi::AsyncWorker {
 public:
  CompileWorker(Napi::Env env, std::shared_ptr<pmetal::DeviceImpl> dev, std::string src, pmetal::CompileOptions opts)
      : Napi::AsyncWorker(env), deferred(Napi::Promise::Deferred::New(env)), dev(std::move(dev)), src(std::move(src)),
        opts(std::move(opts)) {}
  Napi::Promise::Deferred deferred;
  void Execute() override {
    try {
      lib = dev->compile(src, opts);
    } catch (const Error& e) {
      code = e.code;
      SetError(e.what());
    } catch (const std::exception& e) {
      code = "UNSUPPORTED";
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    auto ext = Napi::External<std::shared_ptr<pmetal::LibraryImpl>>::New(
        env, new std::shared_ptr<pmetal::LibraryImpl>(lib),
        [](Napi::Env, std::shared_ptr<pmetal::LibraryImpl>* x) { delete x; });
    deferred.Resolve(data(env)->library.New({ext}));
  }
  void OnError(const Napi::Error& e) override {
    deferred.Reject(makeError(Env(), code, e.Message()).Value());
  }

 private:
  std::shared_ptr<pmetal::DeviceImpl> dev;
  std::string src;
  pmetal::CompileOptions opts;
  std::shared_ptr<pmetal::LibraryImpl> lib;
  std::string code;
};

class RunWorker : public Napi::AsyncWorker {
 public:
  RunWorker(Napi::Env env, std::shared_ptr<pmetal::DeviceImpl> dev, std::vector<pmetal::Dispatch> ds)
      : Napi::AsyncWorker(env), deferred(Napi::Promise::Deferred::New(env)), dev(std::move(dev)), ds(std::move(ds)) {}
  Napi::Promise::Deferred deferred;
  void Execute() override {
    try {
      res = dev->run(ds);
    } catch (const Error& e) {
      code = e.code;
      SetError(e.what());
    } catch (const std::exception& e) {
      code = "UNSUPPORTED";
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("gpuStartNs", res.gpuStartNs);
    o.Set("gpuEndNs", res.gpuEndNs);
    deferred.Resolve(o);
  }
  void OnError(const Napi::Error& e) override { deferred.Reject(makeError(Env(), code, e.Message()).Value()); }

 private:
  std::shared_ptr<pmetal::DeviceImpl> dev;
  std::vector<pmetal::Dispatch> ds;
  pmetal::RunResult res;
  std::string code;
};

// ------------------------------------------------------------------ Device
static void read3(Napi::Env env, Napi::Value v, uint32_t out[3], const char* what) {
  if (!v.IsArray()) throwJs(env, "BAD_ARGUMENT", std::string(what) + " must be [x, y, z]");
  auto a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < 3; i++) {
    Napi::Value x = i < a.Length() ? a.Get(i) : Napi::Number::New(env, 1);
    if (!x.IsNumber()) throwJs(env, "BAD_ARGUMENT", std::string(what) + " must hold numbers");
    double d = x.As<Napi::Number>().DoubleValue();
    if (d < 0 || d > 4294967295.0 || d != (double)(uint32_t)d)
      throwJs(env, "BAD_ARGUMENT", std::string(what) + " must hold non-negative integers");
    out[i] = (uint32_t)d;
  }
}

class DeviceWrap : public Napi::ObjectWrap<DeviceWrap> {
 public:
  std::shared_ptr<pmetal::DeviceImpl> impl;
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Device",
                       {InstanceMethod<&DeviceWrap::CompileLibrary>("compileLibrary"),
                        InstanceMethod<&DeviceWrap::Buffer>("buffer"), InstanceMethod<&DeviceWrap::Run>("run")});
  }
  DeviceWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsExternal()) throwJs(env, "BAD_ARGUMENT", "Device is created by openDevice()");
    impl = *info[0].As<Napi::External<std::shared_ptr<pmetal::DeviceImpl>>>().Data();
    const pmetal::ChipInfo& c = impl->info;
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", c.name);
    o.Set("family", c.family);
    o.Set("tier", c.tier);
    o.Set("hasNax", c.hasNax);
    o.Set("metal4", c.metal4);
    o.Set("maxThreadsPerThreadgroup", (double)c.maxThreadsPerThreadgroup);
    o.Set("threadExecutionWidth", (double)c.threadExecutionWidth);
    o.Set("host", c.host);
    o.Freeze();
    info.This().As<Napi::Object>().Set("info", o);
  }

  Napi::Value CompileLibrary(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throwJs(env, "BAD_ARGUMENT", "compileLibrary(source: string, options?)");
    pmetal::CompileOptions opts;
    if (info.Length() >= 2 && info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      if (o.Has("asan")) opts.asan = o.Get("asan").ToBoolean();
      if (o.Has("filename") && o.Get("filename").IsString()) opts.filename = o.Get("filename").As<Napi::String>();
      if (o.Has("defines") && o.Get("defines").IsObject()) {
        Napi::Object d = o.Get("defines").As<Napi::Object>();
        Napi::Array keys = d.GetPropertyNames();
        for (uint32_t i = 0; i < keys.Length(); i++) {
          std::string k = keys.Get(i).ToString();
          opts.defines[k] = d.Get(k).ToString();
        }
      }
      if (o.Has("includeDirs") && o.Get("includeDirs").IsArray()) {
        Napi::Array a = o.Get("includeDirs").As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); i++) opts.includeDirs.push_back(a.Get(i).ToString());
      }
    }
    auto* w = new CompileWorker(env, impl, info[0].As<Napi::String>(), opts);
    auto promise = w->deferred.Promise();
    w->Queue();
    return promise;
  }

  Napi::Value Buffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) throwJs(env, "BAD_ARGUMENT", "buffer(byteLength: number)");
    double n = info[0].As<Napi::Number>().DoubleValue();
    if (n < 0 || n != (double)(uint64_t)n || n > 1.0e12) throwJs(env, "BAD_ARGUMENT", "buffer: byteLength must be a non-negative integer");
    std::shared_ptr<pmetal::BufferImpl> b;
    try {
      b = impl->buffer((size_t)n);
    } catch (const Error& e) {
      throwJs(env, e.code, e.what());
    }
    auto ext = Napi::External<std::shared_ptr<pmetal::BufferImpl>>::New(
        env, new std::shared_ptr<pmetal::BufferImpl>(b), [](Napi::Env, std::shared_ptr<pmetal::BufferImpl>* x) { delete x; });
    return data(env)->buffer.New({ext});
  }

  Napi::Value Run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) throwJs(env, "BAD_ARGUMENT", "run(dispatches: Array)");
    Napi::Array arr = info[0].As<Napi::Array>();
    std::vector<pmetal::Dispatch> ds;
    for (uint32_t i = 0; i < arr.Length(); i++) {
      std::string at = "dispatches[" + std::to_string(i) + "]";
      Napi::Value dv = arr.Get(i);
      if (!dv.IsObject()) throwJs(env, "BAD_ARGUMENT", at + " must be an object");
      Napi::Object d = dv.As<Napi::Object>();
      pmetal::Dispatch D;
      Napi::Value pv = d.Get("pipeline");
      if (!pv.IsObject() || !pv.As<Napi::Object>().InstanceOf(data(env)->pipeline.Value()))
        throwJs(env, "BAD_ARGUMENT", at + ".pipeline must be a Pipeline");
      D.pipeline = PipelineWrap::Unwrap(pv.As<Napi::Object>())->impl;
      Napi::Value bv = d.Get("buffers");
      if (!bv.IsUndefined()) {
        if (!bv.IsArray()) throwJs(env, "BAD_ARGUMENT", at + ".buffers must be an array");
        Napi::Array ba = bv.As<Napi::Array>();
        for (uint32_t j = 0; j < ba.Length(); j++) {
          Napi::Value e = ba.Get(j);
          if (!e.IsObject()) throwJs(env, "BAD_ARGUMENT", at + ".buffers entries must be objects");
          Napi::Object eo = e.As<Napi::Object>();
          Napi::Value buf = eo.Get("buffer");
          if (!buf.IsObject() || !buf.As<Napi::Object>().InstanceOf(data(env)->buffer.Value()))
            throwJs(env, "BAD_ARGUMENT", at + ".buffers[" + std::to_string(j) + "].buffer must be a Buffer");
          pmetal::BufferBinding bb;
          bb.index = eo.Get("index").ToNumber().Int32Value();
          bb.buffer = BufferWrap::Unwrap(buf.As<Napi::Object>())->impl;
          if (eo.Has("offset") && eo.Get("offset").IsNumber()) bb.offset = (uint64_t)eo.Get("offset").As<Napi::Number>().DoubleValue();
          D.buffers.push_back(bb);
        }
      }
      Napi::Value yv = d.Get("bytes");
      if (!yv.IsUndefined()) {
        if (!yv.IsArray()) throwJs(env, "BAD_ARGUMENT", at + ".bytes must be an array");
        Napi::Array ya = yv.As<Napi::Array>();
        for (uint32_t j = 0; j < ya.Length(); j++) {
          Napi::Object eo = ya.Get(j).ToObject();
          pmetal::BytesBinding b;
          b.index = eo.Get("index").ToNumber().Int32Value();
          Napi::Value dd = eo.Get("data");
          if (!dd.IsTypedArray()) throwJs(env, "BAD_ARGUMENT", at + ".bytes[" + std::to_string(j) + "].data must be a Uint8Array");
          auto ta = dd.As<Napi::TypedArray>();
          const uint8_t* p = (const uint8_t*)ta.ArrayBuffer().Data() + ta.ByteOffset();
          b.data.assign(p, p + ta.ByteLength());
          D.bytes.push_back(std::move(b));
        }
      }
      Napi::Value tv = d.Get("threadgroupMemory");
      if (!tv.IsUndefined()) {
        if (!tv.IsArray()) throwJs(env, "BAD_ARGUMENT", at + ".threadgroupMemory must be an array");
        Napi::Array ta = tv.As<Napi::Array>();
        for (uint32_t j = 0; j < ta.Length(); j++) {
          Napi::Object eo = ta.Get(j).ToObject();
          D.threadgroupMemory.push_back({eo.Get("index").ToNumber().Int32Value(), (uint64_t)eo.Get("byteLength").ToNumber().DoubleValue()});
        }
      }
      read3(env, d.Get("grid"), D.grid, (at + ".grid").c_str());
      read3(env, d.Get("threadgroup"), D.threadgroup, (at + ".threadgroup").c_str());
      ds.push_back(std::move(D));
    }
    auto* w = new RunWorker(env, impl, std::move(ds));
    auto promise = w->deferred.Promise();
    w->Queue();
    return promise;
  }
};

Napi::Value OpenDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pmetal::DeviceOptions opts;
  if (info.Length() >= 1 && info[0].IsObject()) {
    Napi::Object o = info[0].As<Napi::Object>();
    if (o.Has("chip") && o.Get("chip").IsString()) opts.chip = o.Get("chip").As<Napi::String>();
  }
  std::shared_ptr<pmetal::DeviceImpl> d;
  try {
    d = pmetal::openDevice(opts);
  } catch (const Error& e) {
    throwJs(env, e.code, e.what());
  } catch (const std::exception& e) {
    throwJs(env, "UNSUPPORTED", e.what());
  }
  auto ext = Napi::External<std::shared_ptr<pmetal::DeviceImpl>>::New(
      env, new std::shared_ptr<pmetal::DeviceImpl>(d), [](Napi::Env, std::shared_ptr<pmetal::DeviceImpl>* x) { delete x; });
  return data(env)->device.New({ext});
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* d = new AddonData();
  d->device = Napi::Persistent(DeviceWrap::Init(env));
  d->library = Napi::Persistent(LibraryWrap::Init(env));
  d->pipeline = Napi::Persistent(PipelineWrap::Init(env));
  d->buffer = Napi::Persistent(BufferWrap::Init(env));
  env.SetInstanceData<AddonData>(d);
  exports.Set("platform", Napi::String::New(env, pmetal::platformName()));
  exports.Set("openDevice", Napi::Function::New(env, OpenDevice, "openDevice"));
  exports.Set("Device", d->device.Value());
  exports.Set("Library", d->library.Value());
  exports.Set("Pipeline", d->pipeline.Value());
  exports.Set("Buffer", d->buffer.Value());
  return exports;
}

}  // namespace

NODE_API_MODULE(pmetal_native, Init)
