// The TensorFlow side of the library: loads a SavedModel directory (tag "serve") or a frozen
// GraphDef .pb through the TensorFlow C API, feeds and fetches graph tensors ("op:index") and
// copies what comes out. Names are not its business: the library's Model (lib/tf_model.cpp)
// takes them from model.json, tf_runner from its command line; both time this same code.
#pragma once

#include <tensorflow/c/c_api.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ckpt2cpp/tensor.h"
#include "common/owned.h"

namespace ckpt2cpp {

// What a graph tensor declares: its dtype (`known_dtype` false for one ckpt2cpp has no Dtype
// for) and its shape (-1: any size; `ranked` false when even the rank is unknown).
struct TfTensorInfo {
  Dtype dtype = Dtype::Float32;
  bool known_dtype = false;
  std::string dtype_text;  // "float32", ... or "another dtype"
  bool ranked = false;
  std::vector<std::int64_t> shape;
};

namespace tf_detail {
inline void close_session(TF_Session* p) {
  TF_Status* s = TF_NewStatus();
  TF_CloseSession(p, s);
  TF_DeleteSession(p, s);
  TF_DeleteStatus(s);
}
}  // namespace tf_detail

class TfEngine {
 public:
  // Loads `path`: a SavedModel directory or a frozen GraphDef file. `threads` is the session's
  // intra-op thread count; `bf16` turns on Grappler's oneDNN bfloat16 auto-mixed-precision.
  TfEngine(const std::string& path, int threads, bool bf16);

  // Adds the graph tensor "op:index" (index 0 when omitted) to feed or to fetch, in order;
  // `source` names where the name comes from in messages. Returns what the graph declares.
  TfTensorInfo add_input(const std::string& node, const std::string& source);
  TfTensorInfo add_output(const std::string& node, const std::string& source);

  // Copies one sample into fed tensor `k`, shaped `shape` (reallocated only when the shape or
  // dtype changes).
  void set_input(std::size_t k, Dtype dtype, const std::vector<std::int64_t>& shape, const void* data,
                 std::size_t bytes);
  // Runs the session; the fetched tensors in add_output() order. A failed run fails with what
  // `failed()` says, TF's message and `hint` (`unfed_hint` when the graph needs more inputs);
  // nothing is built unless it fails.
  const std::vector<Array>& run(const std::function<std::string()>& failed, const char* hint, const char* unfed_hint);

 private:
  TF_Output find(const std::string& node, const std::string& source) const;
  TfTensorInfo describe(TF_Output port) const;

  Owned<TF_Graph*, TF_DeleteGraph> graph_;
  Owned<TF_Session*, tf_detail::close_session> session_;  // declared after graph_: deleted first
  std::vector<TF_Output> inputs_, outputs_;
  std::vector<Owned<TF_Tensor*, TF_DeleteTensor>> input_tensors_;
  std::vector<TF_Tensor*> input_values_;   // input_tensors_' pointers, for TF_SessionRun
  std::vector<TF_Tensor*> output_values_;  // filled by each TF_SessionRun, deleted after it
  Owned<TF_Status*, TF_DeleteStatus> run_status_{TF_NewStatus()};
  std::vector<Array> outs_;
};

}  // namespace ckpt2cpp
