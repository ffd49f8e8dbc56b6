// tf_runner: runs a TensorFlow SavedModel directory (tag "serve") or a frozen
// GraphDef .pb through the TensorFlow C API, following the shared protocol
// (common/protocol.h). The input/output tensors ("op:index") are named by
// --input-node / --output-node (the artifact's sidecar lists them; the
// evaluation passes them).
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
// inter_op_parallelism_threads (field 5) = inter, both varints.
std::string config_proto(int intra, int inter) {
  std::string out;
  auto varint = [&out](unsigned v) {
    while (v >= 0x80) { out += static_cast<char>((v & 0x7f) | 0x80); v >>= 7; }
    out += static_cast<char>(v);
  };
  out += static_cast<char>(2 << 3);  // field 2, wire type 0
  varint(static_cast<unsigned>(intra));
  out += static_cast<char>(5 << 3);  // field 5, wire type 0
  varint(static_cast<unsigned>(inter));
  return out;
}

// The tensor ("op:index") a node flag names; both flags are required.
std::string node_flag(const Args& args, const std::string& flag) {
  std::string node = args.get(flag);
  if (node.empty())
    throw UsageError("missing " + flag + " OP:INDEX",
                     "the model's sidecar lists its nodes; `python -m pipelines.backends.tf.nodes MODEL` prints "
                     "both flags");
  return node;
}

class TfSession : public Session {
 public:
  TfSession(const Args& args, const Array& input) {
    const std::string input_node = node_flag(args, "--input-node");
    const std::string output_node = node_flag(args, "--output-node");
    std::error_code ec;
    const bool is_dir = fs::is_directory(args.model, ec);
    if (!is_dir && !fs::is_regular_file(args.model, ec))
      fail("model not found: " + args.model, "check --model: it takes a SavedModel directory or a frozen .pb file");

    StatusPtr status(TF_NewStatus());
    Owned<TF_SessionOptions*, TF_DeleteSessionOptions> opts(TF_NewSessionOptions());
    const std::string config = config_proto(args.threads, 1);
    TF_SetConfig(opts.get(), config.data(), config.size(), status.get());
    check(status.get(), "cannot set thread counts", "this is a bug in tf_runner");

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

    input_ = find_output(input_node, "--input-node");
    output_ = find_output(output_node, "--output-node");
    check_input(input, input_node);
    const std::vector<std::int64_t> dims = input.batch1_shape();
    input_tensor_.reset(TF_AllocateTensor(tf_type_of(input.dtype), dims.data(), static_cast<int>(dims.size()),
                                          input.sample_bytes()));
  }

  // Timed region: memcpy of the sample into the input TF_Tensor, TF_SessionRun,
  // copy of the output tensor into out_.
  const Array& infer(const Array& input, std::size_t i) override {
    std::memcpy(TF_TensorData(input_tensor_.get()), input.sample(i), input.sample_bytes());
    TF_Tensor* in_values[] = {input_tensor_.get()};
    TF_Tensor* out_raw = nullptr;
    TF_SessionRun(session_.get(), nullptr, &input_, in_values, 1, &output_, &out_raw, 1, nullptr, 0, nullptr,
                  run_status_.get());
    TensorPtr out(out_raw);
    if (TF_GetCode(run_status_.get()) != TF_OK)
      fail_status(run_status_.get(), "inference failed for input shape " + shape_str(input.batch1_shape()),
                  "check that the input .npy has the shape the model expects");
    if (TF_TensorType(out.get()) != TF_FLOAT)
      fail(std::string("model output is ") + tf_type_name(TF_TensorType(out.get())) + ", not float32",
           "tf_runner writes float32 outputs only; cast the output in the model");
    out_.dtype = Dtype::Float32;
    out_.shape.resize(static_cast<std::size_t>(TF_NumDims(out.get())));
    for (std::size_t d = 0; d < out_.shape.size(); ++d) out_.shape[d] = TF_Dim(out.get(), static_cast<int>(d));
    const std::size_t bytes = TF_TensorByteSize(out.get());
    out_.data.resize(bytes);
    std::memcpy(out_.data.data(), TF_TensorData(out.get()), bytes);
    return out_;
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

  void check_input(const Array& input, const std::string& node) {
    const TF_DataType want = TF_OperationOutputType(input_);
    if (tf_type_of(input.dtype) != want)
      fail(std::string("input dtype ") + dtype_name(input.dtype) + " does not match model input '" + node +
               "' (" + tf_type_name(want) + ")",
           std::string("save the input as ") + tf_type_name(want) + ": np.save(path, x.astype(...))");
    StatusPtr status(TF_NewStatus());
    const int rank = TF_GraphGetTensorNumDims(graph_.get(), input_, status.get());
    if (TF_GetCode(status.get()) != TF_OK || rank < 0) return;  // unknown rank: TF checks at run time
    std::vector<std::int64_t> dims(static_cast<std::size_t>(rank));
    TF_GraphGetTensorShape(graph_.get(), input_, dims.data(), rank, status.get());
    if (TF_GetCode(status.get()) != TF_OK) return;
    const std::vector<std::int64_t> sample = input.batch1_shape();
    bool ok = dims.size() == sample.size();
    for (std::size_t d = 0; ok && d < dims.size(); ++d) ok = dims[d] < 0 || dims[d] == sample[d];
    if (!ok)
      fail("input sample shape " + shape_str(sample) + " does not match model input '" + node + "' " +
               shape_str(dims) + " (-1 = any size)",
           "the .npy must be [N, ...] with each sample shaped like the model input without its batch axis");
  }

  Owned<TF_Graph*, TF_DeleteGraph> graph_;
  Owned<TF_Session*, close_session> session_;  // declared after graph_: deleted first
  TF_Output input_{}, output_{};
  TensorPtr input_tensor_;
  StatusPtr run_status_{TF_NewStatus()};
  Array out_;
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
      {{"--input-node", "OP:INDEX", "input tensor, e.g. input:0 (required; the sidecar's inputs[0].node)"},
       {"--output-node", "OP:INDEX", "output tensor, e.g. output:0 (required; the sidecar's outputs[0].node)"}}};
  return run_main(argc, argv, info, [](const Args& args, const Array& input) -> std::unique_ptr<Session> {
    return std::make_unique<TfSession>(args, input);
  });
}
