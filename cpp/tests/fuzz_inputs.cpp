// fuzz_inputs: a deterministic mutation fuzzer for what the C++ side reads from users: .npy
// files (common/npy.h), model.json sidecars (lib/json.h), runner command lines (common/cli.h)
// and .tflite models (ckpt2cpp::Model::load on LiteRT). Built with the sanitizers
// (-DCKPT2CPP_SANITIZE=ON), a crash, a sanitizer report or an allocation a file only claims
// ends the campaign; every rejection must be a ckpt2cpp error whose message is one line.
//
//   fuzz_inputs SEED_DIR CASES [SEED]
//
// SEED_DIR holds the seeds (tests/test_cpp_sanitizers.py writes them): *.npy, *.json, *.tflite,
// and *.args (one runner command line per file, one argument per line). Model loading runs in a
// child process per case (at most kLoadSeconds; its stderr kept for the sanitizer's report):
// LiteRT's own loader does not verify the flatbuffer, and a crash or hang inside it is reported
// apart, as the runtime's finding, with the first files kept; the exit code is 1 only for
// findings in our code.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "ckpt2cpp/model.h"
#include "common/cli.h"
#include "common/npy.h"
#include "lib/json.h"

namespace {

namespace fs = std::filesystem;
using ckpt2cpp::UsageError;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// One to eight mutations of `input`: bit flips, bytes set to boundary values, digits replaced by
// huge numbers, chunks inserted, deleted or repeated, or a truncation.
std::string mutate(std::string input, std::mt19937_64& rng) {
  auto pick = [&rng](std::size_t n) { return n == 0 ? std::size_t{0} : static_cast<std::size_t>(rng() % n); };
  const char boundary[] = {0, '\x7f', '\x80', '\xff', '\n', '(', ')', ',', '\'', '"', '-', ':', '[', ']', '{', '}'};
  const char* huge[] = {"99999999999999999999", "4294967296", "-1", "1e308", "0", "1099511627777"};
  const int count = 1 + static_cast<int>(rng() % 8);
  for (int k = 0; k < count; ++k) {
    const std::size_t at = pick(input.size() + 1);
    switch (rng() % 7) {
      case 0:
        if (!input.empty()) input[pick(input.size())] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:
        if (!input.empty()) input[pick(input.size())] = boundary[pick(sizeof boundary)];
        break;
      case 2: {  // a number replaced by an extreme one
        std::size_t d = input.find_first_of("0123456789", at);
        if (d == std::string::npos) break;
        std::size_t e = d;
        while (e < input.size() && std::isdigit(static_cast<unsigned char>(input[e]))) ++e;
        input.replace(d, e - d, huge[pick(sizeof huge / sizeof *huge)]);
        break;
      }
      case 3: input.insert(at, std::string(1 + pick(16), static_cast<char>(rng()))); break;
      case 4: input.erase(at, pick(32)); break;
      case 5:
        if (!input.empty()) input.insert(at, input.substr(pick(input.size()), 1 + pick(64)));
        break;
      default: input.resize(pick(input.size() + 1)); break;
    }
  }
  return input;
}

struct Tally {
  std::size_t cases = 0, accepted = 0, rejected = 0;
};

struct Campaign {
  std::map<std::string, Tally> tallies;
  std::vector<std::string> findings;          // in our code
  std::vector<std::string> runtime_findings;  // inside LiteRT's loader

  // Runs `body`: accepted when it returns, rejected when it throws a ckpt2cpp error with a
  // one-line message; anything else is a finding.
  template <class Body>
  void attempt(const std::string& target, std::size_t index, Body&& body) {
    Tally& t = tallies[target];
    ++t.cases;
    try {
      body();
      ++t.accepted;
      return;
    } catch (const ckpt2cpp::Error& e) {
      judge(target, index, e.what(), t);
    } catch (const UsageError& e) {
      judge(target, index, e.what(), t);
    } catch (const std::exception& e) {
      findings.push_back(target + " case " + std::to_string(index) + ": unexpected " + e.what());
    }
  }

