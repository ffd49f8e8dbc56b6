// Command line shared by all runners:
//   <runner> --model PATH --input in.npy --output out.npy [--warmup N] [--runs M]
//            [--threads T] [--json stats.json] [runner-specific flags] [--help]
// or, for a model with several inputs/outputs, the named form: one
//   --input NAME=FILE per model input and one --output NAME=FILE per model output.
// Flags take their value as the next argument or after '=' (--runs=50).
// A value is NAME=FILE when it holds an '=' with no '/' before it (so
// /tmp/a=b.npy and dir/a=b.npy are plain paths; write ./a=b.npy for a file
// named a=b.npy in the current directory).
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace ckpt2cpp {

// A runner-specific flag; value_name empty means a switch without a value.
struct ExtraFlag {
  std::string name;  // "--sidecar"
  std::string value_name;
  std::string help;
};

struct RunnerInfo {
  std::string program;     // "tf_runner"
  std::string runtime;     // "tensorflow": the "runtime" field of the stats JSON
  std::string model_help;  // what --model accepts
  std::vector<ExtraFlag> extra_flags;
};

// One --input or --output: NAME=FILE, or FILE alone (name empty: the
// model's only input/output).
struct NamedPath {
  std::string name;
  std::string path;
};

// Splits a flag value into NAME and FILE (see the top of this file).
inline NamedPath split_named(const std::string& flag, const std::string& value) {
  const auto eq = value.find('=');
  if (eq == std::string::npos || value.find('/') < eq) return {"", value};
  if (eq == 0) throw UsageError(flag + " '" + value + "' has an empty NAME", "write NAME=FILE, or ./FILE for a path");
  if (eq + 1 == value.size()) throw UsageError(flag + " '" + value + "' has an empty FILE", "write NAME=FILE");
  return {value.substr(0, eq), value.substr(eq + 1)};
}

struct Args {
  std::string model, json, profile;
  std::vector<NamedPath> inputs, outputs;  // in command-line order
  int warmup = 5;
  int runs = 20;
  int rounds = 1;
  bool interleaved = false;
  int threads = 1;
  // Given extra flags, every value in command-line order; {""} for switches.
  std::map<std::string, std::vector<std::string>> extra;

  // The named form (--input NAME=FILE ...) rather than --input FILE --output FILE.
  bool named() const { return !inputs.empty() && !inputs[0].name.empty(); }
  bool has(const std::string& flag) const { return extra.count(flag) != 0; }
  // The flag's last value, "" if absent.
  std::string get(const std::string& flag) const {
    auto it = extra.find(flag);
    return it == extra.end() ? std::string{} : it->second.back();
  }
  // Every value of a repeatable flag, in order.
  std::vector<std::string> get_all(const std::string& flag) const {
    auto it = extra.find(flag);
    return it == extra.end() ? std::vector<std::string>{} : it->second;
  }
};

inline std::string usage(const RunnerInfo& info) {
  std::string u = "usage: " + info.program +
                  " --model PATH --input [NAME=]in.npy --output [NAME=]out.npy [--warmup N] [--runs M]"
                  " [--rounds R] [--interleaved] [--threads T] [--json stats.json] [--profile ops.json]";
  for (const auto& f : info.extra_flags) u += " [" + f.name + (f.value_name.empty() ? "" : " " + f.value_name) + "]";
  std::vector<std::pair<std::string, std::string>> rows = {
      {"--model PATH", info.model_help},
      {"--input FILE", ".npy with N samples stacked on axis 0; each is run alone with batch 1"},
      {"--input NAME=FILE", "the same for the model input NAME; repeat once per input (all with the same N)"},
      {"--output FILE", ".npy the N outputs are stacked into (float32, or int32/int64 for integer outputs)"},
      {"--output NAME=FILE", "the same for the model output NAME; repeat once per output"},
      {"--warmup N", "untimed runs after the first pass over the samples (default 5)"},
      {"--runs M", "timed runs per round, run k uses sample k % N (default 20, at least 1)"},
      {"--rounds R", "rounds of --runs timed runs; p50_ms is the median of the rounds' p50s (default 1)"},
      {"--interleaved", "print 'ready' before the first round, wait for a line on stdin before each round, "
                        "print 'round K p50 MS' after it, and wait for a line or EOF after the last one "
                        "before profiling and writing (how the evaluation takes turns between runners)"},
      {"--threads T", "CPU threads for the runtime (default 1)"},
      {"--json FILE", "write timing and memory statistics as JSON"},
      {"--profile FILE", "after the timed runs, profile --runs more per op and write the times as JSON (litert_runner)"}};
  for (const auto& f : info.extra_flags)
    rows.emplace_back(f.name + (f.value_name.empty() ? "" : " " + f.value_name), f.help);
  rows.emplace_back("--help", "print this help");
  std::size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.first.size());
  u += "\n\n";
  for (const auto& [left, help] : rows) u += "  " + left + std::string(width + 2 - left.size(), ' ') + help + "\n";
  u += "\nExit codes: 0 ok, 1 error (model, input, runtime), 2 usage error.\n";
  return u;
}

