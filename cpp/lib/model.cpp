// ckpt2cpp::Model's runtime-independent part: finding the model file, names, input checks,
// and .npy files.
#include "ckpt2cpp/model.h"

#include <filesystem>

#include "common/error.h"
#include "common/npy.h"
#include "lib/backends.h"

namespace ckpt2cpp {

namespace {

std::string join(const std::vector<TensorInfo>& tensors) {
  std::string s;
  for (const auto& t : tensors) s += (s.empty() ? "" : ", ") + t.name;
  return s;
}

std::size_t index_of(const std::vector<TensorInfo>& tensors, const std::string& name, const char* kind) {
  for (std::size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].name == name) return i;
  fail(std::string("the model has no ") + kind + " '" + name + "'", std::string("its ") + kind + "s: " + join(tensors));
}

bool is_quantized_type(Dtype d) { return d == Dtype::Int8 || d == Dtype::UInt8; }

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& path, const Options& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path given(path);
  const fs::path file = fs::is_directory(given, ec) ? given / "model.tflite" : given;
  if (!fs::is_regular_file(file, ec))
    fail("model file not found: " + file.string(), "give a model folder holding model.tflite, or the .tflite file");
  if (file.extension() != ".tflite")
    fail("cannot load " + file.string() + ": this library runs .tflite models (LiteRT)",
         "export the model with the pipeline's quantize stage");
  if (options.threads < 1) fail("threads must be at least 1, got " + std::to_string(options.threads), "set Options::threads");
  return load_litert(file.string(), options);
}

std::size_t Model::input_index(const std::string& name) const { return index_of(inputs_, name, "input"); }

std::size_t Model::output_index(const std::string& name) const { return index_of(outputs_, name, "output"); }

void Model::check_input(std::size_t index, Dtype dtype, const std::vector<std::int64_t>& shape,
                        const std::string& source) const {
  const TensorInfo& t = inputs_.at(index);
  if (shape != t.shape)
    fail("input sample shape " + shape_str(shape) + source + " does not match model input '" + t.name + "' " + shape_str(t.shape),
         "the .npy must be [N, ...] with each sample shaped like the model input without its batch axis");
  const bool integer_model = is_quantized_type(t.dtype);
  if (integer_model && dtype == Dtype::Float32) {
    if (!t.quantized)
      fail("model input '" + t.name + "' is " + dtype_name(t.dtype) + " without per-tensor quantization",
           std::string("pass a .npy of dtype ") + dtype_name(t.dtype));
    return;
  }
  if (dtype != t.dtype)
    fail(std::string("input dtype ") + dtype_name(dtype) + source + " does not match model input '" + t.name + "' (" +
             dtype_name(t.dtype) + ")",
         integer_model ? std::string("pass float32 (quantized for you) or ") + dtype_name(t.dtype)
                       : std::string("save the input as ") + dtype_name(t.dtype));
}

void Model::set_input(const std::string& name, const Array& sample) {
  const std::size_t index = input_index(name);
  check_input(index, sample.dtype, sample.shape, " of input '" + name + "'");
  set_input(index, sample.dtype, sample.data.data(), sample.data.size());
}

void Model::set_input(const std::string& name, const std::vector<float>& sample) {
  const std::size_t index = input_index(name);
  set_input(index, Dtype::Float32, sample.data(), sample.size() * sizeof(float));
}

void Model::start_profiling() { fail("this runtime has no profiler", "run without profiling"); }

std::vector<OpTime> Model::stop_profiling(int /*runs*/) { fail("this runtime has no profiler", "run without profiling"); }

Array load_npy(const std::string& path) { return read_npy(path, "load_npy"); }

void save_npy(const std::string& path, const Array& array) { write_npy(path, array); }

}  // namespace ckpt2cpp
