// litert_runner: runs a .tflite model through the ckpt2cpp library (include/ckpt2cpp/model.h,
// lib/litert_model.cpp: LiteRT's CompiledModel C API on CPU, signature 0), following the shared
// protocol (common/protocol.h). The runner only matches --input/--output to the model's names
// (NAME=FILE), or to its only input/output (FILE alone), and checks each .npy against the model
// before the timed runs; converting, running and profiling are the library's, so the evaluation
// times the code a bundle ships. LiteRT's log lines are kept off stderr (see main()).
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ckpt2cpp/model.h"
#include "common/runner_main.h"
#include "common/stderr_capture.h"

namespace {

using namespace ckpt2cpp;

std::vector<std::string> names_of(const std::vector<TensorInfo>& tensors) {
  std::vector<std::string> names;
  for (const auto& t : tensors) names.push_back(t.name);
  return names;
}

bool is_identity(const std::vector<std::size_t>& order) {
  for (std::size_t k = 0; k < order.size(); ++k)
    if (order[k] != k) return false;
  return true;
}

class LiteRtSession : public Session {
 public:
  LiteRtSession(const Args& args, const std::vector<InputFile>& inputs)
      : model_(Model::load(args.model, Options{args.threads, args.has("--raw-output")})) {
    file_of_input_ = match_names(args.inputs, names_of(model_->inputs()), true, "the model's inputs (signature 0)");
    output_of_ = invert(match_names(args.outputs, names_of(model_->outputs()), false, "the model's outputs (signature 0)"));
    for (std::size_t m = 0; m < file_of_input_.size(); ++m) {
      const InputFile& in = inputs[file_of_input_[m]];
      model_->check_input(m, in.array.dtype, in.array.batch1_shape(), in.name.empty() ? "" : " of input '" + in.name + "'");
    }
    if (!is_identity(output_of_)) outs_.resize(output_of_.size());
  }

  bool threads_applied() const override { return model_->threads_applied(); }

  std::string profiler() const override { return model_->profiler(); }

  std::vector<OpTime> profile(const std::vector<InputFile>& inputs, int runs) override {
    model_->start_profiling();
    const std::size_t samples = inputs[0].array.samples();
    for (int k = 0; k < runs; ++k) infer(inputs, static_cast<std::size_t>(k) % samples);
    return model_->stop_profiling(runs);
  }

  // Timed region: the library writes (copies or quantizes) each sample into its input buffer,
  // runs, and reads (copies or dequantizes) each output. Outputs come back in the model's
  // order; only an --output order that differs from it costs a copy.
  const std::vector<Array>& infer(const std::vector<InputFile>& inputs, std::size_t i) override {
    for (std::size_t m = 0; m < file_of_input_.size(); ++m) {
      const Array& a = inputs[file_of_input_[m]].array;
      model_->set_input(m, a.dtype, a.sample(i), a.sample_bytes());
    }
    model_->run();
    const std::vector<Array>& outs = model_->output_arrays();
    if (outs_.empty()) return outs;
    for (std::size_t k = 0; k < outs_.size(); ++k) outs_[k] = outs[output_of_[k]];
    return outs_;
  }

 private:
  std::unique_ptr<Model> model_;
  std::vector<std::size_t> file_of_input_;  // per model input: its --input
  std::vector<std::size_t> output_of_;      // per --output: its model output
  std::vector<Array> outs_;                 // per --output, when their order differs from the model's
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
