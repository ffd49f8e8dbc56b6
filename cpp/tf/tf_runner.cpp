// tf_runner: runs a TensorFlow SavedModel directory (tag "serve") or a frozen GraphDef .pb
// through the library's TensorFlow engine (lib/tf_engine.h, which the library's Model uses too),
// following the shared protocol (common/protocol.h). The input/output tensors ("op:index") are
// named by --input-node / --output-node (the artifact's sidecar lists them; the evaluation passes
// them); for several inputs/outputs, repeated as --input-node NAME=OP:INDEX / --output-node
// NAME=OP:INDEX, NAME being the name in --input NAME=FILE / --output NAME=FILE. Inputs may have
// any dtype the graph declares (float32, int32, int64, ...: the .npy must match); outputs must be
// float32, int32 or int64 and keep their dtype.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/runner_main.h"
#include "lib/backends.h"
#include "lib/tf_engine.h"

namespace {

using namespace ckpt2cpp;

// One --input-node / --output-node value: NAME=OP:INDEX, or OP:INDEX alone
// (name empty: the one-input/one-output form).
struct NodeFlag {
  std::string name;
  std::string node;
};

// The tensors ("op:index") a node flag names; both flags are required, in
// the same form as --input/--output.
std::vector<NodeFlag> node_flags(const Args& args, const std::string& flag) {
  const std::vector<std::string> values = args.get_all(flag);
  if (values.empty())
    throw UsageError("missing " + flag + " OP:INDEX",
                     "the model's sidecar lists its nodes; `python -m pipelines.backends.tf.nodes MODEL` prints "
                     "both flags");
  const std::string hint =
      "name every tensor: --input-node NAME=OP:INDEX with --input NAME=FILE and --output-node NAME=OP:INDEX with "
      "--output NAME=FILE, or give one of each without NAME=";
  std::vector<NodeFlag> flags;
  for (const auto& v : values) {
    const auto eq = v.find('=');
    NodeFlag f = eq == std::string::npos ? NodeFlag{"", v} : NodeFlag{v.substr(0, eq), v.substr(eq + 1)};
    if (eq != std::string::npos && (f.name.empty() || f.node.empty()))
      throw UsageError(flag + " '" + v + "' needs NAME=OP:INDEX", hint);
    const bool named = !f.name.empty();
    if (named != args.named())
      throw UsageError(flag + (named ? " uses NAME=OP:INDEX but --input/--output give no NAME="
                                     : " has no NAME= but --input/--output use NAME=FILE"),
                       hint);
    if (!named && values.size() > 1)
      throw UsageError(flag + " given " + std::to_string(values.size()) + " times without NAME=", hint);
    for (const auto& g : flags)
      if (g.name == f.name) throw UsageError(flag + " " + f.name + "=... given twice", "give each name once");
    flags.push_back(f);
  }
  return flags;
}

std::vector<std::string> names_of(const std::vector<NodeFlag>& flags) {
  std::vector<std::string> names;
  for (const auto& f : flags) names.push_back(f.name);
  return names;
}

class TfSession : public Session {
 public:
  TfSession(const Args& args, const std::vector<InputFile>& inputs)
      : input_nodes_(node_flags(args, "--input-node")), output_nodes_(node_flags(args, "--output-node")) {
    engine_ = std::make_unique<TfEngine>(args.model, args.threads, args.has("--bf16"));
    // Fed and fetched in --input / --output order.
    const auto node_of_input =
        invert(match_names(args.inputs, names_of(input_nodes_), true, "the inputs named by --input-node"));
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      const std::string& node = input_nodes_[node_of_input[k]].node;
      check_input(inputs[k], engine_->add_input(node, "--input-node"), node);
      shapes_.push_back(inputs[k].array.batch1_shape());
    }
    const auto node_of_output =
        invert(match_names(args.outputs, names_of(output_nodes_), false, "the outputs named by --output-node"));
    for (std::size_t k = 0; k < args.outputs.size(); ++k)
      engine_->add_output(output_nodes_[node_of_output[k]].node, "--output-node");
  }

