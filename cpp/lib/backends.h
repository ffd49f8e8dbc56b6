// The runtime behind ckpt2cpp::Model::load. Each libckpt2cpp.so is built for one runtime and
// holds one implementation of these (lib/litert_model.cpp, lib/torch_model.cpp or
// lib/tf_model.cpp), so a bundle ships its runtime's libraries and no other.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ckpt2cpp/model.h"

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

// Throws, naming the first input that was not set since loading, unless all were.
void require_all_set(const std::vector<bool>& set, const std::vector<TensorInfo>& inputs);

}  // namespace ckpt2cpp
