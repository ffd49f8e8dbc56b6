// torch_runner: runs a TorchScript module (.pt) or an AOTInductor package (.pt2) on CPU through
// the library's libtorch engine (lib/torch_engine.h, which the library's Model uses too),
// following the shared protocol (common/protocol.h). Each input .npy (float32, int32 or int64)
// gives one tensor per sample, shaped [1, d1, ...]; the tensors are passed to forward()
// positionally, in --input order. forward() may return a tensor, a tuple or list of tensors
// (matched to --output in order) or a dict of tensors (matched by name); a .pt2 package's
// outputs likewise (by name when its call spec says it returns a flat dict).
#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/runner_main.h"
#include "lib/torch_engine.h"

namespace {

using namespace ckpt2cpp;

// Checks that a model with `returned` outputs matched positionally fits the
// --output flags.
void check_positional_outputs(std::size_t returned, const std::vector<NamedPath>& outputs) {
  if (outputs.size() == 1 && outputs[0].name.empty()) {
    if (returned != 1)
      fail("model returns " + std::to_string(returned) + " outputs",
           "give each as --output NAME=FILE, in the order the model returns them");
  } else if (returned != outputs.size()) {
    const std::size_t given = outputs.size();
    std::string what = "model returns " + std::to_string(returned) + " outputs, " + std::to_string(given) +
                       " --output given";
    if (returned == given + 1) what += ": output " + std::to_string(returned) + " not requested";
    if (returned > given + 1)
      what += ": outputs " + std::to_string(given + 1) + " to " + std::to_string(returned) + " not requested";
    fail(what, "give one --output NAME=FILE per output, in the order the model returns them");
  }
}

class TorchSession : public Session {
 public:
  TorchSession(const Args& args, const std::vector<InputFile>& inputs) : outputs_(args.outputs) {
    const std::string& path = args.model;
    if (!path.ends_with(".pt2") && !path.ends_with(".pt"))
      throw UsageError("model path " + path + " must end with .pt (TorchScript) or .pt2 (AOTInductor package)",
                       "rename the file or pass the right --model");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) fail("model file not found: " + path, "check --model");
    for (const auto& in : inputs) {
      if (!torch_feeds(in.array.dtype))
        fail(std::string("input dtype ") + dtype_name(in.array.dtype) + " of " + io_label({in.name, in.path}, true) +
                 " is not one torch_runner feeds (float32, int32, int64)",
             "save the input with the dtype the model takes: np.save(path, x.astype(np.float32))");
      shapes_.push_back(in.array.batch1_shape());
    }
    engine_ = std::make_unique<TorchEngine>(path, args.threads);
    if (engine_->aoti()) check_aoti(args);
    else check_script(args);
    order_.resize(outputs_.size());
  }

  // Timed region: the engine copies each sample into its input tensor, runs forward() or the
  // package and copies each output (contiguous; float32, int32 or int64) into its arrays;
  // only an --output order that differs from the model's costs one more copy.
  const std::vector<Array>& infer(const std::vector<InputFile>& inputs, std::size_t i) override {
    const TorchOutputs* outs = nullptr;
    try {
      for (std::size_t k = 0; k < inputs.size(); ++k) {
        const Array& a = inputs[k].array;
        engine_->set_input(k, a.dtype, shapes_[k], a.sample(i), a.sample_bytes());
      }
      outs = &engine_->run();
    } catch (const RunError&) {
      throw;
    } catch (const std::exception& e) {
      fail("inference failed for " + describe_inputs(inputs) + ": " + TorchEngine::message_of(e),
           "check that the input .npy files have the layout, size and dtype the model expects");
    }
    if (outs->layout != layout_) match_outputs(*outs);
    if (identity_) return outs->arrays;
    for (std::size_t k = 0; k < order_.size(); ++k) reordered_[k] = outs->arrays[order_[k]];
    return reordered_;
  }

 private:
  // Checks the --input flags against forward()'s arguments.
  void check_script(const Args& args) {
    const TorchSignature& sig = engine_->signature();
    const std::vector<std::string>& names = sig.arguments;
    const std::size_t given = args.inputs.size();
    if (!args.named() && sig.required > 1)
      fail("model has " + std::to_string(names.size()) + " inputs: " + join_names(names),
           "give each as --input NAME=FILE, in forward()'s order");
    if (given < sig.required || given > names.size())
      fail("model forward(" + join_names(names) + ") takes " +
               (sig.required == names.size() ? std::to_string(sig.required)
                                             : std::to_string(sig.required) + " to " + std::to_string(names.size())) +
               " inputs, " + std::to_string(given) + " --input given",
           "inputs are passed to forward() positionally, in --input order");
    // Names that are forward()'s own argument names must be in its order.
    if (args.named() && given == names.size()) {
      std::vector<std::string> given_names;
      for (const auto& in : args.inputs) given_names.push_back(in.name);
      if (given_names != names && std::is_permutation(given_names.begin(), given_names.end(), names.begin()))
        fail("--input order " + join_names(given_names) + " differs from forward(" + join_names(names) + ")",
             "inputs are passed to forward() positionally: give them in forward()'s order");
    }
  }

  // Checks the --input and --output flags against the package's call spec. A count of 0 means
  // the spec is not in the format read here: the counts are then left to the run (outputs) and
  // to AOTInductor's checks (inputs).
  void check_aoti(const Args& args) {
    const TorchSignature& sig = engine_->signature();
    if (!args.named() && sig.takes > 1)
      fail("model has " + std::to_string(sig.takes) + " inputs",
           "give each as --input NAME=FILE, in the order of the exported forward()'s arguments");
    if (sig.takes != 0 && sig.takes != args.inputs.size())
      fail("model takes " + std::to_string(sig.takes) + " inputs, " + std::to_string(args.inputs.size()) +
               " --input given",
           "inputs are passed positionally, in --input order");
    if (sig.output_keys) match_names(args.outputs, *sig.output_keys, false, "the model's outputs (its dict keys)");
    else if (sig.returns != 0) check_positional_outputs(sig.returns, args.outputs);
  }

  // Decides which of the model's outputs each --output receives: by name when the model
  // returns a dict, else in order.
  void match_outputs(const TorchOutputs& outs) {
    if (outs.keys.empty()) {
      check_positional_outputs(outs.arrays.size(), outputs_);
      for (std::size_t k = 0; k < order_.size(); ++k) order_[k] = k;
    } else {
      order_ = invert(match_names(outputs_, outs.keys, false, "the model's outputs (its dict keys)"));
    }
    identity_ = true;
    for (std::size_t k = 0; k < order_.size(); ++k) identity_ = identity_ && order_[k] == k;
    reordered_.resize(order_.size());
    layout_ = outs.layout;
  }

  std::vector<NamedPath> outputs_;  // the --output flags
  std::vector<std::vector<std::int64_t>> shapes_;  // per --input: one sample's shape, [1, d1, ...]
  std::unique_ptr<TorchEngine> engine_;
  std::size_t layout_ = 0;           // the engine's output layout that order_ was made for
  std::vector<std::size_t> order_;   // per --output: its index among the model's outputs
  bool identity_ = true;
  std::vector<Array> reordered_;     // per --output, when the order differs from the model's
};

}  // namespace

int main(int argc, char** argv) {
  const RunnerInfo info{"torch_runner", "torch",
                        "TorchScript module (.pt) or AOTInductor package (.pt2); always run on CPU",
                        {}};
  return run_main(argc, argv, info,
                  [](const Args& args, const std::vector<InputFile>& inputs) -> std::unique_ptr<Session> {
                    return std::make_unique<TorchSession>(args, inputs);
                  });
}
