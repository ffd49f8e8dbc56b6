// ckpt2cpp::Model on LiteRT: a .tflite model through the CompiledModel C API (libLiteRt.so
// from the ai-edge-litert wheel) on CPU, signature 0.
//   - inputs take their own dtype, or float32 quantized onto int8/uint8 with the tensor's
//     per-tensor scale and zero point (quantize.h);
//   - float32, int32 and int64 outputs are copied as they are; int8/uint8 outputs are
//     dequantized to float32 unless Options::raw_output;
//   - Options::threads reaches the CPU (XNNPACK) accelerator as LiteRT's CPU options
//     ("num_threads = T" under the opaque-options identifier "xnnpack").
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/owned.h"
#include "common/stderr_capture.h"
#include "lib/backends.h"
#include "lib/litert_c_api.h"
#include "lib/quantize.h"

namespace ckpt2cpp {

namespace {

const char* status_name(LiteRtStatus s) {
  switch (s) {
    case 1: return "invalid argument";
    case 2: return "memory allocation failure";
    case 3: return "runtime failure";
    case 4: return "missing input tensor";
    case 5: return "unsupported";
    case 6: return "not found";
    case 500: return "file I/O error or invalid model file";
    case 501: return "invalid flatbuffer";
    case 504: return "compilation error";
    default: return "error";
  }
}

// Fails with the status and LiteRT's own last logged error, if any. Takes
// string_views so that a successful check (every inference) allocates nothing.
void check(LiteRtStatus s, std::string_view what, std::string_view hint) {
  if (s == kLiteRtStatusOk) return;
  const std::string logged = captured_error_line();
  fail(std::string(what) + ": LiteRT status " + std::to_string(s) + " (" + status_name(s) + ")" +
           (logged.empty() ? "" : ": " + logged),
       std::string(hint));
}

std::optional<Dtype> dtype_of(int element_type) {
  switch (element_type) {
    case kLiteRtElementTypeFloat32: return Dtype::Float32;
    case kLiteRtElementTypeFloat16: return Dtype::Float16;
    case kLiteRtElementTypeFloat64: return Dtype::Float64;
    case kLiteRtElementTypeInt8: return Dtype::Int8;
    case kLiteRtElementTypeUInt8: return Dtype::UInt8;
    case kLiteRtElementTypeInt16: return Dtype::Int16;
    case kLiteRtElementTypeInt32: return Dtype::Int32;
    case kLiteRtElementTypeInt64: return Dtype::Int64;
    case kLiteRtElementTypeBool: return Dtype::Bool;
    default: return std::nullopt;
  }
}

bool is_quantized_type(Dtype d) { return d == Dtype::Int8 || d == Dtype::UInt8; }

// One signature input or output: what the model declares, and its LiteRT type.
struct IoTensor {
  TensorInfo info;
  LiteRtRankedTensorType type{};
  bool convert = false;  // output: dequantize to float32
};

IoTensor describe(LiteRtSignature sig, bool is_input, std::size_t index) {
  IoTensor t;
  const char* name = nullptr;
  LiteRtTensor tensor = nullptr;
  if (is_input) {
    check(LiteRtGetSignatureInputName(sig, index, &name), "cannot read an input name", "is the model valid?");
    check(LiteRtGetSignatureInputTensorByIndex(sig, index, &tensor), "cannot read an input tensor",
          "is the model valid?");
  } else {
    check(LiteRtGetSignatureOutputName(sig, index, &name), "cannot read an output name", "is the model valid?");
    check(LiteRtGetSignatureOutputTensorByIndex(sig, index, &tensor), "cannot read an output tensor",
          "is the model valid?");
  }
  TensorInfo& info = t.info;
  info.name = name ? name : "?";
  check(LiteRtGetRankedTensorType(tensor, &t.type), "tensor '" + info.name + "' has no ranked type",
        "ckpt2cpp needs ranked tensors");
  const auto dtype = dtype_of(t.type.element_type);
  if (!dtype)
    fail("tensor '" + info.name + "' has unsupported element type " + std::to_string(t.type.element_type),
         "supported: float32, float16, int8, uint8, int16, int32, int64, bool");
  info.dtype = *dtype;
  for (unsigned d = 0; d < t.type.layout.rank; ++d) info.shape.push_back(t.type.layout.dimensions[d]);
  LiteRtQuantizationPerTensor q{};
  if (LiteRtGetPerTensorQuantization(tensor, &q) == kLiteRtStatusOk) {
    info.quantized = true;
    info.scale = q.scale;
    info.zero_point = q.zero_point;
  }
  return t;
}

// Attaches the TOML `toml` under the opaque-options `identifier`. Returns false
// if LiteRT refused it.
bool add_opaque_options(LiteRtOptions options, const char* identifier, const std::string& toml) {
  char* payload = strdup(toml.c_str());
  if (!payload) return false;
  LiteRtOpaqueOptions opaque = nullptr;
  if (LiteRtCreateOpaqueOptions(identifier, payload, &std::free, &opaque) != kLiteRtStatusOk) {
    std::free(payload);
    return false;
  }
  if (LiteRtAddOpaqueOptions(options, opaque) != kLiteRtStatusOk) {
    LiteRtDestroyOpaqueOptions(opaque);  // frees the payload
    return false;
  }
  return true;
}

// Attaches "num_threads = T" for the CPU accelerator. Returns false if LiteRT
// refused the options (the run then uses LiteRT's default thread count).
bool add_cpu_threads(LiteRtOptions options, int threads) {
  return add_opaque_options(options, "xnnpack", "num_threads = " + std::to_string(threads) + "\n");
}

// The operator events of a profile, summed per node: "<tag> #<node>", kind "<tag>"
// (XNNPACK names its kernels, e.g. "Convolution (NHWC, QC8) IGEMM"; ops XNNPACK
// did not take are TFLite's builtin op names).
std::vector<OpTime> op_times(const std::vector<ProfiledEventData>& events, int runs) {
  std::vector<OpTime> ops;
  for (const auto& e : events) {
    const bool op = e.event_type == kLiteRtProfilerEventOperator || e.event_type == kLiteRtProfilerEventDelegateOperator ||
                    e.event_type == kLiteRtProfilerEventDelegateProfiledOperator;
    if (!op || !e.tag) continue;
    const std::string kind = e.tag, name = kind + " #" + std::to_string(e.event_metadata1);
    auto it = std::find_if(ops.begin(), ops.end(), [&](const OpTime& t) { return t.name == name; });
    if (it == ops.end()) it = ops.insert(ops.end(), OpTime{name, kind, 0});
    it->ms += static_cast<double>(e.elapsed_time_us) / 1e3 / runs;
  }
  return ops;
}

class TfliteModel : public Model {
 public:
  TfliteModel(const std::string& file, const Options& options) : path_(file), threads_(options.threads) {
    LiteRtEnvironment env = nullptr;
    check(LiteRtCreateEnvironment(0, nullptr, &env), "cannot create the LiteRT environment", "check libLiteRt.so");
    env_.reset(env);
    LiteRtModel model = nullptr;
    check(LiteRtCreateModelFromFile(env_.get(), file.c_str(), &model), "cannot load " + file,
          "expected a .tflite flatbuffer written by tf.lite.TFLiteConverter");
    model_.reset(model);

    std::size_t num_sigs = 0, num_in = 0, num_out = 0;
    check(LiteRtGetNumModelSignatures(model_.get(), &num_sigs), "cannot read signatures", "is the model valid?");
    if (num_sigs == 0) fail(file + " has no signature", "convert the model with a signature (TF 2 converters add one)");
    LiteRtSignature sig = nullptr;
    check(LiteRtGetModelSignature(model_.get(), 0, &sig), "cannot read signature 0", "is the model valid?");
    check(LiteRtGetNumSignatureInputs(sig, &num_in), "cannot read inputs", "is the model valid?");
    check(LiteRtGetNumSignatureOutputs(sig, &num_out), "cannot read outputs", "is the model valid?");
    for (std::size_t m = 0; m < num_in; ++m) ins_.push_back(describe(sig, true, m));
    for (const auto& t : ins_)
      for (auto d : t.info.shape)
        if (d < 0)
          fail("model input '" + t.info.name + "' has dynamic shape " + shape_str(t.info.shape),
               "convert the model with a fixed input shape");
    for (std::size_t m = 0; m < num_out; ++m) outs_t_.push_back(describe(sig, false, m));
    for (auto& t : outs_t_) choose_output_conversion(t, options.raw_output);
    for (const auto& t : ins_) inputs_.push_back(t.info);
    for (const auto& t : outs_t_) outputs_.push_back(t.info);

    compile(false);
    for (std::size_t m = 0; m < ins_.size(); ++m) in_bufs_.push_back(make_buffer(ins_[m], true, m));
    for (std::size_t m = 0; m < outs_t_.size(); ++m) out_bufs_.push_back(make_buffer(outs_t_[m], false, m));
    for (const auto& b : in_bufs_) in_raw_.push_back(b.get());
    for (const auto& b : out_bufs_) out_raw_.push_back(b.get());
    for (const IoTensor& t : outs_t_) {
      Array out;
      out.dtype = t.convert ? Dtype::Float32 : t.info.dtype;
      out.shape = t.info.shape;
      out.data.resize(static_cast<std::size_t>(element_count(out.shape)) * dtype_size(out.dtype));
      outs_.push_back(std::move(out));
    }
  }

