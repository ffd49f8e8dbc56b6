// Peak resident set size of this process.
#pragma once

#include <cstdio>
#include <cstring>

namespace ckpt2cpp {

// VmHWM of /proc/self/status (KiB) in MiB; -1 if unreadable. Not getrusage's ru_maxrss: Linux
// carries the parent's peak across fork and exec into it, so a small runner started by a
// large Python process would report the parent's memory.
inline double peak_rss_mb() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  double kib = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "VmHWM:", 6) == 0 && std::sscanf(line + 6, "%lf", &kib) == 1) break;
  std::fclose(f);
  return kib < 0 ? -1 : kib / 1024.0;
}

}  // namespace ckpt2cpp
