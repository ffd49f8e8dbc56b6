// ckpt2cpp::Model on libtorch: a TorchScript module (.pt) or an AOTInductor package (.pt2) on
// CPU through lib/torch_engine.h. Neither format carries tensor names, so they come from the
// model.json the pipeline writes beside the file: its inputs are forward()'s arguments in
// order, its outputs what forward() returns (in order, or by key when it returns a dict).
//   - inputs take their declared dtype (float32, int32, int64) and shape, -1 being any size;
//   - outputs come back as float32 (any floating type converted), int32 and int64 as they are;
//   - Options::threads is libtorch's intra-op thread count (a process-wide setting).
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "lib/backends.h"
#include "lib/sidecar.h"
#include "lib/torch_engine.h"

namespace ckpt2cpp {

namespace {

// An input's dtype: one the engine feeds.
Dtype input_dtype(const SidecarTensor& t, const std::string& source) {
  for (Dtype d : {Dtype::Float32, Dtype::Int32, Dtype::Int64})
    if (t.dtype == dtype_name(d)) return d;
  fail(source + ": input '" + t.name + "' is " + t.dtype + ", which the library does not feed to libtorch",
       "float32, int32 or int64");
}

// An output's dtype as the engine gives it: int32 and int64 as they are, anything else float32.
Dtype output_dtype(const SidecarTensor& t) {
  return t.dtype == "int32" ? Dtype::Int32 : t.dtype == "int64" ? Dtype::Int64 : Dtype::Float32;
}

TensorInfo info_of(const SidecarTensor& t, Dtype dtype) {
  TensorInfo info;
  info.name = t.name;
  info.dtype = dtype;
  info.shape = t.shape;
  return info;
}

class TorchModel : public EngineModel<TorchEngine> {
 public:
  TorchModel(const std::string& file, const Options& options) : EngineModel(file, options.threads) {
    const Sidecar sidecar = read_sidecar(file, "TorchScript and AOTInductor files do not name their tensors");
    const std::string& source = sidecar.path;
    for (const auto& t : sidecar.inputs) inputs_.push_back(info_of(t, input_dtype(t, source)));
    for (const auto& t : sidecar.outputs) outputs_.push_back(info_of(t, output_dtype(t)));
    const TorchSignature& sig = engine_.signature();
    const std::size_t listed = inputs_.size();
    if (engine_.aoti() ? sig.takes != 0 && sig.takes != listed : listed < sig.required || listed > sig.arguments.size())
      fail(source + " lists " + std::to_string(listed) + " inputs, " + file + " takes " +
               std::to_string(engine_.aoti() ? sig.takes : sig.arguments.size()),
           "the sidecar belongs to another model: export it again");
    for (std::size_t m = 0; m < outputs_.size(); ++m) order_.push_back(m);
  }

  void run() override {
    require_inputs_set();
    const TorchOutputs* outs = nullptr;
    try {
      outs = &engine_.run();
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      fail("inference failed: " + TorchEngine::message_of(e), "check the inputs' shapes and dtypes against inputs()");
    }
    if (outs->layout != layout_) match_outputs(*outs);
    for (std::size_t m = 0; m < order_.size(); ++m) {
      const Array& from = outs->arrays[order_[m]];
      Array& to = arrays_[m];
      to.dtype = from.dtype;
      to.shape = from.shape;
      to.data = from.data;  // same size on every run: no allocation
    }
  }

  const std::vector<Array>& output_arrays() const override { return arrays_; }

  bool threads_applied() const override { return true; }

 private:
  // Which returned output is each of outputs(): by key for a dict, else in order.
  void match_outputs(const TorchOutputs& outs) {
    if (outs.keys.empty() && outs.arrays.size() != outputs_.size())
      fail("model returned " + std::to_string(outs.arrays.size()) + " outputs, model.json lists " +
               std::to_string(outputs_.size()),
           "the sidecar belongs to another model: export it again");
    for (std::size_t m = 0; m < outputs_.size() && !outs.keys.empty(); ++m) {
      std::size_t k = 0;
      while (k < outs.keys.size() && outs.keys[k] != outputs_[m].name) ++k;
      if (k == outs.keys.size())
        fail("model returned no output '" + outputs_[m].name + "' (model.json lists it)",
             "the sidecar belongs to another model: export it again");
      order_[m] = k;
    }
    arrays_.resize(outputs_.size());
    layout_ = outs.layout;
  }

  std::size_t layout_ = 0;          // the engine's output layout that order_ was made for
  std::vector<std::size_t> order_;  // per output: its index among what the model returns
  std::vector<Array> arrays_;       // the last run's outputs, outputs() order
};

}  // namespace

const RuntimeFormat& runtime_format() {
  static const RuntimeFormat format{"libtorch", {"model.pt2", "model.pt"}, {".pt", ".pt2"}, "",
                                    "export the model with the pipeline's trace stage"};
  return format;
}

std::unique_ptr<Model> open_model(const std::string& file, const Options& options) {
  return std::make_unique<TorchModel>(file, options);
}

}  // namespace ckpt2cpp
