// The checks the library's C++ unit tests share: failures counted and printed, expected errors
// matched by a phrase, and the model folder the Python side fills (CKPT2CPP_TEST_MODELS).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <string>

#include "ckpt2cpp/model.h"

namespace check {

inline int g_failures = 0;
inline std::string g_dir;

inline void expect(bool ok, const std::string& what) {
  if (!ok) {
    ++g_failures;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
}

// Runs `body`, which must throw ckpt2cpp::Error with one line containing `needle`.
inline void expect_error(const std::string& what, const std::string& needle, const std::function<void()>& body) {
  try {
    body();
    expect(false, what + ": no error thrown");
  } catch (const ckpt2cpp::Error& e) {
    const std::string line = e.what();
    expect(line.find(needle) != std::string::npos, what + ": '" + line + "' does not mention '" + needle + "'");
    expect(line.find('\n') == std::string::npos, what + ": message spans several lines");
  }
}

inline std::string path(const std::string& name) { return g_dir + "/" + name; }

// The model's output `name` for the sample in <prefix>_<input>.npy equals <prefix>_<name>.npy bit
// for bit (the same runtime in Python).
inline void expect_outputs_equal_python(const std::string& prefix, ckpt2cpp::Model& model) {
  for (const auto& input : model.inputs())
    model.set_input(input.name, ckpt2cpp::load_npy(path(prefix + "_" + input.name + ".npy")));
  model.run();
  for (const auto& output : model.outputs()) {
    const ckpt2cpp::Array expected = ckpt2cpp::load_npy(path(prefix + "_" + output.name + ".npy"));
    const ckpt2cpp::Array& got = model.output(output.name);
    expect(got.dtype == expected.dtype && got.shape == expected.shape, prefix + " output " + output.name + ": dtype or shape");
    expect(got.data == expected.data, prefix + " output " + output.name + ": differs from Python's " + ckpt2cpp::Model::runtime());
  }
}

// Runs each test (an unexpected ckpt2cpp::Error counts as a failure); the exit code.
inline int run_all(std::initializer_list<void (*)()> tests) {
  const char* dir = std::getenv("CKPT2CPP_TEST_MODELS");
  if (!dir) {
    std::fprintf(stderr, "CKPT2CPP_TEST_MODELS is not set (tests/test_cpp_library.py sets it)\n");
    return 1;
  }
  g_dir = dir;
  for (auto test : tests) {
    try {
      test();
    } catch (const ckpt2cpp::Error& e) {
      expect(false, std::string("unexpected error: ") + e.what());
    }
  }
  std::printf("%s\n", g_failures ? "FAILED" : "all library tests passed");
  return g_failures ? 1 : 0;
}

}  // namespace check
