// .npy reader/writer (format versions 1.0, 2.0 and 3.0; little-endian; C order).
// Reads float32/float16/float64/int8/uint8/int16/int32/int64/bool. Rejects
// fortran_order=True, big-endian data, structured or unknown dtypes, and
// truncated files with a RunError.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "ckpt2cpp/tensor.h"
#include "common/error.h"
#include "common/file.h"

namespace ckpt2cpp {

namespace npy_detail {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLen = 6;

// Value text after 'key': in the header dict, with leading spaces skipped.
inline std::string value_after(const std::string& header, const std::string& key) {
  for (const char q : {'\'', '"'}) {
    const std::string needle = std::string(1, q) + key + std::string(1, q);
    auto pos = header.find(needle);
    if (pos == std::string::npos) continue;
    pos = header.find(':', pos + needle.size());
    if (pos == std::string::npos) return {};
    pos = header.find_first_not_of(' ', pos + 1);
    return pos == std::string::npos ? std::string{} : header.substr(pos);
  }
  return {};
}

inline bool parse_descr(const std::string& descr, Dtype* out) {
  if (descr.size() != 3) return false;
  const char order = descr[0];
  const std::string kind = descr.substr(1);
  struct Entry { const char* code; Dtype dtype; };
  static const Entry kTable[] = {
      {"f4", Dtype::Float32}, {"f2", Dtype::Float16}, {"f8", Dtype::Float64},
      {"i1", Dtype::Int8},    {"u1", Dtype::UInt8},   {"i2", Dtype::Int16},
      {"i4", Dtype::Int32},   {"i8", Dtype::Int64},   {"b1", Dtype::Bool}};
  for (const auto& e : kTable) {
    if (kind != e.code) continue;
    const bool one_byte = dtype_size(e.dtype) == 1;
    if (order == '<' || order == '=' || order == '|' || (one_byte && order == '>')) {
      *out = e.dtype;
      return true;
    }
    return false;
  }
  return false;
}

inline const char* descr_of(Dtype d) {
  switch (d) {
    case Dtype::Float32: return "<f4";
    case Dtype::Float16: return "<f2";
    case Dtype::Float64: return "<f8";
    case Dtype::Int8: return "|i1";
    case Dtype::UInt8: return "|u1";
    case Dtype::Int16: return "<i2";
    case Dtype::Int32: return "<i4";
    case Dtype::Int64: return "<i8";
    case Dtype::Bool: return "|b1";
  }
  return "";
}

}  // namespace npy_detail

// Reads a .npy file. `flag` names the command-line flag the path came from,
// for the hint in error messages.
inline Array read_npy(const std::string& path, const std::string& flag = "--input") {
  using namespace npy_detail;
  const std::string hint = "give " + flag + " a .npy file written by numpy.save";
  const std::string bytes = read_file(path, ".npy file", "check " + flag);
  if (bytes.size() < kMagicLen + 4 || std::memcmp(bytes.data(), kMagic, kMagicLen) != 0)
    fail(path + " is not a .npy file (bad magic bytes)", hint);

  const unsigned major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(path + ": truncated .npy header", hint);
    for (int i = 3; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[8 + i]);
    header_start = 12;
  } else {
    fail(path + ": unsupported .npy format version " + std::to_string(major), hint);
  }
  if (header_start + header_len > bytes.size()) fail(path + ": truncated .npy header", hint);
  const std::string header(bytes.data() + header_start, header_len);

  // descr: a quoted dtype string such as '<f4'.
  std::string descr = value_after(header, "descr");
  if (descr.empty() || (descr[0] != '\'' && descr[0] != '"'))
    fail(path + ": unsupported dtype (structured or missing 'descr')",
         "save a plain numeric array");
  descr = descr.substr(1, descr.find(descr[0], 1) - 1);
  Array arr;
  if (!parse_descr(descr, &arr.dtype)) {
    const bool big = !descr.empty() && descr[0] == '>';
    fail(path + ": unsupported dtype '" + descr + "'" + (big ? " (big-endian)" : ""),
         big ? "convert with x.astype(x.dtype.newbyteorder('<'))"
             : "use float32, float16, int8, uint8, int32 or int64");
  }
  if (value_after(header, "fortran_order").rfind("False", 0) != 0)
    fail(path + ": fortran_order arrays are not supported", "save np.ascontiguousarray(x)");

