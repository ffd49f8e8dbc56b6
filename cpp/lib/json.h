// A small JSON reader for the model.json sidecars the library reads beside a model. Strict
// (RFC 8259 values, UTF-8 passed through, \u escapes of the Basic Multilingual Plane), bounded
// nesting, and every rejection one line naming the file and the byte offset.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ckpt2cpp {

struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> items;                            // Array
  std::vector<std::pair<std::string, Json>> members;  // Object, in file order

  // The member `key` of an object, or nullptr.
  const Json* find(const std::string& key) const;
};

// Parses `text`; `source` names it in messages ("model.json").
Json parse_json(const std::string& text, const std::string& source);

// Reads and parses the file at `path`.
Json read_json_file(const std::string& path);

}  // namespace ckpt2cpp
