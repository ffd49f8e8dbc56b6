// litert_runner: runs a .tflite model with the LiteRT CompiledModel C API
// (libLiteRt.so from the ai-edge-litert wheel) on CPU, signature 0, following
// the shared protocol (common/protocol.h). Inputs and outputs are matched to
// --input/--output by the signature's names (NAME=FILE), or are the model's
// only input/output (FILE alone).
//   - float32, int32 and int64 (and other non-quantized) inputs take a .npy
//     of the same dtype;
//   - int8/uint8 inputs take a float32 .npy (quantized with the tensor's
//     per-tensor scale/zero point, see quantize.h) or a .npy of the same
//     integer dtype (copied as is);
//   - float32, int32 and int64 outputs are written as they are; int8/uint8
//     outputs are dequantized to float32 unless --raw-output.
// --threads is passed to the CPU (XNNPACK) accelerator as LiteRT's CPU
// options ("num_threads = T" under the opaque-options identifier "xnnpack").
// LiteRT's log lines are kept off stderr (see main()).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/owned.h"
#include "common/runner_main.h"
#include "common/stderr_capture.h"
#include "litert/litert_c_api.h"
#include "litert/quantize.h"

namespace {

using namespace ckpt2cpp;

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

// One signature input or output, and how it is converted: an input is
// copied from its .npy or quantized from float32; an output is copied (its
// own dtype) or dequantized to float32.
struct IoTensor {
  std::string name;
  LiteRtRankedTensorType type{};
  Dtype dtype = Dtype::Float32;
  std::vector<std::int64_t> shape;
  std::optional<LiteRtQuantizationPerTensor> quant;  // per-tensor parameters, if any
  bool convert = false;  // quantize (input) or dequantize (output)
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
  t.name = name ? name : "?";
  check(LiteRtGetRankedTensorType(tensor, &t.type), "tensor '" + t.name + "' has no ranked type",
        "litert_runner needs ranked tensors");
  const auto dtype = dtype_of(t.type.element_type);
  if (!dtype)
    fail("tensor '" + t.name + "' has unsupported element type " + std::to_string(t.type.element_type),
         "supported: float32, float16, int8, uint8, int16, int32, int64, bool");
  t.dtype = *dtype;
  for (unsigned d = 0; d < t.type.layout.rank; ++d) t.shape.push_back(t.type.layout.dimensions[d]);
  LiteRtQuantizationPerTensor q{};
  if (LiteRtGetPerTensorQuantization(tensor, &q) == kLiteRtStatusOk) t.quant = q;
  return t;
}

std::vector<std::string> names_of(const std::vector<IoTensor>& tensors) {
  std::vector<std::string> names;
  for (const auto& t : tensors) names.push_back(t.name);
  return names;
}

bool is_quantized_type(Dtype d) { return d == Dtype::Int8 || d == Dtype::UInt8; }

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

class LiteRtSession : public Session {
 public:
  LiteRtSession(const Args& args, const std::vector<InputFile>& inputs) : raw_output_(args.has("--raw-output")) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(args.model, ec)) fail("model file not found: " + args.model, "check --model");

    LiteRtEnvironment env = nullptr;
    check(LiteRtCreateEnvironment(0, nullptr, &env), "cannot create the LiteRT environment", "check libLiteRt.so");
    env_.reset(env);
    LiteRtModel model = nullptr;
    check(LiteRtCreateModelFromFile(env_.get(), args.model.c_str(), &model), "cannot load " + args.model,
          "expected a .tflite flatbuffer written by tf.lite.TFLiteConverter");
    model_.reset(model);

