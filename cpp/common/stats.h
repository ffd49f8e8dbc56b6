// Wall-clock timing (std::chrono::steady_clock) and latency statistics.
// Percentiles use numpy's default 'linear' method, including its two-sided
// interpolation formula, so np.percentile(times, p) gives the same double.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

namespace ckpt2cpp {

using Clock = std::chrono::steady_clock;

inline double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// np.percentile(values, p) with method='linear'. `values` must not be empty.
inline double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const double virtual_index = static_cast<double>(values.size() - 1) * (p / 100.0);
  const double lo = std::floor(virtual_index);
  const auto i = static_cast<std::size_t>(lo);
  const std::size_t j = std::min(i + 1, values.size() - 1);
  const double t = virtual_index - lo;
  const double a = values[i], b = values[j], diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

struct LatencyStats {
  double min_ms = 0, mean_ms = 0, std_ms = 0, p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};

// std_ms is the population standard deviation (np.std, ddof=0).
inline LatencyStats summarize(const std::vector<double>& ms) {
  LatencyStats s;
  if (ms.empty()) return s;
  double sum = 0;
  for (double v : ms) sum += v;
  s.mean_ms = sum / static_cast<double>(ms.size());
  double sq = 0;
  for (double v : ms) sq += (v - s.mean_ms) * (v - s.mean_ms);
  s.std_ms = std::sqrt(sq / static_cast<double>(ms.size()));
  s.min_ms = *std::min_element(ms.begin(), ms.end());
  s.max_ms = *std::max_element(ms.begin(), ms.end());
  s.p50_ms = percentile(ms, 50);
  s.p90_ms = percentile(ms, 90);
  s.p99_ms = percentile(ms, 99);
  return s;
}

}  // namespace ckpt2cpp
