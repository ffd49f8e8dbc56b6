// Command line shared by all runners:
//   <runner> --model PATH --input in.npy --output out.npy [--warmup N] [--runs M]
//            [--threads T] [--json stats.json] [runner-specific flags] [--help]
// Flags take their value as the next argument or after '=' (--runs=50).
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

struct Args {
  std::string model, input, output, json;
  int warmup = 5;
  int runs = 20;
  int threads = 1;
  std::map<std::string, std::string> extra;  // given extra flags; "" for switches

  bool has(const std::string& flag) const { return extra.count(flag) != 0; }
  std::string get(const std::string& flag) const {
    auto it = extra.find(flag);
    return it == extra.end() ? std::string{} : it->second;
  }
};

inline std::string usage(const RunnerInfo& info) {
  std::string u = "usage: " + info.program +
                  " --model PATH --input in.npy --output out.npy [--warmup N] [--runs M]"
                  " [--threads T] [--json stats.json]";
  for (const auto& f : info.extra_flags) u += " [" + f.name + (f.value_name.empty() ? "" : " " + f.value_name) + "]";
  std::vector<std::pair<std::string, std::string>> rows = {
      {"--model PATH", info.model_help},
      {"--input FILE", ".npy with N samples stacked on axis 0; each is run alone with batch 1"},
      {"--output FILE", ".npy the N outputs are stacked into (float32)"},
      {"--warmup N", "untimed runs after the first pass over the samples (default 5)"},
      {"--runs M", "timed runs, run k uses sample k % N (default 20, at least 1)"},
      {"--threads T", "CPU threads for the runtime (default 1)"},
      {"--json FILE", "write timing and memory statistics as JSON"}};
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
  const std::vector<std::string> common = {"--model", "--input", "--output", "--warmup",
                                           "--runs",  "--threads", "--json"};
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
    if (extra && extra->value_name.empty()) {
      if (value) throw UsageError(flag + " takes no value", "see --help");
      a.extra[flag] = "";
      continue;
    }
    if (!value) {
      if (i + 1 >= argc || std::string(argv[i + 1]).rfind("--", 0) == 0)
        throw UsageError(flag + " needs a value", "see --help");
      value = argv[++i];
    }
    if (value->empty()) throw UsageError(flag + " needs a non-empty value", "see --help");
    if (extra) a.extra[flag] = *value;
    else if (flag == "--model") a.model = *value;
    else if (flag == "--input") a.input = *value;
    else if (flag == "--output") a.output = *value;
    else if (flag == "--json") a.json = *value;
    else if (flag == "--warmup") a.warmup = cli_detail::parse_int(flag, *value, 0, 100000000);
    else if (flag == "--runs") a.runs = cli_detail::parse_int(flag, *value, 1, 100000000);
    else if (flag == "--threads") a.threads = cli_detail::parse_int(flag, *value, 1, 1024);
  }
  if (a.model.empty()) throw UsageError("missing --model", "see --help");
  if (a.input.empty()) throw UsageError("missing --input", "see --help");
  if (a.output.empty()) throw UsageError("missing --output", "see --help");
  return a;
}

}  // namespace ckpt2cpp
