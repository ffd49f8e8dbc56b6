// tf_runner: runs a TensorFlow SavedModel directory (tag "serve") or a frozen
// GraphDef .pb through the TensorFlow C API, following the shared protocol
// (common/protocol.h). The input/output tensors ("op:index") are named by
// --input-node / --output-node (the artifact's sidecar lists them; the
// evaluation passes them); for several inputs/outputs, repeated as
// --input-node NAME=OP:INDEX / --output-node NAME=OP:INDEX, NAME being the
// name in --input NAME=FILE / --output NAME=FILE. Inputs may have any dtype
// the graph declares (float32, int32, int64, ...: the .npy must match);
// outputs must be float32, int32 or int64 and keep their dtype.
#include <fcntl.h>
#include <tensorflow/c/c_api.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/file.h"
#include "common/owned.h"
#include "common/runner_main.h"

namespace {

using namespace ckpt2cpp;
namespace fs = std::filesystem;

// ---- RAII for C API handles ----
// A session is closed before it is deleted.
void close_session(TF_Session* p) {
  TF_Status* s = TF_NewStatus();
  TF_CloseSession(p, s);
  TF_DeleteSession(p, s);
  TF_DeleteStatus(s);
}
using StatusPtr = Owned<TF_Status*, TF_DeleteStatus>;
using TensorPtr = Owned<TF_Tensor*, TF_DeleteTensor>;

// Fails with `what`, TF's message and `hint`; check() calls it only when `s`
// is not OK, so a successful check builds no string.
[[noreturn]] void fail_status(TF_Status* s, std::string_view what, std::string_view hint) {
  fail(std::string(what) + ": " + first_line(TF_Message(s)), std::string(hint));
}

void check(TF_Status* s, std::string_view what, std::string_view hint) {
  if (TF_GetCode(s) != TF_OK) fail_status(s, what, hint);
}

const char* tf_type_name(TF_DataType t) {
  switch (t) {
    case TF_FLOAT: return "float32";
    case TF_HALF: return "float16";
    case TF_DOUBLE: return "float64";
    case TF_INT8: return "int8";
    case TF_UINT8: return "uint8";
    case TF_INT16: return "int16";
    case TF_INT32: return "int32";
    case TF_INT64: return "int64";
    case TF_BOOL: return "bool";
    default: return "another dtype";
  }
}

TF_DataType tf_type_of(Dtype d) {
  switch (d) {
    case Dtype::Float32: return TF_FLOAT;
    case Dtype::Float16: return TF_HALF;
    case Dtype::Float64: return TF_DOUBLE;
    case Dtype::Int8: return TF_INT8;
    case Dtype::UInt8: return TF_UINT8;
    case Dtype::Int16: return TF_INT16;
    case Dtype::Int32: return TF_INT32;
    case Dtype::Int64: return TF_INT64;
    case Dtype::Bool: return TF_BOOL;
  }
  return TF_FLOAT;
}

// ConfigProto with intra_op_parallelism_threads (field 2) = intra and
// inter_op_parallelism_threads (field 5) = inter, both varints; with bf16,
// also graph_options (field 10) { rewrite_options (field 10) {
// auto_mixed_precision_onednn_bfloat16 (field 31) = ON (1) } }: Grappler
// rewrites float32 ops to bfloat16 where oneDNN has bf16 kernels for the CPU.
std::string config_proto(int intra, int inter, bool bf16) {
  std::string out;
  auto varint = [&out](unsigned v) {
    while (v >= 0x80) { out += static_cast<char>((v & 0x7f) | 0x80); v >>= 7; }
    out += static_cast<char>(v);
  };
  out += static_cast<char>(2 << 3);  // field 2, wire type 0
  varint(static_cast<unsigned>(intra));
  out += static_cast<char>(5 << 3);  // field 5, wire type 0
  varint(static_cast<unsigned>(inter));
  if (bf16) {
    const std::string rewrite = {static_cast<char>(0xf8), 0x01, 0x01};  // field 31 = 1
    for (int depth = 0; depth < 2; ++depth) {  // wrapped in field 10 twice, wire type 2
      out += static_cast<char>(10 << 3 | 2);
      varint(static_cast<unsigned>(rewrite.size() + 2 * (1 - depth)));
    }
    out += rewrite;
  }
  return out;
}

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

// Deletes the output tensors of one TF_SessionRun when it goes out of scope
// (the pointers' array is reused: left all null).
class RunOutputs {
 public:
  explicit RunOutputs(std::vector<TF_Tensor*>& tensors) : tensors_(tensors) {}
  ~RunOutputs() {
    for (auto*& t : tensors_) {
      if (t) TF_DeleteTensor(t);
      t = nullptr;
    }
  }
  RunOutputs(const RunOutputs&) = delete;
  RunOutputs& operator=(const RunOutputs&) = delete;