  // Timed region: the engine copies each sample into its input tensor, runs the session and
  // copies each output tensor into its arrays.
  const std::vector<Array>& infer(const std::vector<InputFile>& inputs, std::size_t i) override {
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      const Array& a = inputs[k].array;
      engine_->set_input(k, a.dtype, shapes_[k], a.sample(i), a.sample_bytes());
    }
    return engine_->run([&inputs] { return "inference failed for " + describe_inputs(inputs); },
                        "check that the input .npy files have the shapes the model expects",
                        "the graph needs more inputs: give each as --input-node NAME=OP:INDEX with --input NAME=FILE");
  }

 private:
  static void check_input(const InputFile& in, const TfTensorInfo& want, const std::string& node) {
    const Array& input = in.array;
    const std::string of = in.name.empty() ? "" : " of input '" + in.name + "'";
    if (!want.known_dtype || want.dtype != input.dtype)
      fail(std::string("input dtype ") + dtype_name(input.dtype) + of + " does not match model input '" + node +
               "' (" + want.dtype_text + ")",
           "save the input as " + want.dtype_text + ": np.save(path, x.astype(...))");
    if (!want.ranked) return;  // unknown rank: TF checks at run time
    const std::vector<std::int64_t> sample = input.batch1_shape();
    if (!shape_fits(want.shape, sample))
      fail("input sample shape " + shape_str(sample) + of + " does not match model input '" + node + "' " +
               shape_str(want.shape) + " (-1 = any size)",
           "the .npy must be [N, ...] with each sample shaped like the model input without its batch axis");
  }

  std::vector<NodeFlag> input_nodes_, output_nodes_;
  std::unique_ptr<TfEngine> engine_;
  std::vector<std::vector<std::int64_t>> shapes_;  // per --input: one sample's shape, [1, d1, ...]
};

// TensorFlow's static initializers print two lines to stderr before main()
// whatever TF_CPP_MIN_LOG_LEVEL says (measured with TF 2.21: absl's "WARNING:
// All log messages before absl::InitializeLog() ..." and the oneDNN notice).
// This .preinit_array hook, which runs before any library initializer, mutes
// stderr until main() unless TF_CPP_MIN_LOG_LEVEL=0, so that a failing run
// prints only its "error: ..." line. TF's later log lines (SavedModel loading)
// follow TF_CPP_MIN_LOG_LEVEL: set it to 2 to hide them (the evaluation does).
constexpr char kLevelVar[] = "TF_CPP_MIN_LOG_LEVEL=";
int g_saved_stderr = -1;

void mute_stderr_until_main(int, char**, char** envp) {
  for (std::size_t n = 0; envp && envp[n]; ++n)
    if (std::strncmp(envp[n], kLevelVar, sizeof kLevelVar - 1) == 0 &&
        std::strcmp(envp[n] + sizeof kLevelVar - 1, "0") == 0)
      return;
  const int devnull = open("/dev/null", O_WRONLY);
  if (devnull < 0) return;
  g_saved_stderr = dup(STDERR_FILENO);
  dup2(devnull, STDERR_FILENO);
  close(devnull);
}

__attribute__((section(".preinit_array"), used)) void (*const preinit_hook)(int, char**, char**) =
    &mute_stderr_until_main;

void restore_stderr() {
  if (g_saved_stderr < 0) return;
  dup2(g_saved_stderr, STDERR_FILENO);
  close(g_saved_stderr);
}

}  // namespace

int main(int argc, char** argv) {
  restore_stderr();
  const RunnerInfo info{
      "tf_runner", "tensorflow", "SavedModel directory (tag 'serve') or frozen GraphDef .pb file",
      {{"--input-node", "[NAME=]OP:INDEX",
        "input tensor, e.g. input:0 (required; the sidecar's inputs[0].node); NAME=OP:INDEX once per --input NAME"},
       {"--output-node", "[NAME=]OP:INDEX",
        "output tensor, e.g. output:0 (required; the sidecar's outputs[0].node); NAME=OP:INDEX once per --output "
        "NAME"},
       {"--bf16", "",
        "compute in bfloat16 where oneDNN can: Grappler's auto_mixed_precision_onednn_bfloat16 (needs AVX-512 BF16 "
        "or AMX)"}}};
  return run_main(argc, argv, info,
                  [](const Args& args, const std::vector<InputFile>& inputs) -> std::unique_ptr<Session> {
                    return std::make_unique<TfSession>(args, inputs);
                  });
}
