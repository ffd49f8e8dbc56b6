// main() shared by all runners: parses the command line, reads the inputs,
// loads the model through the runner's Loader, runs the protocol
// (protocol.h), writes the output .npy files and the stats JSON, and turns every
// failure into one stderr line "error: <what> (<hint>)" with exit code 2
// (usage) or 1 (anything else).
#pragma once

#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ckpt2cpp/model.h"  // OpTime
#include "ckpt2cpp/tensor.h"
#include "common/cli.h"
#include "common/crash.h"
#include "common/error.h"
#include "common/io_names.h"
#include "common/json_writer.h"
#include "common/npy.h"
#include "common/protocol.h"
#include "common/rss.h"
#include "common/stats.h"

namespace ckpt2cpp {

// One --input: its name ("" in the one-input form), file and contents ([N, ...]).
struct InputFile {
  std::string name;
  std::string path;
  Array array;
};

// One loaded model.
class Session {
 public:
  virtual ~Session() = default;
  // Per-op times over `runs` more inferences (run k uses sample k % N), after the timed
  // rounds. Only sessions whose profiler() names one are asked.
  virtual std::vector<OpTime> profile(const std::vector<InputFile>& /*inputs*/, int /*runs*/) { return {}; }
  // Which profiler profile() uses ("": --profile is refused).
  virtual std::string profiler() const { return ""; }
  // Copies sample i of every input into the runtime, runs the model and
  // copies the outputs, one per --output in command-line order, into host
  // arrays owned by the session (valid until the next call).
  virtual const std::vector<Array>& infer(const std::vector<InputFile>& inputs, std::size_t i) = 0;
  // Whether --threads could be applied to the runtime (stats "threads_applied").
  virtual bool threads_applied() const { return true; }
};

// Loads the model named by args.model and checks that `inputs` (one per
// --input, in command-line order) fit it.
using Loader = std::function<std::unique_ptr<Session>(const Args& args, const std::vector<InputFile>& inputs)>;

// "input shape [1, 4, 3] float32" in the one-input form, "input 'x' shape
// [1, 4, 3] float32, input 'ids' shape [1, 4] int32" otherwise: what one
// inference is fed, for messages.
inline std::string describe_inputs(const std::vector<InputFile>& inputs) {
  std::string s;
  for (const auto& in : inputs)
    s += (s.empty() ? "" : ", ") + io_label({in.name, in.path}, true) + " shape " +
         shape_str(in.array.batch1_shape()) + " " + dtype_name(in.array.dtype);
  return s;
}

namespace main_detail {

inline void check_parent_dir(const std::string& path, const std::string& flag) {
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !std::filesystem::is_directory(parent, ec))
    fail("directory " + parent.string() + " of " + flag + " does not exist", "create it first");
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) fail("cannot write " + path, "check that its directory is writable");
}

// Reads every --input; each must be [N, ...] with the same N >= 1.
inline std::vector<InputFile> read_inputs(const Args& args) {
  std::vector<InputFile> inputs;
  for (const auto& [name, path] : args.inputs) {
    InputFile in{name, path, read_npy(path, "--input")};
    if (in.array.shape.empty() || in.array.samples() == 0)
      fail(path + " has shape " + shape_str(in.array.shape) + ", expected [N, ...] with N >= 1",
           "stack the samples on axis 0, e.g. x[None] for a single sample");
    if (!inputs.empty() && in.array.samples() != inputs[0].array.samples())
      fail("inputs have different sample counts: " + inputs[0].path + " has N=" +
               std::to_string(inputs[0].array.samples()) + ", " + path + " has N=" + std::to_string(in.array.samples()),
           "sample i of every input is one inference, so every --input .npy needs the same N on axis 0");
    inputs.push_back(std::move(in));
  }
  return inputs;
}

// The --profile file: {"runtime", "profiler", "runs", "ops": [{"name", "kind", "ms"}, ...]},
// the ops in the order the runtime reported them.
inline void write_profile(const Args& args, const RunnerInfo& info, const std::string& profiler,
                          const std::vector<OpTime>& ops) {
  std::string list;
  for (const auto& op : ops)
    list += std::string(list.empty() ? "" : ",") + "\n    {\"name\": " + json_quote(op.name) +
            ", \"kind\": " + json_quote(op.kind) + ", \"ms\": " + json_number(op.ms) + "}";
  JsonObjectWriter j;
  j.add("runtime", info.runtime).add("profiler", profiler).add("runs", args.runs).raw("ops", "[" + list + "\n  ]");
  write_text(args.profile, j.str());
}

// --interleaved: take turns with other runners. Say "ready" once loaded and warm, wait for
// a line on stdin before each round, and report each round's p50 on stdout; after the last
// round, wait again (a line or EOF) before profiling and writing the outputs.
inline RoundHooks round_hooks(bool interleaved) {
  if (!interleaved) return {};
  RoundHooks hooks;
  hooks.before = [](int round) {
    if (round == 0) {
      std::fputs("ready\n", stdout);
      std::fflush(stdout);
    }
    char line[64];
    if (!std::fgets(line, sizeof line, stdin))
      fail("stdin closed before round " + std::to_string(round + 1),
           "--interleaved waits for a line on stdin before each round; leave it out to run on your own");
  };
  hooks.after = [](int round, double p50_ms) {
    std::printf("round %d p50 %.6f\n", round + 1, p50_ms);
    std::fflush(stdout);
  };
  return hooks;
}

