// Unit tests of the ckpt2cpp library (CTest; tests/test_cpp_library.py builds and runs
// them). CKPT2CPP_TEST_MODELS names a folder the Python test fills:
//   float.tflite   input "x" [1, 4] float32 -> output "y" [1, 4] float32
//   int8.tflite    the same function, full-integer int8 with int8 input and output
//   two.tflite     inputs "a" [1, 3] float32 and "ids" [1, 2] int32, two outputs
//   <model>_<tensor>.npy  one sample per input, and the outputs Python's LiteRT gave for it
//   edges_<tensor>.npy    int8.tflite fed NaN, +-Inf and 1e9: quantized alike in Python and C++
// Compiled as C++17 with warnings as errors: the public headers must hold to that.
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ckpt2cpp/model.h"
#include "tests/check.h"

namespace {

using check::expect;
using check::expect_error;
using check::expect_outputs_equal_python;
using check::path;

void test_float_model() {
  auto model = ckpt2cpp::Model::load(path("float.tflite"), ckpt2cpp::Options{2, false});
  expect(model->inputs().size() == 1 && model->inputs()[0].name == "x", "float: one input named x");
  expect(model->inputs()[0].shape == std::vector<std::int64_t>{1, 4}, "float: input shape [1, 4]");
  expect(!model->inputs()[0].quantized, "float: input not quantized");
  expect(model->threads_applied(), "float: threads reached LiteRT");
  expect_outputs_equal_python("float", *model);
  expect_error("unknown input name", "its inputs: x", [&] { model->set_input("nope", std::vector<float>(4)); });
  expect_error("unknown output name", "its outputs: y", [&] { model->output("nope"); });
  expect_error("input index out of range", "input index 3 is out of range",
               [&] { model->set_input(3, ckpt2cpp::Dtype::Float32, nullptr, 0); });
  expect_error("output index out of range", "output index 5 is out of range", [&] { model->output(5); });
  expect_error("wrong element count", "takes 4 float32 values", [&] { model->set_input("x", std::vector<float>(3)); });
  ckpt2cpp::Array ints{ckpt2cpp::Dtype::Int32, {1, 4}, std::vector<unsigned char>(16)};
  expect_error("wrong dtype", "does not match model input 'x' (float32)", [&] { model->set_input("x", ints); });
  ckpt2cpp::Array wide{ckpt2cpp::Dtype::Float32, {1, 5}, std::vector<unsigned char>(20)};
  expect_error("wrong shape", "does not match model input 'x' [1, 4]", [&] { model->set_input("x", wide); });
}

void test_int8_model() {
  auto model = ckpt2cpp::Model::load(path("int8.tflite"));
  const ckpt2cpp::TensorInfo& in = model->inputs().at(0);
  expect(in.dtype == ckpt2cpp::Dtype::Int8 && in.quantized && in.scale > 0, "int8: quantized int8 input");
  expect_outputs_equal_python("int8", *model);  // float32 in, quantized and dequantized by the library
  expect_outputs_equal_python("edges", *model);  // NaN, +-Inf, out of range: saturated as in Python
  auto raw = ckpt2cpp::Model::load(path("int8.tflite"), ckpt2cpp::Options{1, true});
  raw->set_input("x", ckpt2cpp::load_npy(path("int8_x.npy")));
  raw->run();
  expect(raw->output(0).dtype == ckpt2cpp::Dtype::Int8, "int8: raw_output keeps int8");
}

void test_two_inputs() {
  auto model = ckpt2cpp::Model::load(check::g_dir + "/two");  // a folder holding model.tflite
  expect(model->inputs().size() == 2 && model->outputs().size() == 2, "two: two inputs, two outputs");
  expect(model->input_index("ids") != model->input_index("a"), "two: inputs by name");
  expect_outputs_equal_python("two", *model);
}

void test_load_errors() {
  expect_error("missing file", "model file not found", [] { ckpt2cpp::Model::load(path("absent.tflite")); });
  expect_error("folder without a model", "model file not found", [] { ckpt2cpp::Model::load(check::g_dir); });
  expect_error("not a .tflite", "this library runs .tflite models", [] { ckpt2cpp::Model::load(path("float_x.npy")); });
  {
    std::ofstream junk(path("junk.tflite"), std::ios::binary);
    junk << "definitely not a flatbuffer";
  }
  expect_error("junk model", "cannot load", [] { ckpt2cpp::Model::load(path("junk.tflite")); });
  expect_error("no threads", "threads must be at least 1", [] { ckpt2cpp::Model::load(path("float.tflite"), ckpt2cpp::Options{0, false}); });
}

void test_npy() {
  const ckpt2cpp::Array a{ckpt2cpp::Dtype::Int64, {2, 3}, std::vector<unsigned char>(48, 7)};
  ckpt2cpp::save_npy(path("roundtrip.npy"), a);
  const ckpt2cpp::Array b = ckpt2cpp::load_npy(path("roundtrip.npy"));
  expect(b.dtype == a.dtype && b.shape == a.shape && b.data == a.data, "npy: save then load gives the array back");
  {
    std::ofstream cut(path("cut.npy"), std::ios::binary);
    std::ifstream whole(path("roundtrip.npy"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(whole)), std::istreambuf_iterator<char>());
    cut << bytes.substr(0, bytes.size() - 5);
  }
  expect_error("truncated npy", "truncated or corrupt", [] { ckpt2cpp::load_npy(path("cut.npy")); });
}

}  // namespace

int main() { return check::run_all({test_float_model, test_int8_model, test_two_inputs, test_load_errors, test_npy}); }
