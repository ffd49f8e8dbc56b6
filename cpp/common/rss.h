// Peak resident set size of this process.
#pragma once

#include <sys/resource.h>

namespace ckpt2cpp {

// getrusage(RUSAGE_SELF).ru_maxrss is in KiB on Linux; returns MiB (KiB / 1024).
inline double peak_rss_mb() {
  rusage u{};
  if (getrusage(RUSAGE_SELF, &u) != 0) return -1;
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

}  // namespace ckpt2cpp
