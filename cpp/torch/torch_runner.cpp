// torch_runner: runs a TorchScript module (.pt) or an AOTInductor package
// (.pt2) on CPU with libtorch, following the shared protocol
// (common/protocol.h). Each input .npy (float32, int32 or int64) gives one
// tensor per sample, shaped [1, d1, ...]; the tensors are passed to forward()
// positionally, in --input order. forward() may return a tensor, a tuple or
// list of tensors (matched to --output in order) or a dict of tensors
// (matched by name); a .pt2 package's outputs likewise (by name when its call
// spec says it returns a flat dict).
#include <ATen/Parallel.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/script.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/runner_main.h"

namespace {

using namespace ckpt2cpp;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

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

// Checks that a model with `returned` outputs matched positionally fits the
// --output flags.
void check_positional_outputs(std::size_t returned, const std::vector<NamedPath>& outputs) {
  if (outputs.size() == 1 && outputs[0].name.empty()) {
    if (returned != 1)
      fail("model returns " + std::to_string(returned) + " outputs",
           "give each as --output NAME=FILE, in the order the model returns them");
  } else if (returned != outputs.size()) {
    const std::size_t given = outputs.size();
    std::string what = "model returns " + std::to_string(returned) + " outputs, " + std::to_string(given) +
                       " --output given";
    if (returned == given + 1) what += ": output " + std::to_string(returned) + " not requested";
    if (returned > given + 1)
      what += ": outputs " + std::to_string(given + 1) + " to " + std::to_string(returned) + " not requested";
    fail(what, "give one --output NAME=FILE per output, in the order the model returns them");
  }
}

// The tensor in `v`: a tensor, or a 1-tuple/1-list holding one (as the
// one-output models traced from `return (y,)` give).
std::optional<at::Tensor> as_tensor(const c10::IValue& v) {
  if (v.isTensor()) return v.toTensor();
  if (v.isTuple() && v.toTupleRef().elements().size() == 1) return as_tensor(v.toTupleRef().elements()[0]);
  if (v.isList() && v.toListRef().size() == 1) return as_tensor(v.toListRef()[0]);
  return std::nullopt;
}

// Copies `y` into `out`: int32/int64 outputs keep their dtype, any other
// output is converted to float32 (as the one-output runner always did).
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

class TorchSession : public Session {
 public:
  TorchSession(const Args& args, const std::vector<InputFile>& inputs) : outputs_(args.outputs) {
    const std::string& path = args.model;
    const bool aoti = ends_with(path, ".pt2");
    if (!aoti && !ends_with(path, ".pt"))
      throw UsageError("model path " + path + " must end with .pt (TorchScript) or .pt2 (AOTInductor package)",
                       "rename the file or pass the right --model");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) fail("model file not found: " + path, "check --model");
    for (const auto& in : inputs) {
      const auto type = scalar_type_of(in.array.dtype);
      if (!type)
        fail(std::string("input dtype ") + dtype_name(in.array.dtype) + " of " + io_label({in.name, in.path}, true) +
                 " is not one torch_runner feeds (float32, int32, int64)",
             "save the input with the dtype the model takes: np.save(path, x.astype(np.float32))");
      input_tensors_.push_back(torch::empty(in.array.batch1_shape(), *type));
    }

    at::set_num_threads(args.threads);  // same as torch.set_num_threads
    try {
      if (aoti) {
        // Make the generated code validate input dtype/shape instead of
        // reading out of bounds (AOTInductor skips the checks by default).
        // Its failed checks also print "Error: ..." to std::cerr; the same
        // text reaches us in the exception, so std::cerr (unused by our own
        // messages) is muted while the package is loaded.
        setenv("AOTI_RUNTIME_CHECK_INPUTS", "1", 0);
        aoti_ = std::make_unique<torch::inductor::AOTIModelPackageLoader>(path);
        muted_cerr_ = std::cerr.rdbuf(nullptr);
      } else {
        module_ = torch::jit::load(path, torch::kCPU);  // maps GPU-traced weights to CPU
        module_->eval();
      }
    } catch (const std::exception& e) {
      fail("cannot load " + std::string(aoti ? "AOTInductor package " : "TorchScript model ") + path + ": " +
               message_of(e),
           aoti ? "create it with torch._inductor.aoti_compile_and_package(torch.export.export(...))"
                : "save it with torch.jit.trace(model, x).save(path) or torch.jit.script(model).save(path)");
    }
    if (aoti_) prepare_aoti(args);
    else prepare_script(args);
    outs_.resize(outputs_.size());
  }