namespace cli_detail {

// Checks that --input/--output use one form: FILE once each, or NAME=FILE
// with distinct names.
inline void check_forms(const Args& a) {
  auto named = [](const NamedPath& p) { return !p.name.empty(); };
  const bool any_named = std::any_of(a.inputs.begin(), a.inputs.end(), named) ||
                         std::any_of(a.outputs.begin(), a.outputs.end(), named);
  const bool any_plain = !std::all_of(a.inputs.begin(), a.inputs.end(), named) ||
                         !std::all_of(a.outputs.begin(), a.outputs.end(), named);
  if (any_named && any_plain)
    throw UsageError("--input/--output mix FILE and NAME=FILE",
                     "use --input FILE --output FILE for a one-input, one-output model, NAME=FILE for every "
                     "--input and --output otherwise");
  for (const auto* list : {&a.inputs, &a.outputs}) {
    const std::string flag = list == &a.inputs ? "--input" : "--output";
    if (!any_named && list->size() > 1)
      throw UsageError(flag + " given " + std::to_string(list->size()) + " times without NAME=",
                       "for a model with several inputs/outputs give each as " + flag + " NAME=FILE");
    for (std::size_t i = 0; any_named && i < list->size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if ((*list)[i].name == (*list)[j].name)
          throw UsageError(flag + " " + (*list)[i].name + "=... given twice", "give each name once");
  }
}

inline int parse_int(const std::string& flag, const std::string& text, int min, int max) {
  int v = 0;
  const auto res = std::from_chars(text.data(), text.data() + text.size(), v);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size() || v < min || v > max)
    throw UsageError(flag + " expects an integer in [" + std::to_string(min) + ", " +
                         std::to_string(max) + "], got '" + text + "'",
                     "see --help");
  return v;
}

}  // namespace cli_detail

// Returns std::nullopt when --help was given (usage already printed to stdout).
// Throws UsageError on any problem.
inline std::optional<Args> parse_args(int argc, char** argv, const RunnerInfo& info) {
  Args a;
  const std::vector<std::string> common = {"--model",  "--input",       "--output",  "--warmup", "--runs",
                                           "--rounds", "--interleaved", "--threads", "--json",   "--profile"};
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::optional<std::string> value;
    if (flag == "--help" || flag == "-h") {
      std::fputs(usage(info).c_str(), stdout);
      return std::nullopt;
    }
    if (flag.rfind("--", 0) != 0)
      throw UsageError("unexpected argument '" + flag + "'", "flags start with --; see --help");
    if (const auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    const ExtraFlag* extra = nullptr;
    for (const auto& f : info.extra_flags)
      if (f.name == flag) extra = &f;
    const bool known = extra || std::find(common.begin(), common.end(), flag) != common.end();
    if (!known) throw UsageError("unknown flag '" + flag + "'", "see --help");
    if ((extra && extra->value_name.empty()) || flag == "--interleaved") {
      if (value) throw UsageError(flag + " takes no value", "see --help");
      if (extra) a.extra[flag].push_back("");
      else a.interleaved = true;
      continue;
    }
    if (!value) {
      if (i + 1 >= argc || std::string(argv[i + 1]).rfind("--", 0) == 0)
        throw UsageError(flag + " needs a value", "see --help");
      value = argv[++i];
    }
    if (value->empty()) throw UsageError(flag + " needs a non-empty value", "see --help");
    if (extra) a.extra[flag].push_back(*value);
    else if (flag == "--model") a.model = *value;
    else if (flag == "--input") a.inputs.push_back(split_named(flag, *value));
    else if (flag == "--output") a.outputs.push_back(split_named(flag, *value));
    else if (flag == "--json") a.json = *value;
    else if (flag == "--profile") a.profile = *value;
    else if (flag == "--warmup") a.warmup = cli_detail::parse_int(flag, *value, 0, 100000000);
    else if (flag == "--runs") a.runs = cli_detail::parse_int(flag, *value, 1, 100000000);
    else if (flag == "--rounds") a.rounds = cli_detail::parse_int(flag, *value, 1, 100000);
    else if (flag == "--threads") a.threads = cli_detail::parse_int(flag, *value, 1, 1024);
  }
  if (a.model.empty()) throw UsageError("missing --model", "see --help");
  if (a.inputs.empty()) throw UsageError("missing --input", "see --help");
  if (a.outputs.empty()) throw UsageError("missing --output", "see --help");
  cli_detail::check_forms(a);
  return a;
}

}  // namespace ckpt2cpp