  const std::string shape = value_after(header, "shape");
  if (shape.empty() || shape[0] != '(') fail(path + ": malformed shape in .npy header", hint);
  std::size_t i = 1;
  while (i < shape.size() && shape[i] != ')') {
    if (shape[i] == ' ' || shape[i] == ',') { ++i; continue; }
    if (shape[i] < '0' || shape[i] > '9') fail(path + ": malformed shape in .npy header", hint);
    std::int64_t dim = 0;
    while (i < shape.size() && shape[i] >= '0' && shape[i] <= '9') {
      dim = dim * 10 + (shape[i] - '0');
      if (dim > (std::int64_t{1} << 40)) fail(path + ": dimension too large in .npy header", hint);
      ++i;
    }
    arr.shape.push_back(dim);
  }
  if (i >= shape.size()) fail(path + ": malformed shape in .npy header", hint);

  const std::size_t data_start = header_start + header_len;
  const std::size_t data_bytes = bytes.size() - data_start;
  const std::int64_t count =
      element_count_within(arr.shape, static_cast<std::int64_t>(data_bytes / dtype_size(arr.dtype)));
  if (count < 0)
    fail(path + ": data size " + std::to_string(data_bytes) + " bytes is too small for shape " +
             shape_str(arr.shape) + " of " + dtype_name(arr.dtype),
         "the file is truncated or corrupt; write it again with numpy.save");
  const std::size_t expected = static_cast<std::size_t>(count) * dtype_size(arr.dtype);
  if (data_bytes != expected)
    fail(path + ": data size " + std::to_string(data_bytes) +
             " bytes does not match shape " + shape_str(arr.shape) + " of " +
             dtype_name(arr.dtype) + " (" + std::to_string(expected) + " bytes)",
         "the file is truncated or corrupt; write it again with numpy.save");
  arr.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(data_start), bytes.end());
  return arr;
}

// Writes `arr` as .npy (version 1.0, or 2.0 if the header needs it).
inline void write_npy(const std::string& path, const Array& arr) {
  std::string dict = std::string("{'descr': '") + npy_detail::descr_of(arr.dtype) +
                     "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < arr.shape.size(); ++i) {
    dict += std::to_string(arr.shape[i]);
    if (i + 1 < arr.shape.size()) dict += ", ";
    else if (arr.shape.size() == 1) dict += ",";  // one-element tuple: (3,)
  }
  dict += "), }";
  // Pad with spaces so that magic + version + length + header is a multiple of 64,
  // and end with a newline (as numpy does).
  const bool v2 = dict.size() + 1 + 10 > 65535;
  const std::size_t prefix = v2 ? 12 : 10;
  const std::size_t total = prefix + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';

  std::string head(npy_detail::kMagic, npy_detail::kMagicLen);
  head += static_cast<char>(v2 ? 2 : 1);
  head += '\0';
  const std::size_t len = dict.size();
  for (std::size_t b = 0; b < (v2 ? 4u : 2u); ++b) head += static_cast<char>((len >> (8 * b)) & 0xff);

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("cannot write " + path + ": " + std::strerror(errno), "check that its directory exists and is writable");
  out.write(head.data(), static_cast<std::streamsize>(head.size()));
  out.write(dict.data(), static_cast<std::streamsize>(dict.size()));
  out.write(reinterpret_cast<const char*>(arr.data.data()), static_cast<std::streamsize>(arr.data.size()));
  if (!out.flush()) fail("cannot write " + path + ": " + std::strerror(errno), "check free disk space");
}

}  // namespace ckpt2cpp
