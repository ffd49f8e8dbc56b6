// Unit tests of the ckpt2cpp library on libtorch (tests/test_cpp_library.py builds them as C++17
// with warnings as errors against a torch bundle's include/ and lib/, and runs them).
// CKPT2CPP_TEST_MODELS names a folder the Python test fills:
//   dict/      model.pt: TorchScript forward(x [1, 3] float32, ids [1, 2] int64) returning the
//              dict {"total", "next"}; its model.json lists the outputs in the other order
//   dynamic/   model.pt: traced x * 2 + 1 on [1, 2, -1, -1] float32, returning (y,)
//   <prefix>_<tensor>.npy  one sample per input, and the outputs Python's libtorch gave for it
//   bad_json/, no_json/: dynamic/'s model with a broken or no sidecar
//   wrong_output/: dict/'s model with a sidecar naming an output "logits" it does not return
#include <cstdint>
#include <string>
#include <vector>

#include "ckpt2cpp/model.h"
#include "tests/check.h"

namespace {

using check::expect;
using check::expect_error;
using check::expect_outputs_equal_python;
using check::path;

void test_dict_outputs_by_name() {
  auto model = ckpt2cpp::Model::load(path("dict"));
  expect(ckpt2cpp::Model::runtime() == "libtorch", "the library runs libtorch");
  expect(model->inputs().size() == 2 && model->inputs()[1].name == "ids", "dict: inputs x, ids from model.json");
  expect(model->inputs()[1].dtype == ckpt2cpp::Dtype::Int64, "dict: ids is int64");
  expect(model->outputs().at(0).name == "next", "dict: outputs in model.json's order");
  expect_outputs_equal_python("dict", *model);
  ckpt2cpp::Array ints{ckpt2cpp::Dtype::Int32, {1, 2}, std::vector<unsigned char>(8)};
  expect_error("wrong dtype", "does not match model input 'ids' (int64)", [&] { model->set_input("ids", ints); });
  ckpt2cpp::Array wide{ckpt2cpp::Dtype::Float32, {1, 4}, std::vector<unsigned char>(16)};
  expect_error("wrong shape", "does not match model input 'x' [1, 3]", [&] { model->set_input("x", wide); });
  ckpt2cpp::Array short_data{ckpt2cpp::Dtype::Float32, {1, 3}, std::vector<unsigned char>(8)};
  expect_error("too few bytes", "takes 12 bytes", [&] { model->set_input("x", short_data); });
  expect_error("unknown input", "its inputs: x, ids", [&] { model->input_index("nope"); });
}

void test_dynamic_shape() {
  auto model = ckpt2cpp::Model::load(path("dynamic/model.pt"), ckpt2cpp::Options{2, false});
  expect(model->inputs().at(0).shape == std::vector<std::int64_t>{1, 2, -1, -1}, "dynamic: declared [1, 2, -1, -1]");
  expect_error("run before set_input", "was not set", [&] { model->run(); });
  expect_error("fixed-shape call on a dynamic input", "dynamic shape",
               [&] { model->set_input(0, ckpt2cpp::Dtype::Float32, nullptr, 0); });
  expect_outputs_equal_python("dynamic", *model);  // a 5 x 7 sample
  const std::vector<float> small(2 * 3 * 4, 1.0f);
  model->set_input(0, ckpt2cpp::Dtype::Float32, {1, 2, 3, 4}, small.data(), small.size() * sizeof(float));
  model->run();
  const ckpt2cpp::Array& y = model->output("y");
  expect(y.shape == std::vector<std::int64_t>{1, 2, 3, 4}, "dynamic: another size runs");
  expect(y.data.size() == small.size() * sizeof(float) && reinterpret_cast<const float*>(y.data.data())[0] == 3.0f,
         "dynamic: 1 * 2 + 1 = 3");
}

void test_load_errors() {
  expect_error("no sidecar", "model.json not found beside", [] { ckpt2cpp::Model::load(path("no_json")); });
  expect_error("broken sidecar", "is not valid JSON", [] { ckpt2cpp::Model::load(path("bad_json")); });
  expect_error("sidecar of another model", "model returned no output 'logits'", [] {
    auto model = ckpt2cpp::Model::load(path("wrong_output"));
    model->set_input("x", ckpt2cpp::load_npy(path("dict_x.npy")));
    model->set_input("ids", ckpt2cpp::load_npy(path("dict_ids.npy")));
    model->run();
  });
  expect_error("not a TorchScript file", "this library runs .pt and .pt2 models (libtorch)",
               [] { ckpt2cpp::Model::load(path("dynamic_x.npy")); });
  expect_error("folder without a model", "model file not found", [] { ckpt2cpp::Model::load(check::g_dir); });
}

}  // namespace

int main() { return check::run_all({test_dict_outputs_by_name, test_dynamic_shape, test_load_errors}); }