    std::size_t num_sigs = 0, num_in = 0, num_out = 0;
    check(LiteRtGetNumModelSignatures(model_.get(), &num_sigs), "cannot read signatures", "is the model valid?");
    if (num_sigs == 0) fail(args.model + " has no signature", "convert the model with a signature (TF 2 converters add one)");
    LiteRtSignature sig = nullptr;
    check(LiteRtGetModelSignature(model_.get(), 0, &sig), "cannot read signature 0", "is the model valid?");
    check(LiteRtGetNumSignatureInputs(sig, &num_in), "cannot read inputs", "is the model valid?");
    check(LiteRtGetNumSignatureOutputs(sig, &num_out), "cannot read outputs", "is the model valid?");
    for (std::size_t m = 0; m < num_in; ++m) ins_.push_back(describe(sig, true, m));
    for (std::size_t m = 0; m < num_out; ++m) outs_t_.push_back(describe(sig, false, m));
    file_of_input_ = match_names(args.inputs, names_of(ins_), true, "the model's inputs (signature 0)");
    output_of_ = invert(match_names(args.outputs, names_of(outs_t_), false, "the model's outputs (signature 0)"));
    for (std::size_t m = 0; m < ins_.size(); ++m) choose_input_conversion(ins_[m], inputs[file_of_input_[m]]);
    for (auto& t : outs_t_) choose_output_conversion(t);

    model_path_ = args.model;
    threads_ = args.threads;
    compile(false);

