// lib/sidecar.h: model.json's "inputs" and "outputs" lists, checked entry by entry.
#include "lib/sidecar.h"

#include <filesystem>

#include "common/error.h"

namespace ckpt2cpp {

namespace {

const char* const kReexport = "export the model again with the pipeline";

std::vector<SidecarTensor> tensors_in(const Json& sidecar, const std::string& key, const std::string& source) {
  const Json* list = sidecar.find(key);
  if (!list || list->kind != Json::Kind::Array || list->items.empty())
    fail(source + " has no '" + key + "' list", kReexport);
  std::vector<SidecarTensor> found;
  for (const Json& entry : list->items) {
    const Json* name = entry.find("name");
    const Json* dtype = entry.find("dtype");
    const Json* shape = entry.find("shape");
    if (!name || name->kind != Json::Kind::String || !dtype || dtype->kind != Json::Kind::String || !shape ||
        shape->kind != Json::Kind::Array)
      fail(source + ": each of '" + key + "' needs a name, a dtype and a shape", kReexport);
    SidecarTensor t{name->string, dtype->string, {}, ""};
    for (const Json& d : shape->items) {
      const bool size = d.kind == Json::Kind::Number && d.number >= -1 && d.number <= 1e9 &&
                        d.number == static_cast<double>(static_cast<std::int64_t>(d.number));
      if (!size) fail(source + ": the shape of '" + t.name + "' holds something other than sizes or -1", kReexport);
      t.shape.push_back(static_cast<std::int64_t>(d.number));
    }
    if (const Json* node = entry.find("node"); node && node->kind == Json::Kind::String) t.node = node->string;
    found.push_back(std::move(t));
  }
  return found;
}

}  // namespace

Sidecar read_sidecar(const std::string& model, const std::string& why) {
  namespace fs = std::filesystem;
  fs::path file = fs::path(model).lexically_normal();
  if (file.filename().empty()) file = file.parent_path();  // "dir/" names the directory
  Sidecar sidecar;
  sidecar.path = (file.parent_path() / "model.json").string();
  std::error_code ec;
  if (!fs::is_regular_file(sidecar.path, ec))
    fail("model.json not found beside " + model + ": " + why, "load the model folder the pipeline wrote, model.json included");
  const Json content = read_json_file(sidecar.path);
  sidecar.inputs = tensors_in(content, "inputs", sidecar.path);
  sidecar.outputs = tensors_in(content, "outputs", sidecar.path);
  return sidecar;
}

}  // namespace ckpt2cpp
