// The ckpt2cpp C++ API (C++17): load an exported model, feed named inputs, run, read named
// outputs. The same calls serve every runtime the library was built with; the runners that
// the evaluation times are built on it, so what was measured is what ships.
//
//   auto model = ckpt2cpp::Model::load("model");           // a model folder, or the model file
//   model->set_input("input", ckpt2cpp::load_npy("x.npy")); // one sample, shaped like inputs()[i]
//   model->run();
//   const ckpt2cpp::Array& y = model->output("output");     // float32 (int8/uint8 dequantized)
//
// Every failure throws ckpt2cpp::Error with a one-line message that names the fix.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ckpt2cpp/error.h"
#include "ckpt2cpp/tensor.h"

namespace ckpt2cpp {

// One model input or output as the model declares it.
struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::Float32;
  std::vector<std::int64_t> shape;  // one sample, batch axis included ([1, 64, 64, 3]); -1: any size
  // Per-tensor affine quantization of an int8/uint8 tensor: real = (q - zero_point) * scale.
  bool quantized = false;
  float scale = 0;
  std::int64_t zero_point = 0;
};

struct Options {
  int threads = 1;          // the runtime's intra-op threads
  bool raw_output = false;  // keep int8/uint8 outputs as integers instead of dequantized float32
};

// One op's share of an inference, from the runtime's own profiler.
struct OpTime {
  std::string name;  // the op as the runtime names it, with its node index
  std::string kind;  // the op type
  double ms = 0;     // per inference, averaged over the profiled runs
};

class Model {
 public:
  // Loads `path`: a model folder (model.tflite; model.pt2 or model.pt; model.pb or a SavedModel
  // directory `model/` — the last three with the model.json that names their tensors) or the
  // model file itself. Which formats load depends on the runtime this libckpt2cpp.so was built
  // for: runtime() names it.
  static std::unique_ptr<Model> load(const std::string& path, const Options& options = {});
  static std::string runtime();
  virtual ~Model() = default;

  const std::vector<TensorInfo>& inputs() const { return inputs_; }
  const std::vector<TensorInfo>& outputs() const { return outputs_; }
  // The position of a named input/output; an unknown name throws, listing the model's names.
  std::size_t input_index(const std::string& name) const;
  std::size_t output_index(const std::string& name) const;

  // Throws unless one sample of `dtype` and `shape` (batch axis included) can feed input
  // `index`: the input's own dtype, or float32 onto a quantized int8/uint8 input, and the
  // input's shape (any size where it declares -1). `source` names where the sample comes from in
  // the message (" of input 'x'", or "").
  void check_input(std::size_t index, Dtype dtype, const std::vector<std::int64_t>& shape,
                   const std::string& source = "") const;
  // Copies one sample shaped `shape` (batch axis included) into input `index`; float32 onto
  // int8/uint8 is quantized with the input's scale and zero point (round half away from zero,
  // saturating; NaN gives the minimum).
  virtual void set_input(std::size_t index, Dtype dtype, const std::vector<std::int64_t>& shape, const void* data,
                         std::size_t bytes) = 0;
  // The same for an input of fixed shape: the sample is shaped like inputs()[index].
  void set_input(std::size_t index, Dtype dtype, const void* data, std::size_t bytes);
  void set_input(const std::string& name, const Array& sample);
  void set_input(const std::string& name, const std::vector<float>& sample);

  virtual void run() = 0;

  // The outputs of the last run(), in outputs() order: float32 (int8/uint8 dequantized unless
  // Options::raw_output), int32/int64 as they are. Valid until the next run().
  virtual const std::vector<Array>& output_arrays() const = 0;
  const Array& output(std::size_t index) const;
  const Array& output(const std::string& name) const { return output(output_index(name)); }

  // Whether Options::threads reached the runtime.
  virtual bool threads_applied() const = 0;
  // The runtime's profiler: its name ("" when there is none), then start, run as usual, stop.
  virtual std::string profiler() const { return ""; }
  virtual void start_profiling();
  virtual std::vector<OpTime> stop_profiling(int runs);

 protected:
  // inputs()[index]; an index out of range throws, naming the count.
  const TensorInfo& input_at(std::size_t index) const;
  // For runtimes without quantized inputs: throws unless one sample of `dtype` and `shape`,
  // `bytes` long, fits input `index` exactly (allocates nothing when it does).
  void check_sample(std::size_t index, Dtype dtype, const std::vector<std::int64_t>& shape, std::size_t bytes) const;

  std::vector<TensorInfo> inputs_, outputs_;
};

// A .npy file (little-endian, C order) as an Array, and back.
Array load_npy(const std::string& path);
void save_npy(const std::string& path, const Array& array);

}  // namespace ckpt2cpp
