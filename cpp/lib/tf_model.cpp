// ckpt2cpp::Model on TensorFlow: a frozen GraphDef (.pb) or a SavedModel directory through the
// TensorFlow C API (lib/tf_engine.h). The graph tensors to feed and fetch, and the names users
// call them by, come from the model.json the pipeline writes beside the model ("node" of each
// input and output).
//   - inputs take the dtype the graph declares and the shape model.json records, -1 being any
//     size (TensorFlow checks the rest);
//   - outputs must be float32, int32 or int64 and keep their dtype;
//   - Options::threads is the session's intra-op thread count.
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "lib/backends.h"
#include "lib/sidecar.h"
#include "lib/tf_engine.h"

namespace ckpt2cpp {

namespace {

class TfModel : public EngineModel<TfEngine> {
 public:
  TfModel(const std::string& path, const Options& options) : EngineModel(path, options.threads, false) {
    const Sidecar sidecar = read_sidecar(path, "it names the graph tensors to feed and fetch");
    for (const auto& t : sidecar.inputs) inputs_.push_back(describe(t, engine_.add_input(node(t, sidecar), sidecar.path)));
    for (const auto& t : sidecar.outputs)
      outputs_.push_back(describe(t, engine_.add_output(node(t, sidecar), sidecar.path)));
  }

  void run() override {
    require_inputs_set();
    outs_ = &engine_.run([] { return std::string("inference failed"); }, "check the inputs' shapes against inputs()",
                         "the graph needs an input model.json does not list: export the model again");
  }

  const std::vector<Array>& output_arrays() const override {
    static const std::vector<Array> none;
    return outs_ ? *outs_ : none;
  }

  bool threads_applied() const override { return true; }

 private:
  static const std::string& node(const SidecarTensor& t, const Sidecar& sidecar) {
    if (t.node.empty())
      fail(sidecar.path + ": '" + t.name + "' has no graph node", "export the model again with the pipeline");
    return t.node;
  }

  // The tensor as users see it: model.json's name and shape, the graph's dtype.
  static TensorInfo describe(const SidecarTensor& t, const TfTensorInfo& graph) {
    if (!graph.known_dtype)
      fail("model tensor '" + t.name + "' is " + graph.dtype_text + ", which ckpt2cpp has no dtype for",
           "cast it to float32, int32 or int64 in the model");
    TensorInfo info;
    info.name = t.name;
    info.dtype = graph.dtype;
    info.shape = t.shape;
    return info;
  }

  const std::vector<Array>* outs_ = nullptr;
};

}  // namespace

const RuntimeFormat& runtime_format() {
  static const RuntimeFormat format{"TensorFlow", {"model.pb", "model"}, {".pb"}, "saved_model.pb",
                                    "export the model with the pipeline's freeze or savedmodel stage"};
  return format;
}

std::unique_ptr<Model> open_model(const std::string& path, const Options& options) {
  return std::make_unique<TfModel>(path, options);
}

}  // namespace ckpt2cpp
