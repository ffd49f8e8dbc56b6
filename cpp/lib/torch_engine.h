// The libtorch side of the library: loads a TorchScript module (.pt) or an AOTInductor package
// (.pt2) on CPU, feeds it positional input tensors and collects what it returns. Names are
// not its business: the library's Model (lib/torch_model.cpp) matches them from model.json,
// torch_runner from its command line; both time this same code.
#pragma once

#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/script.h>

#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <streambuf>
#include <string>
#include <unordered_map>
#include <vector>

#include "ckpt2cpp/tensor.h"

namespace ckpt2cpp {

// What a loaded program declares about its inputs and outputs.
struct TorchSignature {
  std::vector<std::string> arguments;  // TorchScript: forward()'s argument names, self excluded
  std::size_t required = 0;            // TorchScript: the arguments without a default
  std::size_t takes = 0;               // .pt2: inputs in its call spec (0: not readable)
  std::size_t returns = 0;             // .pt2: outputs in its call spec (0: not readable)
  std::optional<std::vector<std::string>> output_keys;  // .pt2: the keys, when it returns one flat dict
};

// One run's outputs in the order the program returns them: float32 (any floating type
// converted), int32 and int64 as they are. `keys` holds the dict keys when it returned a dict,
// else it is empty; `layout` changes whenever the count or the keys do.
struct TorchOutputs {
  std::vector<Array> arrays;
  std::vector<std::string> keys;
  std::size_t layout = 0;
};

// Whether inputs of `dtype` can be fed (float32, int32, int64).
bool torch_feeds(Dtype dtype);

class TorchEngine {
 public:
  // Loads `path` (.pt or .pt2; the caller checked the suffix) and sets libtorch's intra-op threads.
  TorchEngine(const std::string& path, int threads);
  ~TorchEngine();
  TorchEngine(const TorchEngine&) = delete;
  TorchEngine& operator=(const TorchEngine&) = delete;

  bool aoti() const { return aoti_ != nullptr; }
  const TorchSignature& signature() const { return signature_; }

  // Copies one sample into positional input `k`, shaped `shape` (the tensor is reallocated
  // only when the dtype or shape changes).
  void set_input(std::size_t k, Dtype dtype, const std::vector<std::int64_t>& shape, const void* data,
                 std::size_t bytes);
  // Runs forward() (or the package) on inputs 0..n-1. libtorch's own exceptions pass through
  // (message_of() turns them into one line); outputs of a kind it cannot return fail.
  const TorchOutputs& run();

  // One line from a libtorch exception: no C++ backtrace; for TorchScript interpreter errors the
  // last line, which names the cause.
  static std::string message_of(const std::exception& e);

 private:
  void collect(const c10::IValue& result);
  void collect_dict(const c10::Dict<c10::IValue, c10::IValue>& dict);
  void set_keys(std::size_t count, const std::vector<std::string>* keys);

  std::streambuf* muted_cerr_ = nullptr;
  std::optional<torch::jit::Module> module_;
  torch::jit::Function* forward_ = nullptr;  // owned by module_'s compilation unit
  std::vector<c10::IValue> stack_;
  const std::unordered_map<std::string, c10::IValue> no_kwargs_;
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> aoti_;
  TorchSignature signature_;
  std::vector<at::Tensor> inputs_;
  TorchOutputs outputs_;
};

}  // namespace ckpt2cpp
