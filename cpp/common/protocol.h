// The run/warm-up/timing protocol shared by all runners (and by the Python
// runners, which implement the same steps):
//   1. one pass over the N input samples in order, each fed alone with batch 1;
//      the first call (sample 0) is timed as first_run_ms; the outputs
//      ([1, o1, ...] each) are stacked into an [N, o1, ...] array;
//   2. `warmup` untimed runs, run k (k = 0, 1, ...) using sample k % N;
//   3. `runs` timed runs, run k (k = 0, 1, ...) using sample k % N.
// Each timed interval covers exactly one call of `infer`, which the runners
// define as: copy the sample into the runtime's input memory, run the model,
// copy (and convert/dequantize) the output into a host array.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "common/array.h"
#include "common/error.h"
#include "common/stats.h"

namespace ckpt2cpp {

struct ProtocolResult {
  Array output;  // [N, o1, ...]
  double first_run_ms = 0;
  std::vector<double> times_ms;  // one per timed run
};

// `infer(i)` runs sample i and returns a reference to the output ([1, o1, ...]),
// valid until the next call.
template <class Infer>
ProtocolResult run_protocol(std::size_t num_samples, int warmup, int runs, Infer&& infer) {
  ProtocolResult r;
  for (std::size_t i = 0; i < num_samples; ++i) {
    const auto t0 = Clock::now();
    const Array& out = infer(i);
    const auto t1 = Clock::now();
    if (i == 0) {
      r.first_run_ms = ms_between(t0, t1);
      if (out.shape.empty() || out.shape[0] != 1)
        fail("model output has shape " + shape_str(out.shape) + ", expected a batch axis of 1",
             "the runners expect a single output shaped [1, ...] for a batch-1 input");
      r.output.dtype = out.dtype;
      r.output.shape = out.shape;
      r.output.shape[0] = static_cast<std::int64_t>(num_samples);
      r.output.data.resize(out.data.size() * num_samples);
    } else if (out.shape != r.output.batch1_shape() || out.dtype != r.output.dtype) {
      fail("output shape changed between samples: " + shape_str(r.output.batch1_shape()) +
               " for sample 0, " + shape_str(out.shape) + " for sample " + std::to_string(i),
           "outputs are stacked on axis 0, so every sample must give the same output shape");
    }
    std::memcpy(r.output.data.data() + i * out.data.size(), out.data.data(), out.data.size());
  }
  for (int k = 0; k < warmup; ++k) infer(static_cast<std::size_t>(k) % num_samples);
  r.times_ms.reserve(static_cast<std::size_t>(runs));
  for (int k = 0; k < runs; ++k) {
    const auto t0 = Clock::now();
    infer(static_cast<std::size_t>(k) % num_samples);
    const auto t1 = Clock::now();
    r.times_ms.push_back(ms_between(t0, t1));
  }
  return r;
}

}  // namespace ckpt2cpp
