// Part of the ckpt2cpp C++ API (C++17): a dense, C-ordered host array (what a .npy
// file holds, and what a model takes and gives), and its dtypes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ckpt2cpp {

enum class Dtype { Float32, Float16, Float64, Int8, UInt8, Int16, Int32, Int64, Bool };

inline std::size_t dtype_size(Dtype d) {
  switch (d) {
    case Dtype::Float64: case Dtype::Int64: return 8;
    case Dtype::Float32: case Dtype::Int32: return 4;
    case Dtype::Float16: case Dtype::Int16: return 2;
    case Dtype::Int8: case Dtype::UInt8: case Dtype::Bool: return 1;
  }
  return 0;
}

// numpy's name for the dtype, used in messages.
inline const char* dtype_name(Dtype d) {
  switch (d) {
    case Dtype::Float32: return "float32";
    case Dtype::Float16: return "float16";
    case Dtype::Float64: return "float64";
    case Dtype::Int8: return "int8";
    case Dtype::UInt8: return "uint8";
    case Dtype::Int16: return "int16";
    case Dtype::Int32: return "int32";
    case Dtype::Int64: return "int64";
    case Dtype::Bool: return "bool";
  }
  return "?";
}

inline std::int64_t element_count(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

// Element count of a shape with non-negative dimensions, or -1 as soon as the
// running count would exceed `limit` (checked before each multiplication, so
// it cannot overflow). A shape with a zero dimension has 0 elements.
inline std::int64_t element_count_within(const std::vector<std::int64_t>& shape, std::int64_t limit) {
  for (auto d : shape)
    if (d == 0) return 0;
  std::int64_t n = 1;
  for (auto d : shape) {
    if (d > limit / n) return -1;
    n *= d;
  }
  return n;
}

// "[1, 16, 16, 3]"
inline std::string shape_str(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

struct Array {
  Dtype dtype = Dtype::Float32;
  std::vector<std::int64_t> shape;
  std::vector<unsigned char> data;  // element_count(shape) * dtype_size(dtype) bytes

  // Axis 0 indexes samples.
  std::size_t samples() const { return shape.empty() ? 0 : static_cast<std::size_t>(shape[0]); }
  std::size_t sample_bytes() const {
    return samples() == 0 ? 0 : data.size() / samples();
  }
  const unsigned char* sample(std::size_t i) const { return data.data() + i * sample_bytes(); }
  // Shape of one sample fed alone with batch 1: [1, d1, d2, ...].
  std::vector<std::int64_t> batch1_shape() const {
    std::vector<std::int64_t> s = shape;
    if (!s.empty()) s[0] = 1;
    return s;
  }
};

}  // namespace ckpt2cpp
