// Unit tests of the ckpt2cpp library on TensorFlow (tests/test_cpp_library.py builds them as
// C++17 with warnings as errors against a TensorFlow bundle's include/ and lib/, and runs them).
// CKPT2CPP_TEST_MODELS names a folder the Python test fills:
//   graph/     model.pb: a frozen graph feeding x [-1, 3] float32 and ids [-1, 2] int64, fetching
//              next = ids + 1 and total = sum(x); model.json names them and their nodes
//   saved/     model/: the same graph as a SavedModel directory, with the same model.json
//   graph_<tensor>.npy  one sample per input, and the outputs Python's TensorFlow gave for it
//   no_json/, bad_node/: graph/'s model with no sidecar, or one naming a node the graph lacks
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

void test_frozen_graph() {
  auto model = ckpt2cpp::Model::load(path("graph"), ckpt2cpp::Options{2, false});
  expect(ckpt2cpp::Model::runtime() == "TensorFlow", "the library runs TensorFlow");
  expect(model->inputs().size() == 2 && model->inputs()[1].name == "ids", "graph: inputs x, ids from model.json");
  expect(model->inputs()[1].dtype == ckpt2cpp::Dtype::Int64, "graph: ids is int64, as the graph declares");
  expect(model->outputs().at(0).name == "next", "graph: outputs in model.json's order");
  expect_outputs_equal_python("graph", *model);
  ckpt2cpp::Array ints{ckpt2cpp::Dtype::Int32, {1, 2}, std::vector<unsigned char>(8)};
  expect_error("wrong dtype", "does not match model input 'ids' (int64)", [&] { model->set_input("ids", ints); });
  ckpt2cpp::Array wide{ckpt2cpp::Dtype::Float32, {1, 4}, std::vector<unsigned char>(16)};
  expect_error("wrong shape", "does not match model input 'x' [-1, 3]", [&] { model->set_input("x", wide); });
}

void test_saved_model_directory() {
  auto model = ckpt2cpp::Model::load(path("saved"));  // a folder holding the SavedModel model/
  expect_outputs_equal_python("graph", *model);
  auto direct = ckpt2cpp::Model::load(path("saved/model"));  // the SavedModel directory itself
  expect(direct->outputs().size() == 2, "saved: the directory loads as the folder does");
  expect_error("run before set_input", "was not set", [&] { direct->run(); });
}

void test_load_errors() {
  expect_error("no sidecar", "model.json not found beside", [] { ckpt2cpp::Model::load(path("no_json")); });
  expect_error("a node the graph lacks", "node 'logits' (from", [] { ckpt2cpp::Model::load(path("bad_node")); });
  expect_error("not a graph", "this library runs .pb models (TensorFlow)", [] { ckpt2cpp::Model::load(path("graph_x.npy")); });
  expect_error("folder without a model", "model file not found", [] { ckpt2cpp::Model::load(check::g_dir); });
}

}  // namespace

int main() { return check::run_all({test_frozen_graph, test_saved_model_directory, test_load_errors}); }
