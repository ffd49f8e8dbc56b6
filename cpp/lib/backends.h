// The runtime behind ckpt2cpp::Model::load. Each libckpt2cpp.so is built for one runtime and
// holds one implementation of these (lib/litert_model.cpp, lib/torch_model.cpp or
// lib/tf_model.cpp), so a bundle ships its runtime's libraries and no other.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ckpt2cpp/model.h"
#include "common/error.h"

namespace ckpt2cpp {

struct RuntimeFormat {
  std::string runtime;                   // "LiteRT"
  std::vector<std::string> model_files;  // what a model folder holds, first found wins: {"model.tflite"}
  std::vector<std::string> extensions;   // {".tflite"}
  std::string directory_marker;          // a file that makes a directory a model (saved_model.pb), or ""
  std::string export_hint;               // how to get such a file
};

const RuntimeFormat& runtime_format();

// Opens `file`: a regular file with one of the runtime's extensions, or a model directory.
std::unique_ptr<Model> open_model(const std::string& file, const Options& options);

// Whether a sample shaped `given` fits a tensor declared as `declared` (-1: any size).
inline bool shape_fits(const std::vector<std::int64_t>& declared, const std::vector<std::int64_t>& given) {
  if (declared.size() != given.size()) return false;
  for (std::size_t d = 0; d < declared.size(); ++d)
    if (declared[d] != given[d] && !(declared[d] < 0 && given[d] >= 0)) return false;
  return true;
}

// A Model over an engine that takes positional samples exactly as the inputs declare them
// (libtorch, TensorFlow): each sample is checked against inputs(), and run() refuses to start
// before every input was set.
template <class Engine>
class EngineModel : public Model {
 public:
  using Model::set_input;
  void set_input(std::size_t index, Dtype dtype, const std::vector<std::int64_t>& shape, const void* data,
                 std::size_t bytes) override {
    check_sample(index, dtype, shape, bytes);
    engine_.set_input(index, dtype, shape, data, bytes);
    if (set_.size() != inputs_.size()) set_.assign(inputs_.size(), false);
    set_[index] = true;
  }

 protected:
  template <class... Args>
  explicit EngineModel(Args&&... args) : engine_(std::forward<Args>(args)...) {}
  // Throws, naming the first input not set since loading, unless all were.
  void require_inputs_set() const {
    for (std::size_t m = 0; m < inputs_.size(); ++m)
      if (m >= set_.size() || !set_[m])
        fail("model input '" + inputs_[m].name + "' was not set", "call set_input for every input before run()");
  }

  Engine engine_;

 private:
  std::vector<bool> set_;  // per input: set since loading
};

}  // namespace ckpt2cpp
