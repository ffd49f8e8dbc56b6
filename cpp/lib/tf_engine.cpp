// lib/tf_engine.h: TensorFlow C API loading, feeding and fetching, shared by the library's Model
// and tf_runner.
#include "lib/tf_engine.h"

#include <cstring>
#include <filesystem>
#include <string_view>

#include "common/error.h"
#include "common/file.h"

namespace ckpt2cpp {

namespace {

using StatusPtr = Owned<TF_Status*, TF_DeleteStatus>;

// Fails with `what`, TF's message and `hint`; check() calls it only when `s` is not OK, so a
// successful check builds no string.
[[noreturn]] void fail_status(TF_Status* s, std::string_view what, std::string_view hint) {
  fail(std::string(what) + ": " + first_line(TF_Message(s)), std::string(hint));
}

void check(TF_Status* s, std::string_view what, std::string_view hint) {
  if (TF_GetCode(s) != TF_OK) fail_status(s, what, hint);
}

struct TypePair {
  TF_DataType tf;
  Dtype dtype;
};
constexpr TypePair kTypes[] = {
    {TF_FLOAT, Dtype::Float32}, {TF_HALF, Dtype::Float16}, {TF_DOUBLE, Dtype::Float64},
    {TF_INT8, Dtype::Int8},     {TF_UINT8, Dtype::UInt8},  {TF_INT16, Dtype::Int16},
    {TF_INT32, Dtype::Int32},   {TF_INT64, Dtype::Int64},  {TF_BOOL, Dtype::Bool},
};

TF_DataType tf_type_of(Dtype d) {
  for (const auto& p : kTypes)
    if (p.dtype == d) return p.tf;
  return TF_FLOAT;
}

// ConfigProto with intra_op_parallelism_threads (field 2) = intra and inter_op_parallelism_threads
// (field 5) = inter, both varints; with bf16, also graph_options (field 10) { rewrite_options
// (field 10) { auto_mixed_precision_onednn_bfloat16 (field 31) = ON (1) } }: Grappler rewrites
// float32 ops to bfloat16 where oneDNN has bf16 kernels for the CPU.
std::string config_proto(int intra, int inter, bool bf16) {
  std::string out;
  auto varint = [&out](unsigned v) {
    while (v >= 0x80) {
      out += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
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

// Deletes the output tensors of one TF_SessionRun when it goes out of scope (the pointers' array
// is reused: left all null).
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

}  // namespace

TfEngine::TfEngine(const std::string& path, int threads, bool bf16) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool is_dir = fs::is_directory(path, ec);
  if (!is_dir && !fs::is_regular_file(path, ec))
    fail("model not found: " + path, "give a SavedModel directory or a frozen .pb file");
  StatusPtr status(TF_NewStatus());
  Owned<TF_SessionOptions*, TF_DeleteSessionOptions> opts(TF_NewSessionOptions());
  const std::string config = config_proto(threads, 1, bf16);
  TF_SetConfig(opts.get(), config.data(), config.size(), status.get());
  check(status.get(), "cannot set the session options", "this is a bug in ckpt2cpp");

  graph_.reset(TF_NewGraph());
  if (is_dir) {
    const char* tags[] = {"serve"};
    session_.reset(TF_LoadSessionFromSavedModel(opts.get(), nullptr, path.c_str(), tags, 1, graph_.get(), nullptr,
                                                status.get()));
    check(status.get(), "cannot load SavedModel " + path,
          "export it with tf.saved_model.save(...) and tag 'serve'; for a frozen graph pass the .pb file");
    return;
  }
  const std::string bytes = read_file(path, "frozen GraphDef", "give a SavedModel directory or a frozen .pb file");
  Owned<TF_Buffer*, TF_DeleteBuffer> buf(TF_NewBufferFromString(bytes.data(), bytes.size()));
  Owned<TF_ImportGraphDefOptions*, TF_DeleteImportGraphDefOptions> import(TF_NewImportGraphDefOptions());
  TF_GraphImportGraphDef(graph_.get(), buf.get(), import.get(), status.get());
  check(status.get(), "cannot import frozen GraphDef " + path,
        "expected a GraphDef from convert_variables_to_constants_v2; for a SavedModel pass its directory");
  session_.reset(TF_NewSession(graph_.get(), opts.get(), status.get()));
  check(status.get(), "cannot create a session for " + path, "check the graph");
}

TF_Output TfEngine::find(const std::string& node, const std::string& source) const {
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

TfTensorInfo TfEngine::describe(TF_Output port) const {
  TfTensorInfo info;
  const TF_DataType type = TF_OperationOutputType(port);
  info.dtype_text = "another dtype";
  for (const auto& p : kTypes)
    if (p.tf == type) {
      info.dtype = p.dtype;
      info.known_dtype = true;
      info.dtype_text = dtype_name(p.dtype);
    }
  StatusPtr status(TF_NewStatus());
  const int rank = TF_GraphGetTensorNumDims(graph_.get(), port, status.get());
  if (TF_GetCode(status.get()) != TF_OK || rank < 0) return info;  // unknown rank: TF checks at run time
  info.shape.resize(static_cast<std::size_t>(rank));
  TF_GraphGetTensorShape(graph_.get(), port, info.shape.data(), rank, status.get());
  info.ranked = TF_GetCode(status.get()) == TF_OK;
  return info;
}

TfTensorInfo TfEngine::add_input(const std::string& node, const std::string& source) {
  inputs_.push_back(find(node, source));
  input_tensors_.emplace_back(nullptr);
  input_values_.push_back(nullptr);
  return describe(inputs_.back());
}

TfTensorInfo TfEngine::add_output(const std::string& node, const std::string& source) {
  outputs_.push_back(find(node, source));
  output_values_.push_back(nullptr);
  outs_.emplace_back();
  const TfTensorInfo info = describe(outputs_.back());
  const bool kept = info.known_dtype &&
                    (info.dtype == Dtype::Float32 || info.dtype == Dtype::Int32 || info.dtype == Dtype::Int64);
  if (!kept)
    fail("model output '" + node + "' is " + info.dtype_text + ", not float32, int32 or int64",
         "ckpt2cpp gives float32, int32 and int64 outputs; cast the output in the model");
  outs_.back().dtype = info.dtype;
  return info;
}

void TfEngine::set_input(std::size_t k, Dtype dtype, const std::vector<std::int64_t>& shape, const void* data,
                         std::size_t bytes) {
  auto& owned = input_tensors_.at(k);
  TF_Tensor* t = owned.get();
  bool fits = t && TF_TensorType(t) == tf_type_of(dtype) && TF_NumDims(t) == static_cast<int>(shape.size());
  for (std::size_t d = 0; fits && d < shape.size(); ++d) fits = TF_Dim(t, static_cast<int>(d)) == shape[d];
  if (!fits) {
    owned.reset(TF_AllocateTensor(tf_type_of(dtype), shape.data(), static_cast<int>(shape.size()), bytes));
    input_values_[k] = owned.get();
  }
  if (TF_TensorByteSize(owned.get()) != bytes)
    fail("input " + std::to_string(k) + " shaped " + shape_str(shape) + " takes " +
             std::to_string(TF_TensorByteSize(owned.get())) + " bytes, got " + std::to_string(bytes),
         "pass one sample of the shape and dtype given");
  std::memcpy(TF_TensorData(owned.get()), data, bytes);
}

const std::vector<Array>& TfEngine::run(const std::function<std::string()>& failed, const char* hint,
                                        const char* unfed_hint) {
  RunOutputs run(output_values_);
  TF_SessionRun(session_.get(), nullptr, inputs_.data(), input_values_.data(), static_cast<int>(inputs_.size()),
                outputs_.data(), output_values_.data(), static_cast<int>(outputs_.size()), nullptr, 0, nullptr,
                run_status_.get());
  if (TF_GetCode(run_status_.get()) != TF_OK) {
    const bool unfed = std::strstr(TF_Message(run_status_.get()), "You must feed a value") != nullptr;
    fail_status(run_status_.get(), failed(), unfed ? unfed_hint : hint);
  }
  for (std::size_t k = 0; k < outs_.size(); ++k) {
    TF_Tensor* out = output_values_[k];
    Array& host = outs_[k];
    if (TF_TensorType(out) != tf_type_of(host.dtype))
      fail(std::string("model output ") + std::to_string(k) + " is not " + dtype_name(host.dtype) +
               " as the graph declares",
           "this is a bug in ckpt2cpp");
    host.shape.resize(static_cast<std::size_t>(TF_NumDims(out)));
    for (std::size_t d = 0; d < host.shape.size(); ++d) host.shape[d] = TF_Dim(out, static_cast<int>(d));
    const std::size_t bytes = TF_TensorByteSize(out);
    host.data.resize(bytes);
    std::memcpy(host.data.data(), TF_TensorData(out), bytes);
  }
  return outs_;
}

}  // namespace ckpt2cpp
