// The run/warm-up/timing protocol shared by all runners (and by the Python
// runners, which implement the same steps):
//   1. one pass over the N input samples in order, each fed alone with batch 1
//      (sample i of every input together is one inference); the first call
//      (sample 0) is timed as first_run_ms; each output's [1, o1, ...] arrays
//      are stacked into an [N, o1, ...] array;
//   2. `warmup` untimed runs, run k (k = 0, 1, ...) using sample k % N;
//   3. `rounds` rounds of `runs` timed runs, run k (k = 0, 1, ...) of a round
//      using sample k % N; `between.before(r)` is called before round r and
//      `between.after(r, p50)` after it, outside the timed intervals (the
//      interleaved mode of runner_main.h waits there for its turn).
// Each timed interval covers exactly one call of `infer`, which the runners
// define as: copy the sample of every input into the runtime's input memory,
// run the model, copy (and convert/dequantize) every output into a host array
// allocated before the timed runs.
#pragma once

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "ckpt2cpp/tensor.h"
#include "common/error.h"
#include "common/stats.h"

namespace ckpt2cpp {

struct ProtocolResult {
  std::vector<Array> outputs;  // one per --output, each [N, o1, ...]
  double first_run_ms = 0;
  std::vector<double> times_ms;      // one per timed run, all rounds
  std::vector<double> round_p50_ms;  // one per round
};

// What runs between rounds; the default does nothing.
struct RoundHooks {
  std::function<void(int round)> before = [](int) {};
  std::function<void(int round, double p50_ms)> after = [](int, double) {};
};

// `infer(i)` runs sample i (of every input) and returns a reference to the
// outputs ([1, o1, ...] each, in --output order), valid until the next call.
// `labels` name the outputs in messages ("model output", "model output 'y'").
template <class Infer>
ProtocolResult run_protocol(std::size_t num_samples, const std::vector<std::string>& labels, int warmup, int runs,
                            int rounds, const RoundHooks& between, Infer&& infer) {
  ProtocolResult r;
  r.outputs.resize(labels.size());
  for (std::size_t i = 0; i < num_samples; ++i) {
    const auto t0 = Clock::now();
    const std::vector<Array>& outs = infer(i);
    const auto t1 = Clock::now();
    if (i == 0) r.first_run_ms = ms_between(t0, t1);
    for (std::size_t k = 0; k < labels.size(); ++k) {
      const Array& out = outs[k];
      Array& stacked = r.outputs[k];
      if (i == 0) {
        if (out.shape.empty() || out.shape[0] != 1)
          fail(labels[k] + " has shape " + shape_str(out.shape) + ", expected a batch axis of 1",
               "the runners expect outputs shaped [1, ...] for batch-1 inputs");
        stacked.dtype = out.dtype;
        stacked.shape = out.shape;
        stacked.shape[0] = static_cast<std::int64_t>(num_samples);
        stacked.data.resize(out.data.size() * num_samples);
      } else if (out.shape != stacked.batch1_shape() || out.dtype != stacked.dtype) {
        fail(labels[k] + " shape changed between samples: " + shape_str(stacked.batch1_shape()) +
                 " for sample 0, " + shape_str(out.shape) + " for sample " + std::to_string(i),
             "outputs are stacked on axis 0, so every sample must give the same output shape");
      }
      std::memcpy(stacked.data.data() + i * out.data.size(), out.data.data(), out.data.size());
    }
  }
  for (int k = 0; k < warmup; ++k) infer(static_cast<std::size_t>(k) % num_samples);
  r.times_ms.reserve(static_cast<std::size_t>(runs) * static_cast<std::size_t>(rounds));
  for (int round = 0; round < rounds; ++round) {
    between.before(round);
    std::vector<double> times;
    times.reserve(static_cast<std::size_t>(runs));
    for (int k = 0; k < runs; ++k) {
      const auto t0 = Clock::now();
      infer(static_cast<std::size_t>(k) % num_samples);
      const auto t1 = Clock::now();
      times.push_back(ms_between(t0, t1));
    }
    r.round_p50_ms.push_back(percentile(times, 50));
    r.times_ms.insert(r.times_ms.end(), times.begin(), times.end());
    between.after(round, r.round_p50_ms.back());
  }
  return r;
}

}  // namespace ckpt2cpp
