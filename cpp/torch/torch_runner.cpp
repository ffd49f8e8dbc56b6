// torch_runner: runs a TorchScript module (.pt) or an AOTInductor package
// (.pt2) on CPU with libtorch, following the shared protocol
// (common/protocol.h). The input .npy must be float32; each sample becomes a
// tensor of the sample's shape [1, d1, ...].
#include <ATen/Parallel.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/script.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/runner_main.h"

namespace {

using namespace ckpt2cpp;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The one output tensor of a TorchScript forward(): a tensor, or a
// tuple/list holding exactly one tensor.
at::Tensor single_tensor(const c10::IValue& v) {
  if (v.isTensor()) return v.toTensor();
  if (v.isTuple() && v.toTupleRef().elements().size() == 1) return single_tensor(v.toTupleRef().elements()[0]);
  if (v.isTensorList() && v.toTensorList().size() == 1) return v.toTensorList().get(0);
  fail("model returned " + v.tagKind() + " instead of a single tensor",
       "torch_runner supports models with one tensor output");
}

class TorchSession : public Session {
 public:
  TorchSession(const Args& args, const Array& input) {
    const std::string& path = args.model;
    const bool aoti = ends_with(path, ".pt2");
    if (!aoti && !ends_with(path, ".pt"))
      throw UsageError("model path " + path + " must end with .pt (TorchScript) or .pt2 (AOTInductor package)",
                       "rename the file or pass the right --model");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) fail("model file not found: " + path, "check --model");
    if (input.dtype != Dtype::Float32)
      fail(std::string("input dtype ") + dtype_name(input.dtype) + " does not match the model input float32",
           "save the input as float32: np.save(path, x.astype(np.float32))");

    at::set_num_threads(args.threads);  // same as torch.set_num_threads
    try {
      if (aoti) {
        // Make the generated code validate input dtype/shape instead of
        // reading out of bounds (AOTInductor skips the checks by default).
        // Its failed checks also print "Error: ..." to std::cerr; the same
        // text reaches us in the exception, so std::cerr (unused by our own
        // messages) is muted while the package is loaded.
        setenv("AOTI_RUNTIME_CHECK_INPUTS", "1", 0);
        aoti_ = std::make_unique<torch::inductor::AOTIModelPackageLoader>(path);
        muted_cerr_ = std::cerr.rdbuf(nullptr);
      } else {
        module_ = torch::jit::load(path, torch::kCPU);  // maps GPU-traced weights to CPU
        module_->eval();
      }
    } catch (const std::exception& e) {
      fail("cannot load " + std::string(aoti ? "AOTInductor package " : "TorchScript model ") + path + ": " +
               message_of(e),
           aoti ? "create it with torch._inductor.aoti_compile_and_package(torch.export.export(...))"
                : "save it with torch.jit.trace(model, x).save(path) or torch.jit.script(model).save(path)");
    }
    input_ = torch::empty(input.batch1_shape(), torch::kFloat32);
  }

  ~TorchSession() override {
    if (muted_cerr_) std::cerr.rdbuf(muted_cerr_);
  }

  // Timed region: memcpy of the sample into the input tensor, forward / AOTI
  // run, copy of the (float32, contiguous) output into out_.
  const Array& infer(const Array& input, std::size_t i) override {
    std::memcpy(input_.data_ptr(), input.sample(i), input.sample_bytes());
    at::Tensor y;
    try {
      c10::InferenceMode guard;
      if (aoti_) {
        std::vector<at::Tensor> outs = aoti_->run({input_});
        if (outs.size() != 1)
          fail("model returned " + std::to_string(outs.size()) + " outputs", "torch_runner supports one output");
        y = outs[0];
      } else {
        y = single_tensor(module_->forward({input_}));
      }
      y = y.to(torch::kCPU, torch::kFloat32).contiguous();
    } catch (const RunError&) {
      throw;
    } catch (const std::exception& e) {
      fail("inference failed for input shape " + shape_str(input.batch1_shape()) + ": " + message_of(e),
           "check that the input .npy has the layout and size the model expects");
    }
    out_.dtype = Dtype::Float32;
    out_.shape.assign(y.sizes().begin(), y.sizes().end());
    out_.data.resize(static_cast<std::size_t>(y.numel()) * sizeof(float));
    std::memcpy(out_.data.data(), y.data_ptr<float>(), out_.data.size());
    return out_;
  }

 private:
  // One line from a torch exception: the message without the C++ backtrace;
  // for TorchScript interpreter errors the last line, which names the cause
  // (the first one is "The following operation failed in the TorchScript interpreter.").
  static std::string message_of(const std::exception& e) {
    const auto* c10e = dynamic_cast<const c10::Error*>(&e);
    const std::string msg = c10e ? c10e->what_without_backtrace() : e.what();
    return msg.find("TorchScript interpreter") != std::string::npos ? last_line(msg) : first_line(msg);
  }

  std::streambuf* muted_cerr_ = nullptr;
  std::optional<torch::jit::Module> module_;
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> aoti_;
  at::Tensor input_;
  Array out_;
};

}  // namespace

int main(int argc, char** argv) {
  const RunnerInfo info{"torch_runner", "torch",
                        "TorchScript module (.pt) or AOTInductor package (.pt2); always run on CPU",
                        {}};
  return run_main(argc, argv, info, [](const Args& args, const Array& input) -> std::unique_ptr<Session> {
    return std::make_unique<TorchSession>(args, input);
  });
}