  // Writes (copies or quantizes) one sample into the locked input buffer. The checks that pass
  // allocate nothing: this runs inside every timed inference.
  using Model::set_input;
  void set_input(std::size_t index, Dtype dtype, const std::vector<std::int64_t>& shape, const void* data,
                 std::size_t bytes) override {
    const TensorInfo& t = input_at(index);
    const bool quantize_it = dtype == Dtype::Float32 && is_quantized_type(t.dtype);
    if ((quantize_it && !t.quantized) || (!quantize_it && dtype != t.dtype) || shape != t.shape)
      check_input(index, dtype, shape);
    const std::size_t n = static_cast<std::size_t>(element_count(t.shape));
    if (bytes != n * dtype_size(dtype))
      fail("input '" + t.name + "' takes " + std::to_string(n) + " " + dtype_name(dtype) + " values (" +
               std::to_string(n * dtype_size(dtype)) + " bytes), got " + std::to_string(bytes) + " bytes",
           "pass one sample shaped " + shape_str(t.shape));
    LiteRtTensorBuffer buf = in_raw_[index];
    void* dst = nullptr;
    check(LiteRtLockTensorBuffer(buf, &dst, kLiteRtTensorBufferLockModeWrite), "cannot lock an input buffer",
          "LiteRT runtime failure");
    const float* x = static_cast<const float*>(data);
    if (!quantize_it) std::memcpy(dst, data, bytes);
    else if (t.dtype == Dtype::Int8) quantize(x, n, t.scale, t.zero_point, static_cast<std::int8_t*>(dst));
    else quantize(x, n, t.scale, t.zero_point, static_cast<std::uint8_t*>(dst));
    LiteRtUnlockTensorBuffer(buf);
  }

