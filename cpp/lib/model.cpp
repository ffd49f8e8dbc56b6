// ckpt2cpp::Model's runtime-independent part: finding the model file, names, input checks,
// and .npy files.
#include "ckpt2cpp/model.h"

#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "common/npy.h"
#include "lib/backends.h"

namespace ckpt2cpp {

namespace {

std::string join(const std::vector<std::string>& words, const std::string& separator) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : separator) + w;
  return s;
}

std::string join(const std::vector<TensorInfo>& tensors) {
  std::vector<std::string> names;
  for (const auto& t : tensors) names.push_back(t.name);
  return join(names, ", ");
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
  const RuntimeFormat& format = runtime_format();
  std::error_code ec;
  auto is_model_directory = [&](const fs::path& p) {
    return !format.directory_marker.empty() && fs::is_regular_file(p / format.directory_marker, ec);
  };
  auto is_model = [&](const fs::path& p) { return fs::is_regular_file(p, ec) || is_model_directory(p); };
  const fs::path given(path);
  fs::path file = given;
  if (fs::is_directory(given, ec) && !is_model_directory(given)) {
    file = given / format.model_files.front();
    for (const auto& name : format.model_files)
      if (is_model(given / name)) {
        file = given / name;
        break;
      }
  }
  if (!is_model(file))
    fail("model file not found: " + file.string(),
         "give a model folder holding " + join(format.model_files, " or ") + ", or the model file itself");
  const std::string extension = file.extension().string();
  const auto& allowed = format.extensions;
  if (!is_model_directory(file) && std::find(allowed.begin(), allowed.end(), extension) == allowed.end())
    fail("cannot load " + file.string() + ": this library runs " + join(format.extensions, " and ") + " models (" +
             format.runtime + ")",
         format.export_hint);
  if (options.threads < 1) fail("threads must be at least 1, got " + std::to_string(options.threads), "set Options::threads");
  return open_model(file.string(), options);
}

std::string Model::runtime() { return runtime_format().runtime; }

std::size_t Model::input_index(const std::string& name) const { return index_of(inputs_, name, "input"); }

const TensorInfo& Model::input_at(std::size_t index) const {
  if (index >= inputs_.size())
    fail("input index " + std::to_string(index) + " is out of range: the model has " + std::to_string(inputs_.size()) +
             " inputs",
         "use input_index(name), or an index below inputs().size()");
  return inputs_[index];
}

const Array& Model::output(std::size_t index) const {
  const std::vector<Array>& arrays = output_arrays();
  if (index >= arrays.size())
    fail("output index " + std::to_string(index) + " is out of range: " + std::to_string(arrays.size()) +
             " outputs are available",
         arrays.empty() ? "call run() first" : "use output_index(name), or an index below outputs().size()");
  return arrays[index];
}

std::size_t Model::output_index(const std::string& name) const { return index_of(outputs_, name, "output"); }

void Model::check_input(std::size_t index, Dtype dtype, const std::vector<std::int64_t>& shape,
                        const std::string& source) const {
  const TensorInfo& t = input_at(index);
  if (!shape_fits(t.shape, shape))
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

void Model::check_sample(std::size_t index, Dtype dtype, const std::vector<std::int64_t>& shape,
                         std::size_t bytes) const {
  const TensorInfo& t = input_at(index);
  if (dtype != t.dtype || !shape_fits(t.shape, shape)) check_input(index, dtype, shape);
  const std::size_t expected = static_cast<std::size_t>(element_count(shape)) * dtype_size(dtype);
  if (bytes != expected)
    fail("input '" + t.name + "' shaped " + shape_str(shape) + " takes " + std::to_string(expected) + " bytes of " +
             dtype_name(dtype) + ", got " + std::to_string(bytes),
         "pass one sample of the shape given");
}

void Model::set_input(const std::string& name, const Array& sample) {
  const std::size_t index = input_index(name);
  check_input(index, sample.dtype, sample.shape, " of input '" + name + "'");
  set_input(index, sample.dtype, sample.shape, sample.data.data(), sample.data.size());
}

void Model::set_input(std::size_t index, Dtype dtype, const void* data, std::size_t bytes) {
  const TensorInfo& t = input_at(index);
  for (auto d : t.shape)
    if (d < 0)
      fail("model input '" + t.name + "' has the dynamic shape " + shape_str(t.shape),
           "pass the sample's shape: set_input(index, dtype, shape, data, bytes), or an Array");
  set_input(index, dtype, t.shape, data, bytes);
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