  ~TorchSession() override {
    if (muted_cerr_) std::cerr.rdbuf(muted_cerr_);
  }

  // Timed region: memcpy of each sample into its input tensor, forward / AOTI
  // run, copy of each output (contiguous; float32, int32 or int64) into outs_.
  const std::vector<Array>& infer(const std::vector<InputFile>& inputs, std::size_t i) override {
    for (std::size_t k = 0; k < inputs.size(); ++k)
      std::memcpy(input_tensors_[k].data_ptr(), inputs[k].array.sample(i), inputs[k].array.sample_bytes());
    try {
      c10::InferenceMode guard;
      if (aoti_) {
        const std::vector<at::Tensor> outs = aoti_->run(input_tensors_);
        if (aoti_returns_ == 0) check_positional_outputs(outs.size(), outputs_);  // no count in the call spec
        else if (outs.size() != aoti_returns_)
          fail("model returned " + std::to_string(outs.size()) + " outputs, its call spec says " +
                   std::to_string(aoti_returns_),
               "re-export the package");
        for (std::size_t k = 0; k < outs_.size(); ++k) store(outs[aoti_output_[k]], outs_[k]);
      } else {
        // forward() as Function::operator() runs it, on a stack reused
        // between calls: self, then the inputs.
        stack_.clear();
        stack_.push_back(module_->_ivalue());
        for (const auto& t : input_tensors_) stack_.push_back(t);
        forward_->getSchema().checkAndNormalizeInputs(stack_, no_kwargs_);
        forward_->run(stack_);
        collect(stack_.front());
      }
    } catch (const RunError&) {
      throw;
    } catch (const std::exception& e) {
      fail("inference failed for " + describe_inputs(inputs) + ": " + message_of(e),
           "check that the input .npy files have the layout, size and dtype the model expects");
    }
    return outs_;
  }

 private:
  // One line from a torch exception: the message without the C++ backtrace;
  // for TorchScript interpreter errors the last line, which names the cause
  // (the first one is "The following operation failed in the TorchScript interpreter.").
  static std::string message_of(const std::exception& e) {
    const auto* c10e = dynamic_cast<const c10::Error*>(&e);
    const std::string msg = c10e ? c10e->what_without_backtrace() : e.what();
    return msg.find("TorchScript interpreter") != std::string::npos ? last_line(msg) : first_line(msg);
  }

  // Checks the --input flags against forward()'s arguments.
  void prepare_script(const Args& args) {
    const auto method = module_->find_method("forward");
    if (!method) fail("TorchScript model " + args.model + " has no forward() method", "script or trace an nn.Module");
    forward_ = &method->function();
    const auto& params = forward_->getSchema().arguments();  // self first
    std::vector<std::string> names;
    std::size_t required = 0;
    for (std::size_t p = 1; p < params.size(); ++p) {
      names.push_back(params[p].name());
      if (!params[p].default_value()) ++required;
    }
    const std::size_t given = args.inputs.size();
    if (!args.named() && required > 1)
      fail("model has " + std::to_string(names.size()) + " inputs: " + join_names(names),
           "give each as --input NAME=FILE, in forward()'s order");
    if (given < required || given > names.size())
      fail("model forward(" + join_names(names) + ") takes " +
               (required == names.size() ? std::to_string(required)
                                         : std::to_string(required) + " to " + std::to_string(names.size())) +
               " inputs, " + std::to_string(given) + " --input given",
           "inputs are passed to forward() positionally, in --input order");
    // Names that are forward()'s own argument names must be in its order.
    if (args.named() && given == names.size()) {
      std::vector<std::string> given_names;
      for (const auto& in : args.inputs) given_names.push_back(in.name);
      if (given_names != names && std::is_permutation(given_names.begin(), given_names.end(), names.begin()))
        fail("--input order " + join_names(given_names) + " differs from forward(" + join_names(names) + ")",
             "inputs are passed to forward() positionally: give them in forward()'s order");
    }
    stack_.reserve(names.size() + 1);
  }

