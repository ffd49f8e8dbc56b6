// Part of the ckpt2cpp C++ API (C++17): the one exception type it throws.
#pragma once

#include <stdexcept>
#include <string>

namespace ckpt2cpp {

// Every failure of the library: a missing or corrupt model, a runtime error, an input of the
// wrong name, shape or dtype. what() is one line, "<what> (<how to fix it>)".
struct Error : std::runtime_error {
  explicit Error(const std::string& line) : std::runtime_error(line) {}
};

}  // namespace ckpt2cpp