  void run() override {
    check(LiteRtRunCompiledModel(compiled_.get(), 0, in_raw_.size(), in_raw_.data(), out_raw_.size(), out_raw_.data()),
          "inference failed", "LiteRT runtime failure");
    for (std::size_t m = 0; m < outs_.size(); ++m) read_output(outs_t_[m], out_raw_[m], outs_[m]);
  }

  const std::vector<Array>& output_arrays() const override { return outs_; }

  bool threads_applied() const override { return threads_applied_; }

  std::string profiler() const override { return "LiteRT CompiledModel profiler (XNNPACK ops by kernel)"; }

  // Compiled again with the profiler on: enabling it reserves about 70 MB of event buffers,
  // which the timed runs' peak RSS must not include. The buffers stay (host memory on the CPU).
  void start_profiling() override {
    compile(true);
    LiteRtProfiler profiler = nullptr;
    check(LiteRtCompiledModelGetProfiler(compiled_.get(), &profiler), "cannot get the LiteRT profiler",
          "run without --profile");
    if (!profiler) fail("LiteRT compiled the model without its profiler", "run without --profile");
    check(LiteRtResetProfiler(profiler), "cannot reset the LiteRT profiler", "run without --profile");
    check(LiteRtStartProfiler(profiler), "cannot start the LiteRT profiler", "run without --profile");
    profiler_ = profiler;
  }

  std::vector<OpTime> stop_profiling(int runs) override {
    if (!profiler_) fail("the profiler was not started", "call start_profiling() first");
    check(LiteRtStopProfiler(profiler_), "cannot stop the LiteRT profiler", "run without --profile");
    int count = 0;
    check(LiteRtGetNumProfilerEvents(profiler_, &count), "cannot read the profile", "run without --profile");
    std::vector<ProfiledEventData> events(static_cast<std::size_t>(std::max(count, 0)));
    check(LiteRtGetProfilerEvents(profiler_, count, events.data()), "cannot read the profile", "run without --profile");
    return op_times(events, runs);
  }

 private:
  using BufferPtr = Owned<LiteRtTensorBuffer, LiteRtDestroyTensorBuffer>;

  static void read_output(const IoTensor& t, LiteRtTensorBuffer buf, Array& out) {
    void* res = nullptr;
    check(LiteRtLockTensorBuffer(buf, &res, kLiteRtTensorBufferLockModeRead), "cannot lock an output buffer",
          "LiteRT runtime failure");
    const std::size_t m = static_cast<std::size_t>(element_count(out.shape));
    const TensorInfo& q = t.info;
    float* f = reinterpret_cast<float*>(out.data.data());
    if (!t.convert) std::memcpy(out.data.data(), res, out.data.size());
    else if (q.dtype == Dtype::Int8) dequantize(static_cast<const std::int8_t*>(res), m, q.scale, q.zero_point, f);
    else dequantize(static_cast<const std::uint8_t*>(res), m, q.scale, q.zero_point, f);
    LiteRtUnlockTensorBuffer(buf);
  }

