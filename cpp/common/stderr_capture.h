// Keeps a chatty runtime's log lines off stderr: while a StderrCapture lives,
// file descriptor 2 points into an anonymous temporary file, and our own
// error lines (g_error_fd) still reach the real stderr. The captured text is
// available for error messages (captured_error_line()).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>

#include "common/error.h"

namespace ckpt2cpp {

class StderrCapture;
inline StderrCapture* g_active_capture = nullptr;

class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    file_ = std::tmpfile();
    saved_ = dup(STDERR_FILENO);
    if (!file_ || saved_ < 0 || dup2(fileno(file_), STDERR_FILENO) < 0) {
      close_all();
      return;
    }
    g_error_fd = saved_;
    g_active_capture = this;
  }
  ~StderrCapture() { close_all(); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  // Last captured line containing "ERROR" (the runtime's own error log), or "".
  std::string last_error_line() const {
    if (!file_) return {};
    std::fflush(stderr);
    std::string text;
    char buf[4096];
    ssize_t n = 0;
    for (off_t off = 0; (n = pread(fileno(file_), buf, sizeof buf, off)) > 0; off += n) text.append(buf, static_cast<std::size_t>(n));
    std::string last;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      const std::string line = text.substr(start, end - start);
      if (line.find("ERROR") != std::string::npos) last = line;
      start = end + 1;
    }
    return first_line(last, 300);
  }

 private:
  void close_all() {
    if (g_active_capture == this) g_active_capture = nullptr;
    if (saved_ >= 0) {
      std::fflush(stderr);
      dup2(saved_, STDERR_FILENO);
      close(saved_);
      g_error_fd = STDERR_FILENO;
      saved_ = -1;
    }
    if (file_) std::fclose(file_);
    file_ = nullptr;
  }

  std::FILE* file_ = nullptr;
  int saved_ = -1;
};

// The active capture's last error line, or "".
inline std::string captured_error_line() {
  return g_active_capture ? g_active_capture->last_error_line() : std::string{};
}

}  // namespace ckpt2cpp
