// litert_runner: runs a .tflite model with the LiteRT CompiledModel C API
// (libLiteRt.so from the ai-edge-litert wheel) on CPU, signature 0, following
// the shared protocol (common/protocol.h).
//   - float32 inputs take a float32 .npy;
//   - int8/uint8 inputs take a float32 .npy (quantized with the tensor's
//     per-tensor scale/zero point, see quantize.h) or a .npy of the same
//     integer dtype (copied as is);
//   - int8/uint8 outputs are dequantized to float32 unless --raw-output.
// --threads is passed to the CPU (XNNPACK) accelerator as LiteRT's CPU
// options ("num_threads = T" under the opaque-options identifier "xnnpack").
// LiteRT's log lines are kept off stderr (see main()).
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

// One signature input or output.
struct IoTensor {
  std::string name;
  LiteRtRankedTensorType type{};
  Dtype dtype = Dtype::Float32;
  std::vector<std::int64_t> shape;
  std::optional<LiteRtQuantizationPerTensor> quant;  // per-tensor parameters, if any
};

IoTensor describe(LiteRtSignature sig, bool is_input) {
  IoTensor t;
  const char* name = nullptr;
  LiteRtTensor tensor = nullptr;
  if (is_input) {
    check(LiteRtGetSignatureInputName(sig, 0, &name), "cannot read the input name", "is the model valid?");
    check(LiteRtGetSignatureInputTensorByIndex(sig, 0, &tensor), "cannot read the input tensor", "is the model valid?");
  } else {
    check(LiteRtGetSignatureOutputName(sig, 0, &name), "cannot read the output name", "is the model valid?");
    check(LiteRtGetSignatureOutputTensorByIndex(sig, 0, &tensor), "cannot read the output tensor", "is the model valid?");
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

// Attaches "num_threads = T" for the CPU accelerator. Returns false if LiteRT
// refused the options (the run then uses LiteRT's default thread count).
bool add_cpu_threads(LiteRtOptions options, int threads) {
  const std::string toml = "num_threads = " + std::to_string(threads) + "\n";
  char* payload = strdup(toml.c_str());
  if (!payload) return false;
  LiteRtOpaqueOptions opaque = nullptr;
  if (LiteRtCreateOpaqueOptions("xnnpack", payload, &std::free, &opaque) != kLiteRtStatusOk) {
    std::free(payload);
    return false;
  }
  if (LiteRtAddOpaqueOptions(options, opaque) != kLiteRtStatusOk) {
    LiteRtDestroyOpaqueOptions(opaque);  // frees the payload
    return false;
  }
  return true;
}

class LiteRtSession : public Session {
 public:
  LiteRtSession(const Args& args, const Array& input) : raw_output_(args.has("--raw-output")) {
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
    if (num_in != 1 || num_out != 1)
      fail(args.model + " signature 0 has " + std::to_string(num_in) + " input(s) and " + std::to_string(num_out) +
               " output(s)",
           "litert_runner runs models with one input and one output");
    in_ = describe(sig, true);
    out_t_ = describe(sig, false);
    choose_conversions(input);

    LiteRtOptions options = nullptr;
    check(LiteRtCreateOptions(&options), "cannot create compilation options", "check libLiteRt.so");
    options_.reset(options);
    check(LiteRtSetOptionsHardwareAccelerators(options, kLiteRtHwAcceleratorCpu), "cannot select the CPU",
          "check libLiteRt.so");
    threads_applied_ = add_cpu_threads(options, args.threads);
    LiteRtCompiledModel compiled = nullptr;
    check(LiteRtCreateCompiledModel(env_.get(), model_.get(), options, &compiled), "cannot compile " + args.model,
          "the model may use ops this LiteRT build does not support");
    compiled_.reset(compiled);

    in_buf_ = make_buffer(in_, true);
    out_buf_ = make_buffer(out_t_, false);
    out_.dtype = raw_output_ ? out_t_.dtype : Dtype::Float32;
    out_.shape = out_t_.shape;
    out_.data.resize(static_cast<std::size_t>(element_count(out_.shape)) * dtype_size(out_.dtype));
  }

  bool threads_applied() const override { return threads_applied_; }

  // Timed region: write (copy or quantize) the sample into the locked input
  // buffer, LiteRtRunCompiledModel, read (copy or dequantize) the output.
  const Array& infer(const Array& input, std::size_t i) override {
    void* dst = nullptr;
    check(LiteRtLockTensorBuffer(in_buf_.get(), &dst, kLiteRtTensorBufferLockModeWrite), "cannot lock the input buffer",
          "LiteRT runtime failure");
    const unsigned char* src = input.sample(i);
    const std::size_t n = static_cast<std::size_t>(element_count(in_.shape));
    const auto& q = in_.quant;
    if (!quantize_input_) std::memcpy(dst, src, input.sample_bytes());
    else if (in_.dtype == Dtype::Int8) quantize(reinterpret_cast<const float*>(src), n, q->scale, q->zero_point, static_cast<std::int8_t*>(dst));
    else quantize(reinterpret_cast<const float*>(src), n, q->scale, q->zero_point, static_cast<std::uint8_t*>(dst));
    LiteRtUnlockTensorBuffer(in_buf_.get());

    LiteRtTensorBuffer in = in_buf_.get(), out = out_buf_.get();
    check(LiteRtRunCompiledModel(compiled_.get(), 0, 1, &in, 1, &out), "inference failed", "LiteRT runtime failure");

    void* res = nullptr;
    check(LiteRtLockTensorBuffer(out_buf_.get(), &res, kLiteRtTensorBufferLockModeRead), "cannot lock the output buffer",
          "LiteRT runtime failure");
    const std::size_t m = static_cast<std::size_t>(element_count(out_.shape));
    const auto& oq = out_t_.quant;
    float* f = reinterpret_cast<float*>(out_.data.data());
    if (raw_output_ || out_t_.dtype == Dtype::Float32) std::memcpy(out_.data.data(), res, out_.data.size());
    else if (out_t_.dtype == Dtype::Int8) dequantize(static_cast<const std::int8_t*>(res), m, oq->scale, oq->zero_point, f);
    else dequantize(static_cast<const std::uint8_t*>(res), m, oq->scale, oq->zero_point, f);
    LiteRtUnlockTensorBuffer(out_buf_.get());
    return out_;
  }

 private:
  using BufferPtr = Owned<LiteRtTensorBuffer, LiteRtDestroyTensorBuffer>;

  // Decides how the .npy feeds the input and how the output becomes float32;
  // rejects shape/dtype mismatches.
  void choose_conversions(const Array& input) {
    const std::vector<std::int64_t> sample = input.batch1_shape();
    for (auto d : in_.shape)
      if (d < 0) fail("model input '" + in_.name + "' has dynamic shape " + shape_str(in_.shape),
                      "convert the model with a fixed input shape");
    if (sample != in_.shape)
      fail("input sample shape " + shape_str(sample) + " does not match model input '" + in_.name + "' " +
               shape_str(in_.shape),
           "the .npy must be [N, ...] with each sample shaped like the model input without its batch axis");
    const bool integer_model = in_.dtype == Dtype::Int8 || in_.dtype == Dtype::UInt8;
    quantize_input_ = integer_model && input.dtype == Dtype::Float32;
    if (quantize_input_ && !in_.quant)
      fail("model input '" + in_.name + "' is " + dtype_name(in_.dtype) + " without per-tensor quantization",
           std::string("pass a .npy of dtype ") + dtype_name(in_.dtype));
    if (!quantize_input_ && input.dtype != in_.dtype)
      fail(std::string("input dtype ") + dtype_name(input.dtype) + " does not match model input '" + in_.name + "' (" +
               dtype_name(in_.dtype) + ")",
           integer_model ? std::string("pass float32 (quantized for you) or ") + dtype_name(in_.dtype)
                         : std::string("save the input as ") + dtype_name(in_.dtype));

    const bool integer_out = out_t_.dtype == Dtype::Int8 || out_t_.dtype == Dtype::UInt8;
    if (raw_output_ || out_t_.dtype == Dtype::Float32) return;
    if (!integer_out)
      fail("model output '" + out_t_.name + "' is " + dtype_name(out_t_.dtype) + ", which has no float32 conversion",
           "pass --raw-output to write it as is");
    if (!out_t_.quant)
      fail("model output '" + out_t_.name + "' is " + dtype_name(out_t_.dtype) + " without per-tensor quantization",
           "pass --raw-output to write the integers as is");
  }

  BufferPtr make_buffer(IoTensor& t, bool is_input) {
    LiteRtTensorBufferRequirements req = nullptr;
    check(is_input ? LiteRtGetCompiledModelInputBufferRequirements(compiled_.get(), 0, 0, &req)
                   : LiteRtGetCompiledModelOutputBufferRequirements(compiled_.get(), 0, 0, &req),
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

  // Declaration order = reverse destruction order: buffers and the compiled
  // model go before the options, the model and the environment.
  Owned<LiteRtEnvironment, LiteRtDestroyEnvironment> env_;
  Owned<LiteRtModel, LiteRtDestroyModel> model_;
  Owned<LiteRtOptions, LiteRtDestroyOptions> options_;
  Owned<LiteRtCompiledModel, LiteRtDestroyCompiledModel> compiled_;
  BufferPtr in_buf_, out_buf_;
  IoTensor in_, out_t_;
  bool raw_output_ = false;
  bool quantize_input_ = false;
  bool threads_applied_ = false;
  Array out_;
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
  return run_main(argc, argv, info, [](const Args& args, const Array& input) -> std::unique_ptr<Session> {
    return std::make_unique<LiteRtSession>(args, input);
  });
}