    for (std::size_t m = 0; m < ins_.size(); ++m) in_bufs_.push_back(make_buffer(ins_[m], true, m));
    for (std::size_t m = 0; m < outs_t_.size(); ++m) out_bufs_.push_back(make_buffer(outs_t_[m], false, m));
    for (const auto& b : in_bufs_) in_raw_.push_back(b.get());
    for (const auto& b : out_bufs_) out_raw_.push_back(b.get());
    for (const std::size_t m : output_of_) {
      const IoTensor& t = outs_t_[m];
      Array out;
      out.dtype = t.convert ? Dtype::Float32 : t.dtype;
      out.shape = t.shape;
      out.data.resize(static_cast<std::size_t>(element_count(out.shape)) * dtype_size(out.dtype));
      outs_.push_back(std::move(out));
    }
  }

  bool threads_applied() const override { return threads_applied_; }

  std::string profiler() const override { return "LiteRT CompiledModel profiler (XNNPACK ops by kernel)"; }

  // Compiled again with the profiler on: enabling it reserves about 70 MB of event buffers,
  // which the timed runs' peak RSS must not include. The buffers stay (host memory on the CPU).
  std::vector<OpTime> profile(const std::vector<InputFile>& inputs, int runs) override {
    compile(true);
    LiteRtProfiler profiler = nullptr;
    check(LiteRtCompiledModelGetProfiler(compiled_.get(), &profiler), "cannot get the LiteRT profiler",
          "run without --profile");
    if (!profiler) fail("LiteRT compiled the model without its profiler", "run without --profile");
    const std::size_t samples = inputs[0].array.samples();
    check(LiteRtResetProfiler(profiler), "cannot reset the LiteRT profiler", "run without --profile");
    check(LiteRtStartProfiler(profiler), "cannot start the LiteRT profiler", "run without --profile");
    for (int k = 0; k < runs; ++k) infer(inputs, static_cast<std::size_t>(k) % samples);
    check(LiteRtStopProfiler(profiler), "cannot stop the LiteRT profiler", "run without --profile");
    int count = 0;
    check(LiteRtGetNumProfilerEvents(profiler, &count), "cannot read the profile", "run without --profile");
    std::vector<ProfiledEventData> events(static_cast<std::size_t>(std::max(count, 0)));
    check(LiteRtGetProfilerEvents(profiler, count, events.data()), "cannot read the profile", "run without --profile");
    return op_times(events, runs);
  }

  // Timed region: write (copy or quantize) each sample into its locked input
  // buffer, LiteRtRunCompiledModel, read (copy or dequantize) each output.
  const std::vector<Array>& infer(const std::vector<InputFile>& inputs, std::size_t i) override {
    for (std::size_t m = 0; m < ins_.size(); ++m) write_input(ins_[m], in_raw_[m], inputs[file_of_input_[m]].array, i);
    check(LiteRtRunCompiledModel(compiled_.get(), 0, in_raw_.size(), in_raw_.data(), out_raw_.size(), out_raw_.data()),
          "inference failed", "LiteRT runtime failure");
    for (std::size_t k = 0; k < outs_.size(); ++k) {
      const std::size_t m = output_of_[k];
      read_output(outs_t_[m], out_raw_[m], outs_[k]);
    }
    return outs_;
  }

 private:
  using BufferPtr = Owned<LiteRtTensorBuffer, LiteRtDestroyTensorBuffer>;

  static void write_input(const IoTensor& t, LiteRtTensorBuffer buf, const Array& input, std::size_t i) {
    void* dst = nullptr;
    check(LiteRtLockTensorBuffer(buf, &dst, kLiteRtTensorBufferLockModeWrite), "cannot lock an input buffer",
          "LiteRT runtime failure");
    const unsigned char* src = input.sample(i);
    const std::size_t n = static_cast<std::size_t>(element_count(t.shape));
    const auto& q = t.quant;
    if (!t.convert) std::memcpy(dst, src, input.sample_bytes());
    else if (t.dtype == Dtype::Int8) quantize(reinterpret_cast<const float*>(src), n, q->scale, q->zero_point, static_cast<std::int8_t*>(dst));
    else quantize(reinterpret_cast<const float*>(src), n, q->scale, q->zero_point, static_cast<std::uint8_t*>(dst));
    LiteRtUnlockTensorBuffer(buf);
  }

  static void read_output(const IoTensor& t, LiteRtTensorBuffer buf, Array& out) {
    void* res = nullptr;
    check(LiteRtLockTensorBuffer(buf, &res, kLiteRtTensorBufferLockModeRead), "cannot lock an output buffer",
          "LiteRT runtime failure");
    const std::size_t m = static_cast<std::size_t>(element_count(out.shape));
    const auto& oq = t.quant;
    float* f = reinterpret_cast<float*>(out.data.data());
    if (!t.convert) std::memcpy(out.data.data(), res, out.data.size());
    else if (t.dtype == Dtype::Int8) dequantize(static_cast<const std::int8_t*>(res), m, oq->scale, oq->zero_point, f);
    else dequantize(static_cast<const std::uint8_t*>(res), m, oq->scale, oq->zero_point, f);
    LiteRtUnlockTensorBuffer(buf);
  }

  // Decides how the .npy feeds the input `t`; rejects shape/dtype mismatches.
  static void choose_input_conversion(IoTensor& t, const InputFile& in) {
    const Array& input = in.array;
    const std::string of = in.name.empty() ? "" : " of input '" + in.name + "'";
    const std::vector<std::int64_t> sample = input.batch1_shape();
    for (auto d : t.shape)
      if (d < 0) fail("model input '" + t.name + "' has dynamic shape " + shape_str(t.shape),
                      "convert the model with a fixed input shape");
    if (sample != t.shape)
      fail("input sample shape " + shape_str(sample) + of + " does not match model input '" + t.name + "' " +
               shape_str(t.shape),
           "the .npy must be [N, ...] with each sample shaped like the model input without its batch axis");
    const bool integer_model = is_quantized_type(t.dtype);
    t.convert = integer_model && input.dtype == Dtype::Float32;
    if (t.convert && !t.quant)
      fail("model input '" + t.name + "' is " + dtype_name(t.dtype) + " without per-tensor quantization",
           std::string("pass a .npy of dtype ") + dtype_name(t.dtype));
    if (!t.convert && input.dtype != t.dtype)
      fail(std::string("input dtype ") + dtype_name(input.dtype) + of + " does not match model input '" + t.name +
               "' (" + dtype_name(t.dtype) + ")",
           integer_model ? std::string("pass float32 (quantized for you) or ") + dtype_name(t.dtype)
                         : std::string("save the input as ") + dtype_name(t.dtype));
  }

  // Decides how the output `t` is written: float32, int32 and int64 as they
  // are, int8/uint8 dequantized to float32 unless --raw-output.
  void choose_output_conversion(IoTensor& t) const {
    const Dtype d = t.dtype;
    if (raw_output_ || d == Dtype::Float32 || d == Dtype::Int32 || d == Dtype::Int64) return;
    if (!is_quantized_type(d))
      fail("model output '" + t.name + "' is " + dtype_name(d) + ", which has no float32 conversion",
           "pass --raw-output to write it as is");
    if (!t.quant)
      fail("model output '" + t.name + "' is " + dtype_name(d) + " without per-tensor quantization",
           "pass --raw-output to write the integers as is");
    t.convert = true;
  }

  BufferPtr make_buffer(IoTensor& t, bool is_input, std::size_t index) {
    LiteRtTensorBufferRequirements req = nullptr;
    check(is_input ? LiteRtGetCompiledModelInputBufferRequirements(compiled_.get(), 0, index, &req)
                   : LiteRtGetCompiledModelOutputBufferRequirements(compiled_.get(), 0, index, &req),
          "cannot get buffer requirements for '" + t.name + "'", "LiteRT runtime failure");
    LiteRtTensorBuffer buf = nullptr;
    check(LiteRtCreateManagedTensorBufferFromRequirements(env_.get(), &t.type, req, &buf),
          "cannot allocate the buffer for '" + t.name + "'", "LiteRT runtime failure");
    BufferPtr owned(buf);
    std::size_t size = 0;
    check(LiteRtGetTensorBufferSize(buf, &size), "cannot read the buffer size", "LiteRT runtime failure");
    const std::size_t need = static_cast<std::size_t>(element_count(t.shape)) * dtype_size(t.dtype);
    if (size < need)
      fail("buffer for '" + t.name + "' holds " + std::to_string(size) + " bytes, " + std::to_string(need) + " needed",
           "unexpected LiteRT buffer layout");
    return owned;
  }

  // (Re)compiles the model for the CPU with --threads threads, LiteRT's profiler on if asked.
  void compile(bool profiling) {
    compiled_.reset(nullptr);
    LiteRtOptions options = nullptr;
    check(LiteRtCreateOptions(&options), "cannot create compilation options", "check libLiteRt.so");
    options_.reset(options);
    check(LiteRtSetOptionsHardwareAccelerators(options, kLiteRtHwAcceleratorCpu), "cannot select the CPU",
          "check libLiteRt.so");
    threads_applied_ = add_cpu_threads(options, threads_);
    if (profiling && !add_opaque_options(options, "runtime_options_string", "enable_profiling = true\n"))
      fail("LiteRT refused to enable its profiler", "run without --profile");
    LiteRtCompiledModel compiled = nullptr;
    check(LiteRtCreateCompiledModel(env_.get(), model_.get(), options, &compiled), "cannot compile " + model_path_,
          "the model may use ops this LiteRT build does not support");
    compiled_.reset(compiled);
  }

  // Declaration order = reverse destruction order: buffers and the compiled
  // model go before the options, the model and the environment.
  Owned<LiteRtEnvironment, LiteRtDestroyEnvironment> env_;
  Owned<LiteRtModel, LiteRtDestroyModel> model_;
  Owned<LiteRtOptions, LiteRtDestroyOptions> options_;
  Owned<LiteRtCompiledModel, LiteRtDestroyCompiledModel> compiled_;
  std::vector<BufferPtr> in_bufs_, out_bufs_;              // per signature input / output
  std::vector<LiteRtTensorBuffer> in_raw_, out_raw_;       // their handles, for LiteRtRunCompiledModel
  std::vector<IoTensor> ins_, outs_t_;                     // signature order
  std::vector<std::size_t> file_of_input_;                 // per signature input: its --input
  std::vector<std::size_t> output_of_;                     // per --output: its signature output
  bool raw_output_ = false;
  bool threads_applied_ = false;
  std::string model_path_;
  int threads_ = 1;
  std::vector<Array> outs_;  // per --output
};

}  // namespace

int main(int argc, char** argv) {
  // LiteRT logs a dozen INFO/WARNING lines per run and offers no exported
  // way to lower its log level: keep them off stderr (its last ERROR line is
  // added to our error message). CKPT2CPP_RUNTIME_LOGS=1 shows them.
  const char* show_logs = std::getenv("CKPT2CPP_RUNTIME_LOGS");
  std::optional<StderrCapture> quiet;
  if (!show_logs || std::string(show_logs) != "1") quiet.emplace();
  const RunnerInfo info{"litert_runner", "litert", ".tflite model (LiteRT CompiledModel on CPU, signature 0)",
                        {{"--raw-output", "", "write int8/uint8 outputs as integers instead of dequantized float32"}}};
  return run_main(argc, argv, info,
                  [](const Args& args, const std::vector<InputFile>& inputs) -> std::unique_ptr<Session> {
                    return std::make_unique<LiteRtSession>(args, inputs);
                  });
}
