// The runtimes behind ckpt2cpp::Model::load, one factory each (lib/<runtime>_model.cpp).
#pragma once

#include <memory>
#include <string>

#include "ckpt2cpp/model.h"

namespace ckpt2cpp {

// A .tflite file on LiteRT's CompiledModel API (CPU, signature 0).
std::unique_ptr<Model> load_litert(const std::string& file, const Options& options);

}  // namespace ckpt2cpp