  // Float32, int32 and int64 outputs as they are, int8/uint8 dequantized to float32 unless
  // `raw`; anything else only raw.
  static void choose_output_conversion(IoTensor& t, bool raw) {
    const Dtype d = t.info.dtype;
    if (raw || d == Dtype::Float32 || d == Dtype::Int32 || d == Dtype::Int64) return;
    if (!is_quantized_type(d))
      fail("model output '" + t.info.name + "' is " + dtype_name(d) + ", which has no float32 conversion",
           "pass --raw-output to write it as is");
    if (!t.info.quantized)
      fail("model output '" + t.info.name + "' is " + dtype_name(d) + " without per-tensor quantization",
           "pass --raw-output to write the integers as is");
    t.convert = true;
  }

  BufferPtr make_buffer(IoTensor& t, bool is_input, std::size_t index) {
    LiteRtTensorBufferRequirements req = nullptr;
    check(is_input ? LiteRtGetCompiledModelInputBufferRequirements(compiled_.get(), 0, index, &req)
                   : LiteRtGetCompiledModelOutputBufferRequirements(compiled_.get(), 0, index, &req),
          "cannot get buffer requirements for '" + t.info.name + "'", "LiteRT runtime failure");
    LiteRtTensorBuffer buf = nullptr;
    check(LiteRtCreateManagedTensorBufferFromRequirements(env_.get(), &t.type, req, &buf),
          "cannot allocate the buffer for '" + t.info.name + "'", "LiteRT runtime failure");
    BufferPtr owned(buf);
    std::size_t size = 0;
    check(LiteRtGetTensorBufferSize(buf, &size), "cannot read the buffer size", "LiteRT runtime failure");
    const std::size_t need = static_cast<std::size_t>(element_count(t.info.shape)) * dtype_size(t.info.dtype);
    if (size < need)
      fail("buffer for '" + t.info.name + "' holds " + std::to_string(size) + " bytes, " + std::to_string(need) +
               " needed",
           "unexpected LiteRT buffer layout");
    return owned;
  }

  // (Re)compiles the model for the CPU with the threads asked for, LiteRT's profiler on if asked.
  void compile(bool profiling) {
    compiled_.reset(nullptr);
    profiler_ = nullptr;
    LiteRtOptions options = nullptr;
    check(LiteRtCreateOptions(&options), "cannot create compilation options", "check libLiteRt.so");
    options_.reset(options);
    check(LiteRtSetOptionsHardwareAccelerators(options, kLiteRtHwAcceleratorCpu), "cannot select the CPU",
          "check libLiteRt.so");
    threads_applied_ = add_cpu_threads(options, threads_);
    if (profiling && !add_opaque_options(options, "runtime_options_string", "enable_profiling = true\n"))
      fail("LiteRT refused to enable its profiler", "run without --profile");
    LiteRtCompiledModel compiled = nullptr;
    check(LiteRtCreateCompiledModel(env_.get(), model_.get(), options, &compiled), "cannot compile " + path_,
          "the model may use ops this LiteRT build does not support");
    compiled_.reset(compiled);
  }

  // Declaration order = reverse destruction order: buffers and the compiled
  // model go before the options, the model and the environment.
  Owned<LiteRtEnvironment, LiteRtDestroyEnvironment> env_;
  Owned<LiteRtModel, LiteRtDestroyModel> model_;
  Owned<LiteRtOptions, LiteRtDestroyOptions> options_;
  Owned<LiteRtCompiledModel, LiteRtDestroyCompiledModel> compiled_;
  std::vector<BufferPtr> in_bufs_, out_bufs_;         // per signature input / output
  std::vector<LiteRtTensorBuffer> in_raw_, out_raw_;  // their handles, for LiteRtRunCompiledModel
  std::vector<IoTensor> ins_, outs_t_;                // signature order
  std::vector<Array> outs_;                           // the last run's outputs, signature order
  LiteRtProfiler profiler_ = nullptr;
  std::string path_;
  int threads_ = 1;
  bool threads_applied_ = false;
};

}  // namespace

const RuntimeFormat& runtime_format() {
  static const RuntimeFormat format{"LiteRT", {"model.tflite"}, {".tflite"}, "",
                                    "export the model with the pipeline's quantize stage"};
  return format;
}

std::unique_ptr<Model> open_model(const std::string& file, const Options& options) {
  return std::make_unique<TfliteModel>(file, options);
}

}  // namespace ckpt2cpp
