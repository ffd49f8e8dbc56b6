// lib/torch_engine.h: libtorch loading, feeding and output collection, shared by the library's
// Model and torch_runner.
#include "lib/torch_engine.h"

#include <ATen/Parallel.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "common/error.h"

namespace ckpt2cpp {

namespace {

std::optional<at::ScalarType> scalar_type_of(Dtype d) {
  switch (d) {
    case Dtype::Float32: return torch::kFloat32;
    case Dtype::Int32: return torch::kInt32;
    case Dtype::Int64: return torch::kInt64;
    default: return std::nullopt;
  }
}

// ---- AOTInductor call specs ----
// get_call_spec() gives the pytree specs of the inputs and outputs as JSON
// text: [1, {"type": T, "context": C, "children_spec": [...]}], where a
// tensor (a leaf) has "type": null.
namespace call_spec {

// How often `needle` occurs in `text`.
std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

std::size_t count_leaves(const std::string& spec) { return count(spec, "\"type\": null"); }

// Reads the JSON string starting at text[pos] ('"') into `out`; pos ends
// after the closing quote. Only ASCII \u escapes are accepted.
bool read_string(const std::string& text, std::size_t& pos, std::string& out) {
  if (pos >= text.size() || text[pos] != '"') return false;
  out.clear();
  for (++pos; pos < text.size(); ++pos) {
    char c = text[pos];
    if (c == '"') {
      ++pos;
      return true;
    }
    if (c == '\\') {
      if (++pos >= text.size()) return false;
      switch (text[pos]) {
        case '"': case '\\': case '/': c = text[pos]; break;
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'u': {
          if (pos + 4 >= text.size()) return false;
          const unsigned long code = std::strtoul(text.substr(pos + 1, 4).c_str(), nullptr, 16);
          if (code == 0 || code > 0x7f) return false;
          c = static_cast<char>(code);
          pos += 4;
          break;
        }
        default: return false;
      }
    }
    out += c;
  }
  return false;
}

// The keys of an output spec that is one flat dict of tensors, in the order
// of the flattened outputs; std::nullopt for any other structure.
std::optional<std::vector<std::string>> flat_dict_keys(const std::string& spec) {
  const std::string head = "[1, {\"type\": \"builtins.dict\", \"context\": ";
  if (spec.rfind(head, 0) != 0) return std::nullopt;
  std::size_t pos = head.size();
  std::string context;
  if (!read_string(spec, pos, context)) return std::nullopt;  // the context: a JSON list, as a string
  std::vector<std::string> keys;
  std::size_t at = context.find_first_not_of(' ');
  if (at == std::string::npos || context[at] != '[') return std::nullopt;
  for (++at;;) {
    at = context.find_first_not_of(", ", at);
    if (at == std::string::npos) return std::nullopt;
    if (context[at] == ']') break;
    std::string key;
    if (!read_string(context, at, key)) return std::nullopt;
    keys.push_back(key);
  }
  // Every child is a tensor: one "type" for the dict and one per key.
  if (count(spec, "\"type\":") != keys.size() + 1 || count_leaves(spec) != keys.size()) return std::nullopt;
  return keys;
}

}  // namespace call_spec

// The tensor in `v`: a tensor, or a 1-tuple/1-list holding one (as the one-output models traced
// from `return (y,)` give).
std::optional<at::Tensor> as_tensor(const c10::IValue& v) {
  if (v.isTensor()) return v.toTensor();
  if (v.isTuple() && v.toTupleRef().elements().size() == 1) return as_tensor(v.toTupleRef().elements()[0]);
  if (v.isList() && v.toListRef().size() == 1) return as_tensor(v.toListRef()[0]);
  return std::nullopt;
}

at::Tensor tensor_in(const c10::IValue& v, const char* container) {
  if (!v.isTensor())
    fail(std::string("model returned ") + container + " holding " + v.tagKind() + " instead of tensors",
         "the library takes a tensor, a tuple/list of tensors or a dict of tensors from forward()");
  return v.toTensor();
}

// Copies `y` into `out`: int32/int64 keep their dtype, any other output becomes float32.
// Reuses out's memory when the size is unchanged.
void store(at::Tensor y, Array& out) {
  const at::ScalarType t = y.scalar_type();
  if (t == torch::kInt32 || t == torch::kInt64) {
    y = y.to(torch::kCPU).contiguous();
    out.dtype = t == torch::kInt32 ? Dtype::Int32 : Dtype::Int64;
  } else {
    y = y.to(torch::kCPU, torch::kFloat32).contiguous();
    out.dtype = Dtype::Float32;
  }
  out.shape.assign(y.sizes().begin(), y.sizes().end());
  out.data.resize(y.nbytes());
  std::memcpy(out.data.data(), y.data_ptr(), out.data.size());
}

}  // namespace

bool torch_feeds(Dtype dtype) { return scalar_type_of(dtype).has_value(); }

TorchEngine::TorchEngine(const std::string& path, int threads) {
  const bool package = path.ends_with(".pt2");
  at::set_num_threads(threads);  // same as torch.set_num_threads
  try {
    if (package) {
      // Make the generated code validate input dtype/shape instead of reading out of bounds
      // (AOTInductor skips the checks by default). Its failed checks also print "Error: ..." to
      // std::cerr; the same text reaches us in the exception, so std::cerr (unused by our own
      // messages) is muted while the package is loaded.
      setenv("AOTI_RUNTIME_CHECK_INPUTS", "1", 0);
      aoti_ = std::make_unique<torch::inductor::AOTIModelPackageLoader>(path);
      muted_cerr_ = std::cerr.rdbuf(nullptr);
    } else {
      module_ = torch::jit::load(path, torch::kCPU);  // maps GPU-traced weights to CPU
      module_->eval();
    }
  } catch (const std::exception& e) {
    fail("cannot load " + std::string(package ? "AOTInductor package " : "TorchScript model ") + path + ": " +
             message_of(e),
         package ? "create it with torch._inductor.aoti_compile_and_package(torch.export.export(...))"
                 : "save it with torch.jit.trace(model, x).save(path) or torch.jit.script(model).save(path)");
  }
  if (aoti_) {
    std::vector<std::string> spec = aoti_->get_call_spec();  // {inputs, outputs}
    spec.resize(2);
    signature_.takes = call_spec::count_leaves(spec[0]);
    signature_.returns = call_spec::count_leaves(spec[1]);
    signature_.output_keys = call_spec::flat_dict_keys(spec[1]);
    if (signature_.output_keys) set_keys(signature_.output_keys->size(), &*signature_.output_keys);
    return;
  }
  const auto method = module_->find_method("forward");
  if (!method) fail("TorchScript model " + path + " has no forward() method", "script or trace an nn.Module");
  forward_ = &method->function();
  const auto& params = forward_->getSchema().arguments();  // self first
  for (std::size_t p = 1; p < params.size(); ++p) {
    signature_.arguments.push_back(params[p].name());
    if (!params[p].default_value()) ++signature_.required;
  }
  stack_.reserve(params.size());
}

TorchEngine::~TorchEngine() {
  if (muted_cerr_) std::cerr.rdbuf(muted_cerr_);
}

void TorchEngine::set_input(std::size_t k, Dtype dtype, const std::vector<std::int64_t>& shape, const void* data,
                            std::size_t bytes) {
  const auto type = scalar_type_of(dtype);
  if (!type)
    fail(std::string("input dtype ") + dtype_name(dtype) + " is not one libtorch models are fed here",
         "pass float32, int32 or int64");
  if (k >= inputs_.size()) inputs_.resize(k + 1);
  at::Tensor& t = inputs_[k];
  if (!t.defined() || t.scalar_type() != *type || t.sizes() != c10::IntArrayRef(shape)) t = torch::empty(shape, *type);
  if (bytes != t.nbytes())
    fail("input " + std::to_string(k) + " takes " + std::to_string(t.nbytes()) + " bytes for shape " + shape_str(shape) +
             ", got " + std::to_string(bytes),
         "pass one sample of the shape and dtype given");
  std::memcpy(t.data_ptr(), data, bytes);
}

const TorchOutputs& TorchEngine::run() {
  c10::InferenceMode guard;
  if (aoti_) {
    const std::vector<at::Tensor> outs = aoti_->run(inputs_);
    if (signature_.returns != 0 && outs.size() != signature_.returns)
      fail("model returned " + std::to_string(outs.size()) + " outputs, its call spec says " +
               std::to_string(signature_.returns),
           "re-export the package");
    if (!signature_.output_keys) set_keys(outs.size(), nullptr);
    outputs_.arrays.resize(outs.size());
    for (std::size_t k = 0; k < outs.size(); ++k) store(outs[k], outputs_.arrays[k]);
    return outputs_;
  }
  // forward() as Function::operator() runs it, on a stack reused between calls: self, then the inputs.
  stack_.clear();
  stack_.push_back(module_->_ivalue());
  for (const auto& t : inputs_) stack_.push_back(t);
  forward_->getSchema().checkAndNormalizeInputs(stack_, no_kwargs_);
  forward_->run(stack_);
  collect(stack_.front());
  return outputs_;
}

void TorchEngine::collect(const c10::IValue& result) {
  if (const auto y = as_tensor(result)) {
    set_keys(1, nullptr);
    outputs_.arrays.resize(1);
    return store(*y, outputs_.arrays[0]);
  }
  if (result.isTuple() || result.isList()) {
    const auto items = result.isTuple() ? c10::ArrayRef<c10::IValue>(result.toTupleRef().elements())
                                        : result.toListRef();
    set_keys(items.size(), nullptr);
    outputs_.arrays.resize(items.size());
    for (std::size_t k = 0; k < items.size(); ++k) store(tensor_in(items[k], "a tuple/list"), outputs_.arrays[k]);
    return;
  }
  if (result.isGenericDict()) return collect_dict(result.toGenericDict());
  fail("model returned " + result.tagKind() + " instead of a tensor",
       "the library takes a tensor, a tuple/list of tensors or a dict of tensors from forward()");
}

// Dict outputs in the dict's order, with their keys; the keys are compared, not copied, on
// every run after the first.
void TorchEngine::collect_dict(const c10::Dict<c10::IValue, c10::IValue>& dict) {
  bool same = outputs_.keys.size() == dict.size();
  std::size_t k = 0;
  for (const auto& item : dict) {
    if (!item.key().isString())
      fail("model returned a dict with a " + item.key().tagKind() + " key", "the library takes dicts keyed by str");
    same = same && outputs_.keys[k] == item.key().toStringRef();
    ++k;
  }
  if (!same) {
    std::vector<std::string> keys;
    for (const auto& item : dict) keys.push_back(item.key().toStringRef());
    set_keys(keys.size(), &keys);
  }
  outputs_.arrays.resize(dict.size());
  k = 0;
  for (const auto& item : dict) store(tensor_in(item.value(), "a dict"), outputs_.arrays[k++]);
}

void TorchEngine::set_keys(std::size_t count, const std::vector<std::string>* keys) {
  const bool changed = outputs_.arrays.size() != count || (keys ? outputs_.keys != *keys : !outputs_.keys.empty());
  if (!changed && outputs_.layout != 0) return;
  outputs_.keys = keys ? *keys : std::vector<std::string>{};
  outputs_.arrays.resize(count);
  ++outputs_.layout;
}

std::string TorchEngine::message_of(const std::exception& e) {
  const auto* c10e = dynamic_cast<const c10::Error*>(&e);
  const std::string msg = c10e ? c10e->what_without_backtrace() : e.what();
  return msg.find("TorchScript interpreter") != std::string::npos ? last_line(msg) : first_line(msg);
}

}  // namespace ckpt2cpp
