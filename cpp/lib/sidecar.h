// The model.json the pipeline writes beside every artifact, as the library reads it: the names,
// dtypes and shapes of a model's inputs and outputs, for runtimes whose files do not carry them
// (TorchScript, AOTInductor) or carry them as graph nodes (TensorFlow).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/json.h"

namespace ckpt2cpp {

struct SidecarTensor {
  std::string name;
  std::string dtype;                // numpy's name: "float32", "int64", ...
  std::vector<std::int64_t> shape;  // -1: any size
  std::string node;                 // TensorFlow: the graph tensor, "op:index" ("" elsewhere)
};

struct Sidecar {
  std::string path;  // for messages
  std::vector<SidecarTensor> inputs, outputs;
};

// The model.json beside `model` (a file, or a SavedModel directory); `why` ends the message
// when there is none ("TorchScript files do not name their tensors").
Sidecar read_sidecar(const std::string& model, const std::string& why);

}  // namespace ckpt2cpp