  // A rejection: counted when its message is one line, else a finding.
  void judge(const std::string& target, std::size_t index, const std::string& message, Tally& t) {
    if (!message.empty() && message.find('\n') == std::string::npos) {
      ++t.rejected;
      return;
    }
    findings.push_back(target + " case " + std::to_string(index) + ": a message spanning lines: " + message);
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(text.substr(start, end - start));
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

// One mutated command line: the seed's arguments, each mutated now and then, some dropped or
// repeated.
std::vector<std::string> mutate_args(const std::vector<std::string>& seed, std::mt19937_64& rng) {
  std::vector<std::string> args;
  for (const auto& a : seed) {
    const auto roll = rng() % 10;
    if (roll == 0) continue;
    args.push_back(roll < 4 ? mutate(a, rng) : a);
    if (roll == 9) args.push_back(a);
  }
  return args;
}

constexpr unsigned kLoadSeconds = 2;

// Whether the sanitizer report in `log` (a child's stderr) starts in LiteRT's library: its
// first stack frame outside the sanitizer's own runtime (an intercepted memcpy, say).
bool reported_in_litert(const std::string& log) {
  for (const auto& line : lines_of(log)) {
    const auto at = line.find_first_not_of(' ');
    if (at == std::string::npos || line[at] != '#' || line.find("libasan") != std::string::npos ||
        line.find("libubsan") != std::string::npos)
      continue;
    return line.find("libLiteRt.so") != std::string::npos;
  }
  return false;
}

// Loads `file` in a child process (its stderr in `log`) and counts the outcome in `t`: "" when
// it loaded or was refused with one line, else what went wrong; "LiteRT's loader" in the text
// when it went wrong inside LiteRT.
std::string load_in_child(const fs::path& file, const fs::path& log, Tally& t) {
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(kLoadSeconds);  // a loader that hangs is killed by SIGALRM
    const int err = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err >= 0) dup2(err, STDERR_FILENO);
    try {
      ckpt2cpp::Model::load(file.string());
      _exit(0);
    } catch (const ckpt2cpp::Error& e) {
      _exit(std::string(e.what()).find('\n') == std::string::npos ? 5 : 3);
    } catch (...) {
      _exit(4);
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ++t.cases;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
    return "LiteRT's loader hung (over " + std::to_string(kLoadSeconds) + " s)";
  if (WIFSIGNALED(status)) return "killed by " + std::string(strsignal(WTERMSIG(status))) + " in LiteRT's loader";
  if (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 5) {
    ++(WEXITSTATUS(status) == 0 ? t.accepted : t.rejected);
    return "";
  }
  if (WEXITSTATUS(status) == 3) return "a message spanning lines";
  // a sanitizer report (a sanitizer exits with 1): in LiteRT's code or in ours
  const std::string report = read_bytes(log);
  if (reported_in_litert(report)) return "a crash in LiteRT's loader (sanitizer report, exit 1)";
  return "exit " + std::to_string(WEXITSTATUS(status)) + ": " + report.substr(0, 2000);
}

// This process's peak resident memory (VmHWM; getrusage would carry over a parent's peak).
double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s SEED_DIR CASES [SEED]\n", argv[0]);
    return 2;
  }
  const fs::path seeds(argv[1]);
  const long total = std::atol(argv[2]);
  std::mt19937_64 rng(argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1);
  std::map<std::string, std::vector<std::string>> corpus;  // extension -> seed contents
  for (const auto& entry : fs::directory_iterator(seeds))
    corpus[entry.path().extension().string()].push_back(read_bytes(entry.path()));
  const char* targets[] = {".npy", ".json", ".args", ".tflite"};
  for (const char* t : targets)
    if (corpus[t].empty()) {
      std::fprintf(stderr, "no %s seed in %s\n", t, seeds.c_str());
      return 2;
    }
  const fs::path scratch = fs::temp_directory_path() / ("ckpt2cpp-fuzz-" + std::to_string(getpid()));
  fs::create_directories(scratch);
  const ckpt2cpp::RunnerInfo info{"fuzz_runner", "fuzz", "a model", {{"--raw-output", "", "a switch"}}};

  Campaign campaign;
  for (long i = 0; i < total; ++i) {
    const std::size_t index = static_cast<std::size_t>(i);
    // one case in 25 loads a model (in a child process: slower), the rest parse
    const char* target = i % 25 == 24 ? ".tflite" : targets[i % 3];
    const auto& pool = corpus[target];
    const std::string& seed = pool[rng() % pool.size()];
    if (std::string(target) == ".npy") {
      const fs::path file = scratch / "case.npy";
      write_bytes(file, mutate(seed, rng));
      campaign.attempt("npy", index, [&] { ckpt2cpp::read_npy(file.string()); });
    } else if (std::string(target) == ".json") {
      const std::string text = mutate(seed, rng);
      campaign.attempt("json", index, [&] { ckpt2cpp::parse_json(text, "model.json"); });
    } else if (std::string(target) == ".args") {
      std::vector<std::string> args = mutate_args(lines_of(seed), rng);
      args.insert(args.begin(), "fuzz_runner");
      std::vector<char*> pointers;
      for (auto& a : args) pointers.push_back(a.data());
      pointers.push_back(nullptr);
      campaign.attempt("cli", index, [&] {
        ckpt2cpp::parse_args(static_cast<int>(args.size()), pointers.data(), info);
      });
    } else {
      const fs::path file = scratch / "case.tflite";
      write_bytes(file, mutate(seed, rng));
      const std::string problem = load_in_child(file, scratch / "case.log", campaign.tallies["model"]);
      if (problem.empty()) continue;
      const bool in_runtime = problem.find("LiteRT's loader") != std::string::npos;
      auto& list = in_runtime ? campaign.runtime_findings : campaign.findings;
      std::string line = "model case " + std::to_string(index) + ": " + problem;
      if (list.size() < 10) {  // the first ten files are kept to reproduce with
        const fs::path kept = scratch.parent_path() / ("ckpt2cpp-fuzz-model-" + std::to_string(index) + ".tflite");
        fs::copy_file(file, kept, fs::copy_options::overwrite_existing);
        line += " (kept as " + kept.string() + ")";
      }
      list.push_back(line);
    }
  }
  fs::remove_all(scratch);

  const double peak_mb = peak_rss_mb();
  for (const auto& [target, t] : campaign.tallies)
    std::printf("%s: %zu cases, %zu accepted, %zu rejected in one line\n", target.c_str(), t.cases, t.accepted,
                t.rejected);
  std::printf("%zu findings in our code, %zu in LiteRT's loader; peak RSS %.0f MB\n", campaign.findings.size(),
              campaign.runtime_findings.size(), peak_mb);
  for (const auto& f : campaign.findings) std::printf("FINDING: %s\n", f.c_str());
  for (const auto& f : campaign.runtime_findings) std::printf("RUNTIME FINDING: %s\n", f.c_str());
  return campaign.findings.empty() ? 0 : 1;
}