  // Checks the --input and --output flags against the package's call spec
  // and decides which of its outputs each --output receives.
  void prepare_aoti(const Args& args) {
    std::vector<std::string> spec = aoti_->get_call_spec();  // {inputs, outputs}
    spec.resize(2);
    // A count of 0 means the spec is not in the format read here: the counts
    // are then left to the run (outputs) and to AOTInductor's checks (inputs).
    const std::size_t takes = call_spec::count_leaves(spec[0]);
    if (!args.named() && takes > 1)
      fail("model has " + std::to_string(takes) + " inputs",
           "give each as --input NAME=FILE, in the order of the exported forward()'s arguments");
    if (takes != 0 && takes != args.inputs.size())
      fail("model takes " + std::to_string(takes) + " inputs, " + std::to_string(args.inputs.size()) + " --input given",
           "inputs are passed positionally, in --input order");
    aoti_returns_ = call_spec::count_leaves(spec[1]);
    if (const auto keys = call_spec::flat_dict_keys(spec[1])) {
      aoti_output_ = invert(match_names(args.outputs, *keys, false, "the model's outputs (its dict keys)"));
    } else {
      if (aoti_returns_ != 0) check_positional_outputs(aoti_returns_, args.outputs);
      for (std::size_t k = 0; k < args.outputs.size(); ++k) aoti_output_.push_back(k);
    }
  }

  // Copies a TorchScript forward() result into outs_.
  void collect(const c10::IValue& result) {
    if (const auto y = as_tensor(result)) {
      check_positional_outputs(1, outputs_);
      return store(*y, outs_[0]);
    }
    if (result.isTuple() || result.isList()) {
      const auto items = result.isTuple() ? c10::ArrayRef<c10::IValue>(result.toTupleRef().elements())
                                          : result.toListRef();
      check_positional_outputs(items.size(), outputs_);
      for (std::size_t k = 0; k < items.size(); ++k) store(tensor_in(items[k], "a tuple/list"), outs_[k]);
      return;
    }
    if (result.isGenericDict()) return collect_dict(result.toGenericDict());
    fail("model returned " + result.tagKind() + " instead of a tensor",
         "torch_runner takes a tensor, a tuple/list of tensors or a dict of tensors from forward()");
  }

  // Dict outputs are matched by name, looked up without allocating.
  void collect_dict(const c10::Dict<c10::IValue, c10::IValue>& dict) {
    const bool plain = outputs_.size() == 1 && outputs_[0].name.empty();
    bool all_found = dict.size() == outputs_.size();
    for (std::size_t k = 0; all_found && k < outputs_.size(); ++k) {
      all_found = false;
      for (const auto& item : dict) {
        if (!item.key().isString()) break;
        if (plain || item.key().toStringRef() == outputs_[k].name) {
          store(tensor_in(item.value(), "a dict"), outs_[k]);
          all_found = true;
          break;
        }
      }
    }
    if (all_found) return;
    std::vector<std::string> keys;
    for (const auto& item : dict) {
      if (!item.key().isString())
        fail("model returned a dict with a " + item.key().tagKind() + " key", "torch_runner takes dicts keyed by str");
      keys.push_back(item.key().toStringRef());
    }
    match_names(outputs_, keys, false, "the model's outputs (its dict keys)");  // fails, naming the problem
    fail("model returned a dict that does not fit the --output flags", "this is a bug in torch_runner");
  }

  static at::Tensor tensor_in(const c10::IValue& v, const char* container) {
    if (!v.isTensor())
      fail(std::string("model returned ") + container + " holding " + v.tagKind() + " instead of tensors",
           "torch_runner takes a tensor, a tuple/list of tensors or a dict of tensors from forward()");
    return v.toTensor();
  }

  std::vector<NamedPath> outputs_;  // the --output flags
  std::streambuf* muted_cerr_ = nullptr;
  std::optional<torch::jit::Module> module_;
  torch::jit::Function* forward_ = nullptr;  // owned by module_'s compilation unit
  std::vector<c10::IValue> stack_;
  const std::unordered_map<std::string, c10::IValue> no_kwargs_;
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> aoti_;
  std::size_t aoti_returns_ = 0;       // outputs in the package's call spec
  std::vector<std::size_t> aoti_output_;  // per --output: its index in the package's outputs
  std::vector<at::Tensor> input_tensors_;  // per --input, reused
  std::vector<Array> outs_;  // per --output
};

}  // namespace

int main(int argc, char** argv) {
  const RunnerInfo info{"torch_runner", "torch",
                        "TorchScript module (.pt) or AOTInductor package (.pt2); always run on CPU",
                        {}};
  return run_main(argc, argv, info,
                  [](const Args& args, const std::vector<InputFile>& inputs) -> std::unique_ptr<Session> {
                    return std::make_unique<TorchSession>(args, inputs);
                  });
}
