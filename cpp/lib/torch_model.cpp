// ckpt2cpp::Model on libtorch: a TorchScript module (.pt) or an AOTInductor package (.pt2) on
// CPU through lib/torch_engine.h. Neither format carries tensor names, so they come from the
// model.json the pipeline writes beside the file: its inputs are forward()'s arguments in
// order, its outputs what forward() returns (in order, or by key when it returns a dict).
//   - inputs take their declared dtype (float32, int32, int64) and shape, -1 being any size;
//   - outputs come back as float32 (any floating type converted), int32 and int64 as they are;
//   - Options::threads is libtorch's intra-op thread count (a process-wide setting).
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "lib/backends.h"
#include "lib/json.h"
#include "lib/torch_engine.h"

namespace ckpt2cpp {

namespace {

// An input's dtype: one the engine feeds.
Dtype input_dtype(const std::string& name, const std::string& source) {
  for (Dtype d : {Dtype::Float32, Dtype::Int32, Dtype::Int64})
    if (name == dtype_name(d)) return d;
  fail(source + ": input dtype '" + name + "' is not one the library feeds to libtorch", "float32, int32 or int64");
}

// An output's dtype as the engine gives it: int32 and int64 as they are, anything else float32.
Dtype output_dtype(const std::string& name) {
  return name == "int32" ? Dtype::Int32 : name == "int64" ? Dtype::Int64 : Dtype::Float32;
}

// The "inputs" or "outputs" list of model.json: [{"name": ..., "dtype": ..., "shape": [...]}].
std::vector<TensorInfo> tensors_in(const Json& sidecar, const std::string& key, const std::string& source) {
  const Json* list = sidecar.find(key);
  if (!list || list->kind != Json::Kind::Array || list->items.empty())
    fail(source + " has no '" + key + "' list", "export the model again with the pipeline's trace stage");
  std::vector<TensorInfo> found;
  for (const Json& entry : list->items) {
    const Json* name = entry.find("name");
    const Json* dtype = entry.find("dtype");
    const Json* shape = entry.find("shape");
    if (!name || name->kind != Json::Kind::String || !dtype || dtype->kind != Json::Kind::String || !shape ||
        shape->kind != Json::Kind::Array)
      fail(source + ": each of '" + key + "' needs a name, a dtype and a shape",
           "export the model again with the pipeline's trace stage");
    TensorInfo info;
    info.name = name->string;
    info.dtype = key == "inputs" ? input_dtype(dtype->string, source) : output_dtype(dtype->string);
    for (const Json& d : shape->items) {
      if (d.kind != Json::Kind::Number || d.number < -1 || d.number > 1e9 || d.number != static_cast<double>(static_cast<std::int64_t>(d.number)))
        fail(source + ": the shape of '" + info.name + "' holds something other than sizes or -1",
             "export the model again with the pipeline's trace stage");
      info.shape.push_back(static_cast<std::int64_t>(d.number));
    }
    found.push_back(std::move(info));
  }
  return found;
}

class TorchModel : public Model {
 public:
  TorchModel(const std::string& file, const Options& options) : engine_(file, options.threads) {
    const std::string source = (std::filesystem::path(file).parent_path() / "model.json").string();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(source, ec))
      fail("model.json not found beside " + file + ": TorchScript and AOTInductor files do not name their tensors",
           "load the model folder the pipeline wrote, model.json included");
    const Json sidecar = read_json_file(source);
    inputs_ = tensors_in(sidecar, "inputs", source);
    outputs_ = tensors_in(sidecar, "outputs", source);
    const TorchSignature& sig = engine_.signature();
    const std::size_t listed = inputs_.size();
    if (engine_.aoti() ? sig.takes != 0 && sig.takes != listed : listed < sig.required || listed > sig.arguments.size())
      fail(source + " lists " + std::to_string(listed) + " inputs, " + file + " takes " +
               std::to_string(engine_.aoti() ? sig.takes : sig.arguments.size()),
           "the sidecar belongs to another model: export it again");
    for (std::size_t m = 0; m < outputs_.size(); ++m) order_.push_back(m);
    fed_.assign(inputs_.size(), false);
  }

  using Model::set_input;
  // One check that allocates nothing when it passes, then the engine's copy.
  void set_input(std::size_t index, Dtype dtype, const std::vector<std::int64_t>& shape, const void* data,
                 std::size_t bytes) override {
    const TensorInfo& t = inputs_.at(index);
    if (dtype != t.dtype || !shape_fits(t.shape, shape)) check_input(index, dtype, shape);
    const std::size_t expected = static_cast<std::size_t>(element_count(shape)) * dtype_size(dtype);
    if (bytes != expected)
      fail("input '" + t.name + "' shaped " + shape_str(shape) + " takes " + std::to_string(expected) + " bytes of " +
               dtype_name(dtype) + ", got " + std::to_string(bytes),
           "pass one sample of the shape given");
    engine_.set_input(index, dtype, shape, data, bytes);
    fed_[index] = true;
  }

  void run() override {
    for (std::size_t m = 0; m < fed_.size(); ++m)
      if (!fed_[m]) fail("model input '" + inputs_[m].name + "' was not set", "call set_input for every input before run()");
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

  TorchEngine engine_;
  std::vector<bool> fed_;           // per input: set since loading
  std::size_t layout_ = 0;          // the engine's output layout that order_ was made for
  std::vector<std::size_t> order_;  // per output: its index among what the model returns
  std::vector<Array> arrays_;       // the last run's outputs, outputs() order
};

}  // namespace

const RuntimeFormat& runtime_format() {
  static const RuntimeFormat format{"libtorch", {"model.pt2", "model.pt"}, {".pt", ".pt2"},
                                    "export the model with the pipeline's trace stage"};
  return format;
}

std::unique_ptr<Model> open_model(const std::string& file, const Options& options) {
  return std::make_unique<TorchModel>(file, options);
}

}  // namespace ckpt2cpp