 private:
  std::vector<TF_Tensor*>& tensors_;
};

class TfSession : public Session {
 public:
  TfSession(const Args& args, const std::vector<InputFile>& inputs) {
    const std::vector<NodeFlag> input_nodes = node_flags(args, "--input-node");
    const std::vector<NodeFlag> output_nodes = node_flags(args, "--output-node");
    std::error_code ec;
    const bool is_dir = fs::is_directory(args.model, ec);
    if (!is_dir && !fs::is_regular_file(args.model, ec))
      fail("model not found: " + args.model, "check --model: it takes a SavedModel directory or a frozen .pb file");

    StatusPtr status(TF_NewStatus());
    Owned<TF_SessionOptions*, TF_DeleteSessionOptions> opts(TF_NewSessionOptions());
    const std::string config = config_proto(args.threads, 1, args.has("--bf16"));
    TF_SetConfig(opts.get(), config.data(), config.size(), status.get());
    check(status.get(), "cannot set the session options", "this is a bug in tf_runner");

    graph_.reset(TF_NewGraph());
    if (is_dir) {
      const char* tags[] = {"serve"};
      session_.reset(TF_LoadSessionFromSavedModel(opts.get(), nullptr, args.model.c_str(), tags, 1, graph_.get(),
                                                  nullptr, status.get()));
      check(status.get(), "cannot load SavedModel " + args.model,
            "export it with tf.saved_model.save(...) and tag 'serve'; for a frozen graph pass the .pb file");
    } else {
      const std::string bytes = read_file(args.model, "frozen GraphDef",
                                          "check --model: it takes a SavedModel directory or a frozen .pb file");
      Owned<TF_Buffer*, TF_DeleteBuffer> buf(TF_NewBufferFromString(bytes.data(), bytes.size()));
      Owned<TF_ImportGraphDefOptions*, TF_DeleteImportGraphDefOptions> import(TF_NewImportGraphDefOptions());
      TF_GraphImportGraphDef(graph_.get(), buf.get(), import.get(), status.get());
      check(status.get(), "cannot import frozen GraphDef " + args.model,
            "expected a GraphDef from convert_variables_to_constants_v2; for a SavedModel pass its directory");
      session_.reset(TF_NewSession(graph_.get(), opts.get(), status.get()));
      check(status.get(), "cannot create a session for " + args.model, "check the graph");
    }

    // Fed and fetched in --input / --output order.
    const auto node_of_input =
        invert(match_names(args.inputs, names_of(input_nodes), true, "the inputs named by --input-node"));
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      const std::string& node = input_nodes[node_of_input[k]].node;
      inputs_.push_back(find_output(node, "--input-node"));
      check_input(inputs[k], inputs_.back(), node);
      const std::vector<std::int64_t> dims = inputs[k].array.batch1_shape();
      input_tensors_.emplace_back(TF_AllocateTensor(tf_type_of(inputs[k].array.dtype), dims.data(),
                                                    static_cast<int>(dims.size()), inputs[k].array.sample_bytes()));
      input_values_.push_back(input_tensors_.back().get());
    }
    const auto node_of_output =
        invert(match_names(args.outputs, names_of(output_nodes), false, "the outputs named by --output-node"));
    outs_.resize(args.outputs.size());
    for (std::size_t k = 0; k < args.outputs.size(); ++k) {
      const std::string& node = output_nodes[node_of_output[k]].node;
      outputs_.push_back(find_output(node, "--output-node"));
      const TF_DataType type = TF_OperationOutputType(outputs_.back());
      if (type != TF_FLOAT && type != TF_INT32 && type != TF_INT64)
        fail("model output '" + node + "' is " + tf_type_name(type) + ", not float32, int32 or int64",
             "tf_runner writes float32, int32 and int64 outputs; cast the output in the model");
      outs_[k].dtype = type == TF_FLOAT ? Dtype::Float32 : type == TF_INT32 ? Dtype::Int32 : Dtype::Int64;
    }
    output_values_.assign(outputs_.size(), nullptr);
  }