inline int run(int argc, char** argv, const RunnerInfo& info, const Loader& load) {
  const auto parsed = parse_args(argc, argv, info);
  if (!parsed) return 0;
  const Args& args = *parsed;
  for (const auto& out : args.outputs) check_parent_dir(out.path, "--output");
  if (!args.json.empty()) check_parent_dir(args.json, "--json");
  if (!args.profile.empty()) check_parent_dir(args.profile, "--profile");

  const std::vector<InputFile> inputs = read_inputs(args);
  const std::size_t samples = inputs[0].array.samples();

  const auto t0 = Clock::now();
  std::unique_ptr<Session> session = load(args, inputs);
  const double load_ms = ms_between(t0, Clock::now());
  if (!args.profile.empty() && session->profiler().empty())
    fail("--profile is not supported by this runner",
         "profile TensorFlow and PyTorch artifacts with python -m pipelines.run --profile");

  std::vector<std::string> labels;
  for (const auto& out : args.outputs) labels.push_back("model " + io_label(out, false));
  const ProtocolResult r =
      run_protocol(samples, labels, args.warmup, args.runs, args.rounds, round_hooks(args.interleaved),
                   [&](std::size_t i) -> const std::vector<Array>& { return session->infer(inputs, i); });
  if (args.interleaved) {  // the others may still be timing: go on only when told (a line, or EOF)
    char line[64];
    if (!std::fgets(line, sizeof line, stdin)) clearerr(stdin);
  }
  const double peak_rss = peak_rss_mb();  // before profiling, whose event buffers are not the model's
  std::string written;
  for (std::size_t k = 0; k < args.outputs.size(); ++k) {
    const NamedPath& out = args.outputs[k];
    write_npy(out.path, r.outputs[k]);
    written += (k ? ", " : "") + (out.name.empty() ? "" : out.name + "=") + out.path + " " +
               shape_str(r.outputs[k].shape);
  }

  LatencyStats s = summarize(r.times_ms);
  s.p50_ms = percentile(r.round_p50_ms, 50);  // the median round: one slow round does not move it
  if (!args.json.empty()) {
    JsonObjectWriter j;
    j.add("runtime", info.runtime)
        .add("model", args.model)
        .add("samples", static_cast<std::int64_t>(samples))
        .add("load_ms", load_ms)
        .add("first_run_ms", r.first_run_ms)
        .add("warmup", args.warmup)
        .add("runs", args.runs)
        .add("rounds", args.rounds)
        .add("round_p50_ms", r.round_p50_ms)
        .add("threads", args.threads)
        .add("threads_applied", session->threads_applied())
        .add("min_ms", s.min_ms)
        .add("mean_ms", s.mean_ms)
        .add("std_ms", s.std_ms)
        .add("p50_ms", s.p50_ms)
        .add("p90_ms", s.p90_ms)
        .add("p99_ms", s.p99_ms)
        .add("max_ms", s.max_ms)
        .add("peak_rss_mb", peak_rss);
    write_text(args.json, j.str());
  }
  if (!args.profile.empty()) {  // a diagnosis: if it fails, the run's results still stand
    try {
      write_profile(args, info, session->profiler(), session->profile(inputs, args.runs));
    } catch (const RunError& e) {
      dprintf(g_error_fd, "warning: no --profile written: %s\n", e.what());
    }
  }
  std::printf("%s: %zu samples -> %s; load %.1f ms, first %.2f ms, p50 %.3f ms over %d runs\n", info.program.c_str(),
              samples, written.c_str(), load_ms, r.first_run_ms, s.p50_ms, args.runs);
  return 0;
}

}  // namespace main_detail

// glibc serves allocations above its mmap threshold with fresh mmap()s and gives them back
// with munmap() on free, so a runtime that allocates its large buffers per inference (oneDNN's
// int8 convolutions in libtorch do) page-faults them in again on every run. A Python process
// hides this: glibc raises the threshold after the first such frees, which the interpreter's
// start-up has long done. Keep freed memory for reuse instead (torch_runner, aoti_int8 sr at
// 64x64: p50 5.0 -> 3.6 ms, the Python runtime's time).
inline void keep_freed_memory() {
  constexpr int kOneGiB = 1 << 30;
  mallopt(M_MMAP_THRESHOLD, kOneGiB);
  mallopt(M_TRIM_THRESHOLD, kOneGiB);
}

inline int run_main(int argc, char** argv, const RunnerInfo& info, const Loader& load) {
  install_crash_handler(info.program);
  keep_freed_memory();
  try {
    return main_detail::run(argc, argv, info, load);
  } catch (const UsageError& e) {
    dprintf(g_error_fd, "error: %s\n", e.what());
    return 2;
  } catch (const RunError& e) {
    dprintf(g_error_fd, "error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    dprintf(g_error_fd, "error: out of memory (use a smaller input or model)\n");
    return 1;
  } catch (const std::exception& e) {
    dprintf(g_error_fd, "error: %s (unexpected %s failure)\n", first_line(e.what()).c_str(),
            info.runtime.c_str());
    return 1;
  } catch (...) {
    dprintf(g_error_fd, "error: unknown exception (unexpected %s failure)\n", info.runtime.c_str());
    return 1;
  }
}

}  // namespace ckpt2cpp
