// Matching the --input/--output files (cli.h NamedPath) to a model's named
// inputs or outputs.
//   - one file without NAME= (the one-input form): the model must have exactly
//     one such tensor;
//   - NAME=FILE: every name must be one of the model's, and every model tensor
//     must be given (inputs) or requested (outputs).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/cli.h"
#include "common/error.h"

namespace ckpt2cpp {

// "x, ids"
inline std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// For each of the model's tensors `model_names` (model order), the index of
// the file in `files` that feeds (inputs) or receives (outputs) it. `listed`
// says where the names come from, for the hints ("the model's inputs").
inline std::vector<std::size_t> match_names(const std::vector<NamedPath>& files,
                                            const std::vector<std::string>& model_names, bool is_input,
                                            const std::string& listed) {
  const std::string kind = is_input ? "input" : "output";
  const std::string flag = is_input ? "--input" : "--output";
  if (files.size() == 1 && files[0].name.empty()) {
    if (model_names.size() != 1)
      fail("model has " + std::to_string(model_names.size()) + " " + kind + "s" +
               (model_names.empty() ? "" : ": " + join_names(model_names)),
           "give each as " + flag + " NAME=FILE");
    return {0};
  }
  std::vector<std::size_t> file_of(model_names.size(), files.size());
  for (std::size_t k = 0; k < files.size(); ++k) {
    std::size_t m = 0;
    while (m < model_names.size() && model_names[m] != files[k].name) ++m;
    if (m == model_names.size())
      fail("unknown " + kind + " name '" + files[k].name + "' in " + flag + " " + files[k].name + "=" + files[k].path,
           listed + ": " + join_names(model_names));
    file_of[m] = k;
  }
  std::vector<std::string> missing;
  for (std::size_t m = 0; m < model_names.size(); ++m)
    if (file_of[m] == files.size()) missing.push_back("'" + model_names[m] + "'");
  if (!missing.empty())
    fail("model " + kind + (missing.size() > 1 ? "s " : " ") + join_names(missing) + " not " +
             (is_input ? "given" : "requested"),
         "give every " + kind + " as " + flag + " NAME=FILE; " + listed + ": " + join_names(model_names));
  return file_of;
}

// The inverse of a match_names() result: for each file, its model index.
inline std::vector<std::size_t> invert(const std::vector<std::size_t>& file_of) {
  std::vector<std::size_t> model_of(file_of.size());
  for (std::size_t m = 0; m < file_of.size(); ++m) model_of[file_of[m]] = m;
  return model_of;
}

// How an --input/--output is named in messages: "input 'x'", or "input" in
// the one-input form.
inline std::string io_label(const NamedPath& p, bool is_input) {
  const std::string kind = is_input ? "input" : "output";
  return p.name.empty() ? kind : kind + " '" + p.name + "'";
}

}  // namespace ckpt2cpp