  // Timed region: memcpy of each sample into its input TF_Tensor,
  // TF_SessionRun, copy of each output tensor into outs_.
  const std::vector<Array>& infer(const std::vector<InputFile>& inputs, std::size_t i) override {
    for (std::size_t k = 0; k < inputs.size(); ++k)
      std::memcpy(TF_TensorData(input_values_[k]), inputs[k].array.sample(i), inputs[k].array.sample_bytes());
    RunOutputs run(output_values_);
    TF_SessionRun(session_.get(), nullptr, inputs_.data(), input_values_.data(), static_cast<int>(inputs_.size()),
                  outputs_.data(), output_values_.data(), static_cast<int>(outputs_.size()), nullptr, 0, nullptr,
                  run_status_.get());
    if (TF_GetCode(run_status_.get()) != TF_OK) {
      const bool unfed = std::strstr(TF_Message(run_status_.get()), "You must feed a value") != nullptr;
      fail_status(run_status_.get(), "inference failed for " + describe_inputs(inputs),
                  unfed ? "the graph needs more inputs: give each as --input-node NAME=OP:INDEX with --input NAME=FILE"
                        : "check that the input .npy files have the shapes the model expects");
    }
    for (std::size_t k = 0; k < outs_.size(); ++k) {
      TF_Tensor* out = output_values_[k];
      Array& host = outs_[k];
      if (TF_TensorType(out) != tf_type_of(host.dtype))
        fail(std::string("model output is ") + tf_type_name(TF_TensorType(out)) + ", not " + dtype_name(host.dtype) +
                 " as the graph declares",
             "this is a bug in tf_runner");
      host.shape.resize(static_cast<std::size_t>(TF_NumDims(out)));
      for (std::size_t d = 0; d < host.shape.size(); ++d) host.shape[d] = TF_Dim(out, static_cast<int>(d));
      const std::size_t bytes = TF_TensorByteSize(out);
      host.data.resize(bytes);
      std::memcpy(host.data.data(), TF_TensorData(out), bytes);
    }
    return outs_;
  }

 private:
  // "op:index" (index 0 when omitted) -> TF_Output, or a clear error.
  TF_Output find_output(const std::string& node, const std::string& source) {
    std::string op = node;
    int index = 0;
    const auto colon = node.rfind(':');
    if (colon != std::string::npos) {
      op = node.substr(0, colon);
      const std::string idx = node.substr(colon + 1);
      if (idx.empty() || idx.find_first_not_of("0123456789") != std::string::npos || idx.size() > 6)
        fail("bad node name '" + node + "' from " + source, "expected OP_NAME:INDEX, e.g. input:0");
      index = std::stoi(idx);
    }
    TF_Operation* oper = TF_GraphOperationByName(graph_.get(), op.c_str());
    if (!oper)
      fail("node '" + op + "' (from " + source + ") not found in the graph",
           "check the name; `saved_model_cli show --dir DIR --all` lists a SavedModel's input/output nodes");
    if (index >= TF_OperationNumOutputs(oper))
      fail("node '" + op + "' has " + std::to_string(TF_OperationNumOutputs(oper)) + " output(s), index " +
               std::to_string(index) + " requested by " + source,
           "use a valid index, usually :0");
    return TF_Output{oper, index};
  }

  void check_input(const InputFile& in, TF_Output port, const std::string& node) {
    const Array& input = in.array;
    const std::string of = in.name.empty() ? "" : " of input '" + in.name + "'";
    const TF_DataType want = TF_OperationOutputType(port);
    if (tf_type_of(input.dtype) != want)
      fail(std::string("input dtype ") + dtype_name(input.dtype) + of + " does not match model input '" + node +
               "' (" + tf_type_name(want) + ")",
           std::string("save the input as ") + tf_type_name(want) + ": np.save(path, x.astype(...))");
    StatusPtr status(TF_NewStatus());
    const int rank = TF_GraphGetTensorNumDims(graph_.get(), port, status.get());
    if (TF_GetCode(status.get()) != TF_OK || rank < 0) return;  // unknown rank: TF checks at run time
    std::vector<std::int64_t> dims(static_cast<std::size_t>(rank));
    TF_GraphGetTensorShape(graph_.get(), port, dims.data(), rank, status.get());
    if (TF_GetCode(status.get()) != TF_OK) return;
    const std::vector<std::int64_t> sample = input.batch1_shape();
    bool ok = dims.size() == sample.size();
    for (std::size_t d = 0; ok && d < dims.size(); ++d) ok = dims[d] < 0 || dims[d] == sample[d];
    if (!ok)
      fail("input sample shape " + shape_str(sample) + of + " does not match model input '" + node + "' " +
               shape_str(dims) + " (-1 = any size)",
           "the .npy must be [N, ...] with each sample shaped like the model input without its batch axis");
  }

  Owned<TF_Graph*, TF_DeleteGraph> graph_;
  Owned<TF_Session*, close_session> session_;  // declared after graph_: deleted first
  std::vector<TF_Output> inputs_, outputs_;    // per --input / --output
  std::vector<TensorPtr> input_tensors_;       // per --input, reused
  std::vector<TF_Tensor*> input_values_;       // input_tensors_' pointers, for TF_SessionRun
  std::vector<TF_Tensor*> output_values_;      // filled by each TF_SessionRun, deleted after it
  StatusPtr run_status_{TF_NewStatus()};
  std::vector<Array> outs_;  // per --output
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
